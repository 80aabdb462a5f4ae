// goro::wait_group: Go's sync.WaitGroup on the runtime semaphore.
//
// state_ = counter << 32 | waiters. add() changes the counter with one atomic
// add; the add that brings it to zero with waiters parked resets the word to
// zero and releases the semaphore once per waiter. park() registers a waiter
// by CAS only while the counter is positive, so a waiter either sees zero
// (and does not park) or is counted before the final add can reset the word.

#include "sched/park.hpp"
#include <goro/panic.hpp>
#include <goro/wait_group.hpp>

namespace goro {

void wait_group::add(int delta)
{
    const std::uint64_t d = std::uint64_t(std::int64_t(delta)) << 32;
    std::uint64_t s = state_.fetch_add(d, std::memory_order_acq_rel) + d; // acq_rel: done() publishes to waiters
    const auto counter = std::int32_t(s >> 32);
    const auto waiters = std::uint32_t(s);
    if (counter < 0) {
        state_.fetch_sub(d, std::memory_order_relaxed); // undo: the group stays usable
        throw panic("goro::wait_group: negative counter");
    }
    if (delta > 0 && counter == delta && waiters != 0) {
        state_.fetch_sub(d, std::memory_order_relaxed);
        throw panic("goro::wait_group: add called while waiters of the previous round are still parked");
    }
    if (counter > 0 || waiters == 0)
        return;
    // Counter is zero and goroutines are parked: wake them all. Nobody can
    // register a new waiter now (park needs a positive counter).
    state_.store(0, std::memory_order_relaxed);
    sema_.release(waiters);
}

bool wait_group::park(detail::sema_waiter& node, std::coroutine_handle<> leaf)
{
    detail::require_g("goro::wait_group::wait"); // before registering as a waiter
    std::uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
        if ((s >> 32) == 0) {
            // Zero already: either it dropped since await_ready, or the
            // cooperative budget ran out on the fast path.
            if (detail::spend_budget())
                return false;
            detail::yield_now(leaf);
            return true;
        }
        if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire))
            break;
    }
    node.parked = {&withdraw, this};
    return sema_.acquire_or_park(node, leaf, detail::wait_reason::wait_group);
}

bool wait_group::withdraw(detail::parked_on& p) noexcept
{
    auto& wg = *static_cast<wait_group*>(p.object);
    if (!wg.sema_.withdraw(detail::waiter_of<detail::sema_waiter>(p)))
        return false;
    wg.state_.fetch_sub(1, std::memory_order_relaxed); // one waiter fewer for the final done() to wake
    return true;
}

} // namespace goro
