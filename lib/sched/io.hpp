// I/O as the layers above the scheduler see it (files, sockets): the two ways
// a goroutine waits for the kernel, one per netpoll backend. Like park.hpp,
// this is the whole interface; the scheduler's classes stay hidden.
//
// # io_uring: operations (ring_op)
// A ring_op is one submission and its completions. It lives in the awaiter,
// in the waiting goroutine's frame, with everything the kernel reads or
// writes (buffers, sockaddrs, the timespec of a deadline):
//   begin()  takes a key on the current P (netpoll.hpp) and an SQE of its
//            ring; the caller preps the SQE;
//   park()   stamps the key and parks the goroutine. Nothing can complete
//            before it parks: only this P's worker reaps this ring, and it
//            is busy running the goroutine. The SQE reaches the kernel in a
//            batch, when the P next polls or waits.
//   The final completion (the one without IORING_CQE_F_MORE) stores the
//   result and readies the goroutine; until then nothing in the frame that
//   the kernel may touch is freed, because the goroutine is parked.
//
// # Cancellation that loses nothing
// An operation is cancelled by key, never by address: a stale cancel finds
// nothing (-ENOENT), not the next operation to reuse the slot. The
// goroutine still waits for the operation's final completion, whose result
// is the truth: -ECANCELED if the cancel won, or what the operation did if
// it finished first (bytes read are delivered; an accepted fd is returned,
// and the caller that gave up closes it; when the run is ending and the
// goroutine will never run again, the dispatcher closes it, see
// ring_op::result_is_fd). Only the P whose ring holds the
// operation may submit the cancel; another thread (a timer, a context)
// queues the key on that P (cancel_requests) and rings its doorbell, and the
// owner submits it before it next polls or waits. A deadline known at
// submission is a linked timeout (IORING_OP_LINK_TIMEOUT) in the same batch:
// the operation's final completion is -ECANCELED when the deadline won. When
// the run ends, each worker cancels everything in flight on its ring and
// reaps every final completion before the drain destroys a frame.
//
// # epoll: readiness (fd_waiter, Go's pollDesc)
// epoll reports readiness, not results: a goroutine tries the system call
// on its non-blocking fd, and on EAGAIN waits for the fd to become readable
// or writable, then tries again. Each fd is registered once, edge-triggered
// for both directions, in the scheduler's shared epoll (netpoll.hpp, "epoll:
// one shared epoll"), and whichever P harvests an event reports it; its
// record (fd_waiter) is type-stable (a slot of a pool that never frees), and
// the epoll data word is its slot plus a sequence number bumped when the fd
// is unregistered, so a late event for a closed fd is recognized as stale.
// Each direction has a word, as Go's rg/wg:
//   0        nothing
//   ready    an edge was reported and nobody consumed it
//   waiter*  a parked goroutine's waiter record
// The waiter CASes 0 -> waiter* to park (finding `ready`, it consumes it and
// retries at once); the harvesting P, on an event, exchanges `ready` in and
// readies the waiter it found; a canceller (deadline, context, the end of a
// run) CASes waiter* -> 0 and owns the wake-up. Every transition is one RMW
// of the word, so exactly one side wakes the goroutine. A stale or spurious
// wake is harmless: the waiter always retries the system call.
#pragma once

#include <goro/config.hpp>

#include "netpoll/completion.hpp"
#include "sched/netpoll.hpp"

#include <goro/detail/goroutine.hpp>

#include <liburing.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <ctime>
#include <span>

namespace goro::inline GORO_ABI::detail {

struct p_state;

/// The running process's netpoll backend (fixed at start-up).
backend_kind io_backend() noexcept;

/// One io_uring operation awaited by one goroutine (see the top comment).
struct ring_op {
    io_op base{&ring_op::on_completion}; // first: the dispatcher's view
    parked_on parked{&ring_op::withdraw, nullptr};
    goroutine* g = nullptr;
    p_state* owner = nullptr;
    std::uint64_t key = 0;
    /// The final completion's result: -errno or the operation's value.
    std::int32_t result = 0;
    /// The operation's value is a new fd (accept, openat): if the run is
    /// ending when it completes, the goroutine will never run to take it,
    /// so the fd is closed there and the result becomes -ECANCELED.
    bool result_is_fd = false;
    __kernel_timespec deadline{}; // read by the kernel when a linked timeout is submitted

    /// On a worker, in await_suspend: a key on the current P and an SQE of
    /// its ring for the caller to prep. Throws std::bad_alloc (keys).
    io_uring_sqe* begin();
    /// After the caller prepped `sqe`: parks `g` at `leaf` until the final
    /// completion. With `deadline_ns` >= 0 (CLOCK_MONOTONIC), a linked
    /// timeout ends the operation then (-ECANCELED). Returns true (parked).
    bool park(goroutine& g, std::coroutine_handle<> leaf, io_uring_sqe* sqe, wait_reason why,
              std::int64_t deadline_ns = -1);
    /// Any thread, while the operation may be in flight: asks its P to
    /// cancel it. The goroutine still resumes only at the final completion.
    void cancel() noexcept;

private:
    static goroutine* on_completion(io_op& op, const completion& c) noexcept;
    static bool withdraw(parked_on&) noexcept;
};

/// An fd's registration with the shared epoll (see the top comment).
class fd_waiter;

/// Registers `fd` (non-blocking) with the scheduler's shared epoll, for both
/// directions, edge-triggered. Returns nullptr with `error` = -errno if
/// epoll refuses it. On a worker, epoll backend only.
fd_waiter* fd_register(int fd, int& error);
/// Unregisters and frees the record; any thread; before the fd is closed.
/// Goroutines still waiting on it are woken (they retry and see the error of
/// their closed fd).
void fd_unregister(fd_waiter* w) noexcept;

/// The P that harvested an event of the shared epoll (epoll backend): the
/// goroutines it wakes (at most two), stored in `out`; returns how many.
std::size_t readiness_event(const completion& c, std::span<goroutine*> out) noexcept;

enum class io_dir : std::uint8_t { read, write };

/// The awaiter-side record of a goroutine waiting for readiness.
struct readiness_wait {
    parked_on parked{&readiness_wait::withdraw, nullptr};
    goroutine* g = nullptr;
    fd_waiter* fd = nullptr;
    io_dir dir = io_dir::read;
    bool cancelled = false; // set by cancel() when it won

    /// In await_suspend: parks `g` until `fd` is ready in `dir` (an edge
    /// since the last wait, or one already reported); false if an edge was
    /// already pending (consumed: retry the system call now).
    bool park(goroutine& g, std::coroutine_handle<> leaf, fd_waiter* fd, io_dir dir, wait_reason why);
    /// Any thread: wakes the goroutine if it still waits, with `cancelled`
    /// set. Returns whether it did.
    bool cancel() noexcept;
    /// In await_resume: consumes the edge that woke the goroutine, which
    /// retries its system call now anyway (Go's netpollblock does the same),
    /// so its next wait does not return at once for an edge already used.
    void finish() noexcept;

private:
    static bool withdraw(parked_on&) noexcept;
};

} // namespace goro::detail
