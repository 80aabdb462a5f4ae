// The scheduler as the layers above it see it: Go's gopark / goready pair,
// and the few scheduler facts a primitive needs. Channels, select and the
// sync primitives include this header and no other part of lib/sched.
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

#include <goro/detail/goroutine.hpp>
#include <goro/detail/sched.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace goro::inline GORO_ABI::detail {

/// Go's gopark: parks the running goroutine `g` (the caller got it from
/// require_g before changing any state) so that it resumes at `leaf`,
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

/// Whether a goroutine waiting for a sync primitive should spin a little
/// before parking (Go's sync_runtime_canSpin): another P runs goroutines, one
/// of which may be about to release it. False outside a worker.
bool can_spin_on_lock() noexcept;

/// A fast pseudo-random number from the current P's generator (a per-thread
/// one outside the runtime).
std::uint32_t fastrand() noexcept;

} // namespace goro::detail
