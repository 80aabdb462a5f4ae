// The goroutine control block (G) and the promise every goro coroutine shares.
//
// A goroutine is the frame of a goro::task whose ownership was handed to the
// scheduler by goro::go or goro::spawn: its promise *is* the G, so starting a
// goroutine allocates nothing beyond the task's own frame. Tasks awaited by
// another task carry the same header unused (kind == call); that costs a few
// words per frame and saves a second allocation per goroutine.
//
// Ownership of a G by state (see lib/sched/scheduler.cpp for the scheduler side):
//   runnable  the G sits in exactly one run queue (a P's slots, a runnext slot or
//             the global queue); whoever pops it owns it.
//   running   the worker that resumed `leaf` owns it until the coroutine
//             suspends. After resume() returns the worker never touches it.
//   waiting   owned by the wait queue of the object it parked on (sema,
//             channel, join state, ...). It got there through detail::park
//             (lib/sched/park.hpp), the only way to park, which also records
//             `reason`; the waker makes it runnable with detail::ready.
//   dead      a detached root frees itself in its final awaiter; a joinable
//             root is freed by whichever of the goroutine and its join_handle
//             finishes last (see `join` below).
#pragma once

#include <goro/config.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>

namespace goro::inline GORO_ABI::detail {

/// Where a goroutine was started: kept for panics and goroutine dumps.
struct spawn_site {
    const char* file = nullptr;
    unsigned line = 0;

    static constexpr spawn_site here(const char* file = __builtin_FILE(),
                                     unsigned line = __builtin_LINE()) noexcept
    {
        return {file, line};
    }
};

/// Why a goroutine is not running; names match Go's wait reasons where they exist.
enum class wait_reason : std::uint8_t {
    none,
    yield,      // goro::yield or an exhausted cooperative budget
    wait_group, // goro::wait_group::wait
    join,       // co_await on a join_handle
    semacquire, // the runtime semaphore under sync primitives
    sync_mutex,     // goro::mutex::lock
    sync_rw_mutex,  // goro::rw_mutex::lock / rlock
    sync_cond,      // goro::cond::wait
    sync_once,      // goro::once::call, waiting for the first caller
    sync_semaphore, // goro::semaphore::acquire
    chan_send,      // co_await ch.send(v)
    chan_recv,      // co_await ch.recv()
    chan_nil,       // send or receive on a nil channel: forever
    select,         // goro::select with no ready case
    io_wait,        // an I/O operation or an fd's readiness (the netpoller)
    blocking,       // co_await goro::blocking(fn): fn queued for, or running on, a blocking thread
    sleep,          // goro::sleep, goro::sleep_until
};

enum class g_kind : std::uint8_t {
    call,     // an ordinary task: returns to `continuation`
    detached, // goro::go: frees itself at the end; an escaping exception is fatal
    joinable, // goro::spawn: result kept until the join_handle takes it
};

// Values of promise_base::join besides a parked joiner's goroutine*.
inline constexpr std::uintptr_t join_running = 0;
inline constexpr std::uintptr_t join_done = 1;
inline constexpr std::uintptr_t join_detached = 2;
/// The run ended before the goroutine did; its join_handle destroys the frame.
inline constexpr std::uintptr_t join_abandoned = 3;

/// The waiter record of a parked goroutine, as the end of a run sees it: the
/// first member of every waiter that detail::park publishes
/// (lib/sched/park.hpp). `object` is what the goroutine waits on.
struct parked_on {
    /// Takes the waiter out of `object`'s queue, under the object's lock, and
    /// undoes what waiting did to the object. True: it was queued, and the
    /// goroutine now belongs to the caller (nothing will ready it). False: a
    /// waker already took it and is readying it.
    bool (*withdraw)(parked_on& self) noexcept;
    void* object;
};

GORO_API void* frame_alloc(std::size_t size);
GORO_API void frame_free(void* frame, std::size_t size) noexcept;

// Field order is by heat: what the worker and the final awaiter touch on
// every run comes first, within one cache line of the frame header.
struct promise_base {
    /// Coroutine to resume next (kind != call). Written by the goroutine just
    /// before it publishes itself to a queue; read by the worker that pops it
    /// (ordered by the queue's release/acquire pair).
    std::coroutine_handle<> leaf;
    /// kind == call: the coroutine awaiting this one. A root has no awaiter and
    /// keeps its own frame here instead, so the scheduler can destroy a runnable
    /// root at shutdown without knowing its promise type.
    std::coroutine_handle<> continuation;
    std::exception_ptr error;
    /// Joinable roots only: join_running, join_done, join_detached, or the
    /// parked joiner's promise_base* (set by CAS from join_running).
    std::atomic<std::uintptr_t> join{join_running};
    /// Where the goroutine was started (kind != call), for panics and dumps.
    const char* site_file = nullptr;
    /// While parked: its waiter record (nullptr while runnable or running).
    /// Written by detail::park before the goroutine is published, cleared by
    /// the worker that resumes it.
    parked_on* wait = nullptr;
    std::uint32_t site_line = 0;
    /// Roots: the goroutine's index in its run's registry (lib/sched/registry.hpp).
    std::uint32_t slot = 0;
    g_kind kind = g_kind::call;
    /// Why the goroutine waits: written by detail::park, reset when a worker
    /// resumes it; for goroutine dumps.
    wait_reason reason = wait_reason::none;

    static void* operator new(std::size_t size) { return frame_alloc(size); }
    static void operator delete(void* frame, std::size_t size) noexcept { frame_free(frame, size); }
};

using goroutine = promise_base;

/// Called by the final awaiter of a root goroutine; returns what to resume next
/// (always the worker loop). Frees or hands over the frame as `kind` says.
GORO_API std::coroutine_handle<> goroutine_exit(promise_base& g, std::coroutine_handle<> frame) noexcept;

/// What the task awaiter and a nested task's final awaiter return: `next`,
/// unless the stack has grown past the worker's budget (a compiler that did
/// not turn the transfer into a tail call); then it parks the running
/// goroutine at `next` and returns noop_coroutine (lib/sched/stack_guard.hpp).
GORO_API std::coroutine_handle<> symmetric_transfer(std::coroutine_handle<> next) noexcept;

struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept
    {
        promise_base& p = h.promise();
        if (p.kind == g_kind::call)
            return symmetric_transfer(p.continuation);
        return goroutine_exit(p, h);
    }
    void await_resume() const noexcept {}
};

} // namespace goro::detail
