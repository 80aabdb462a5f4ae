// goro::wait_group: Go's sync.WaitGroup on the runtime semaphore.
//
// state_ = counter << 32 | waiters. add() changes the counter with one atomic
// add; the add that brings it to zero with waiters parked resets the word to
// zero and releases the semaphore once per waiter. park() registers a waiter
// by CAS only while the counter is positive, so a waiter either sees zero
// (and does not park) or is counted before the final add can reset the word.
//
// # The end of a run
// A waiter woken by the final add but destroyed before it ran has nothing to
// undo: the reset dropped its count and its unit was consumed by its wake.
// A waiter still parked is withdrawn, which takes it off the count; but
// add() may run on a thread outside the runtime while a run ends, between
// its reset and its release. Taking the waiter off a count the reset already
// took would corrupt the word, and the release would leave a unit that lets
// a later waiter through. So the reset is an exchange, which releases as
// many units as the word counts at that instant, and withdraw decrements the
// count by CAS under the semaphore's lock while the waiter is still queued,
// giving up if the count is already zero: then the reset took this waiter's
// count, and the release it is about to do (it needs that lock) will wake
// it. While a run ends no goroutine runs, so no waiter of a new round is
// counted in its place. Go has no withdraw and needs none of this.

#include "sched/park.hpp"
#include <goro/panic.hpp>
#include <goro/wait_group.hpp>

namespace goro::inline GORO_ABI {

void wait_group::add(int delta)
{
    const std::uint64_t d = std::uint64_t(std::int64_t(delta)) << 32;
    std::uint64_t s = state_.value.fetch_add(d, std::memory_order_acq_rel) + d; // acq_rel: done() publishes to waiters
    const auto counter = std::int32_t(s >> 32);
    const auto waiters = std::uint32_t(s);
    if (counter < 0) {
        state_.value.fetch_sub(d, std::memory_order_relaxed); // undo: the group stays usable
        throw panic("goro::wait_group: negative counter");
    }
    if (delta > 0 && counter == delta && waiters != 0) {
        state_.value.fetch_sub(d, std::memory_order_relaxed);
        throw panic("goro::wait_group: add called while waiters of the previous round are still parked");
    }
    if (counter > 0 || waiters == 0)
        return;
    // Counter is zero and goroutines are parked: wake them all. Nobody can
    // register a new waiter now (park needs a positive counter), but a
    // withdraw may take one off (see "The end of a run"). relaxed: the
    // semaphore orders the wake.
    sema_.release(std::uint32_t(state_.value.exchange(0, std::memory_order_relaxed)));
}

bool wait_group::park(detail::sema_waiter& node, std::coroutine_handle<> leaf)
{
    detail::running_g("goro::wait_group::wait"); // before registering as a waiter
    std::uint64_t s = state_.value.load(std::memory_order_acquire);
    for (;;) {
        if ((s >> 32) == 0) {
            // Zero already: either it dropped since await_ready, or the
            // cooperative budget ran out on the fast path.
            return detail::completed_here(leaf);
        }
        if (state_.value.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire))
            break;
    }
    node.parked = {&withdraw, this};
    return sema_.acquire_or_park(node, leaf, detail::wait_reason::wait_group);
}

bool wait_group::withdraw(detail::parked_on& p) noexcept
{
    auto& wg = *static_cast<wait_group*>(p.object);
    return wg.sema_.withdraw_if(detail::waiter_of<detail::sema_waiter>(p), [&wg] {
        std::uint64_t s = wg.state_.value.load(std::memory_order_relaxed);
        do {
            if (std::uint32_t(s) == 0)
                return false; // the final add's reset counted us: its release wakes us
            // relaxed: only the count changes; the final add reads it by exchange.
        } while (!wg.state_.value.compare_exchange_weak(s, s - 1, std::memory_order_relaxed, std::memory_order_relaxed));
        return true;
    });
}

} // namespace goro
