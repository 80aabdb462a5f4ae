// The scheduler as the layers above it see it: Go's gopark / goready pair,
// and the few scheduler facts a primitive needs. Channels, select and the
// sync primitives include this header and no other part of lib/sched (it
// includes the scheduler's header for the inline hooks below, whose bodies
// read the running P).
//
// # Parking (park)
// A goroutine blocks by suspending: the awaiter's await_suspend runs with
// the coroutine already suspended, decides that it must wait, and calls
// park(). park records where the goroutine resumes (`leaf`) and why it waits
// (the wait reason a goroutine dump prints), then calls `publish`, which
// makes the goroutine reachable to its waker: it links the waiter record
// into the object's queue and releases the lock guarding that queue (Go's
// unlockf), or installs it with one CAS. The order is the protocol:
//   1. leaf and reason are written while nobody else can see the goroutine;
//   2. publish hands the goroutine over; from its last store on, the waker
//      may ready it, and it may run, finish and be freed on another worker;
//   3. so after publish returns true, neither park nor its caller touches
//      the goroutine, its frame or the awaiter again: await_suspend returns
//      true at once.
// If publish finds that the wait is over (a CAS lost to a finisher), it
// returns false without publishing; the goroutine is still the caller's and
// resumes at once.
//
// park is the only place that publishes a parked goroutine. Every wait of
// the runtime — channel, select, semaphore, once, cond, join, yield — goes
// through it, so what the runtime needs to know about parked goroutines is
// recorded here once: the wait reason (for goroutine dumps) and the waiter
// record (`wait`, a detail::parked_on), through which the end of a run takes
// every parked goroutine out of what it waits on before destroying it
// (scheduler.cpp, "Stopping"). A yield passes no record: the goroutine is
// runnable, in a run queue.
//
// # Withdrawing (parked_on::withdraw)
// Each waiter type has a withdraw function: under the object's lock, it
// unlinks the waiter if it is still queued and undoes what waiting changed in
// the object (a waiter count, a ticket), so the object stays consistent for
// goroutines of later runs; it returns false if a waker got there first (that
// waker is about to ready the goroutine). A waiter type that can be dequeued
// keeps a `queued` flag, cleared under the lock by whoever unlinks it.
//
// # Waking (ready)
// detail::ready(g) (goro/detail/sched.hpp) makes a parked goroutine
// runnable. The waker first unlinks the waiter under the object's lock and
// writes the outcome into it; it reads what it needs from the waiter before
// ready(), because the moment the goroutine is runnable its frame may be
// resumed elsewhere. ready's run-queue publish (release) pairs with the
// worker's pop (acquire), so the woken goroutine sees the outcome.
#pragma once

#include "sched/scheduler.hpp"

#include <goro/detail/goroutine.hpp>
#include <goro/detail/sched.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace goro::inline GORO_ABI::detail {

// # The inline forms of the scheduler hooks
// current_g, require_g, spend_budget, completed and ready
// (goro/detail/sched.hpp) are out of line: users' binaries call them from
// header-only awaitables, and only the library may read the thread_local
// that holds the running P. The library's own primitives call the inline
// forms below instead, which read it with no call: together about 2 ns of a
// channel handoff's 33 (docs/performance.md, "Inline scheduler hooks"); the
// exported ones are built on them. They are plain functions, never
// coroutines, so no read of tls_p outlives a suspension. The budget is the
// exception to "only the library": it is a thread_local of its own
// (detail::budget), which g++-built awaitables spend inline too
// (detail::take_budget).

/// The P this thread's worker owns; nullptr on any other thread. constinit:
/// without it every use outside scheduler.cpp goes through a check for a
/// dynamic initializer (a weak TLS init function), which UBSan at -O2
/// reported as a load through a null pointer.
extern constinit __attribute__((tls_model("initial-exec"))) thread_local p_state* tls_p;

/// current_g: the running goroutine, or nullptr outside one.
inline goroutine* current_g_here() noexcept
{
    p_state* p = tls_p;
    return p ? p->current.load(std::memory_order_relaxed) : nullptr;
}

/// require_g: the running goroutine, or goro::panic naming `what` outside one.
inline goroutine& running_g(const char* what)
{
    if (goroutine* g = current_g_here()) [[likely]]
        return *g;
    return require_g(what);
}

/// spend_budget: false when the running goroutine's budget is spent (it must
/// yield); true outside the runtime. The library's code is never a
/// coroutine, so it reads `budget` inline under any compiler.
inline bool spend_budget_here() noexcept
{
    return spend_budget_locally() || tls_p == nullptr;
}

/// completed: for an await_suspend whose operation completed without parking.
inline bool completed_here(std::coroutine_handle<> leaf) noexcept
{
    if (spend_budget_here())
        return false;
    yield_now(leaf);
    return true;
}

/// ready: the common case inline, a worker readying into its own empty
/// runnext (which wakes no P, see "Submitting work" in scheduler.cpp); the
/// rest through ready. The owner alone fills runnext, so finding it empty
/// means the put cannot reach the ring.
inline void ready_here(goroutine& g) noexcept
{
    if (p_state* p = tls_p; p && !p->runq_.peek_next()) {
        p->runq_.put(&g, true, [](goroutine* const*, std::uint32_t) noexcept {});
        return;
    }
    ready(g);
}

/// Go's gopark: parks the running goroutine `g` (the caller got it from
/// running_g before changing any state) so that it resumes at `leaf`,
/// waiting for `why`, with `wait` as its waiter record (filled in, living in
/// the awaiter; nullptr only for a yield). Returns what await_suspend must
/// return: true if the goroutine was published (parked), false if `publish`
/// declined.
template <class Publish>
bool park(goroutine& g, std::coroutine_handle<> leaf, wait_reason why, parked_on* wait, Publish&& publish)
{
    g.leaf = leaf;
    g.reason = why;
    g.wait = wait;
    if (std::forward<Publish>(publish)())
        return true; // g belongs to its waker now
    g.reason = wait_reason::none;
    g.wait = nullptr;
    return false;
}

/// The waiter of type W that holds `p` as its member `parked` (W is
/// standard-layout). For withdraw functions.
template <class W>
W& waiter_of(parked_on& p) noexcept
{
    return *reinterpret_cast<W*>(reinterpret_cast<char*>(&p) - offsetof(W, parked));
}

/// A fast pseudo-random number from the current P's generator (a per-thread
/// one outside the runtime).
std::uint32_t fastrand() noexcept;

} // namespace goro::detail
