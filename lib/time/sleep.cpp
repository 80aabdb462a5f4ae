// goro::sleep: a goroutine parks (detail::park) with its timer as the
// publish step; the timer's fire readies it.
//
// Order: park writes leaf, reason and the waiter record, then publish arms
// the timer. From the arm on, the timer may fire on any P and the goroutine
// may run, so nothing touches the waiter after arm() (which itself touches
// nothing of the node after inserting it). The goroutine, once resumed,
// disarms the node (await_resume, sleep_end): that waits until the worker
// that fired it has returned from the fire, so the frame cannot be freed
// under it. `armed` is written before publishing and read by the goroutine
// after it resumed (ordered by ready's run-queue publish), or by the drain's
// withdraw and the awaiter's destructor (no worker runs then).
//
// Withdraw (the end of a run): disarm. True means the timer was taken out of
// its heap before it fired: nothing will ready the goroutine.

#include "base/clock.hpp"
#include "sched/park.hpp"
#include "sched/timer.hpp"

#include <goro/detail/sched.hpp>
#include <goro/sleep.hpp>

namespace goro::inline GORO_ABI::detail {

namespace {

void fire(runtime_timer& t) noexcept
{
    ready_in_order(*timer_owner<sleep_waiter>(t).g);
}

bool withdraw(parked_on& p) noexcept
{
    auto& w = waiter_of<sleep_waiter>(p);
    const bool prevented = w.node.disarm();
    w.armed = false;
    return prevented;
}

bool park_until(sleep_waiter& w, goroutine& g, std::int64_t deadline, std::coroutine_handle<> leaf)
{
    w.g = &g;
    w.node.fire = &fire;
    w.parked = {&withdraw, &w};
    w.armed = true;
    return park(g, leaf, wait_reason::sleep, &w.parked, [&] {
        w.node.arm(deadline); // publishes: the goroutine is the timer's now
        return true;
    });
}

} // namespace

bool sleep_park(sleep_waiter& w, std::int64_t deadline_ns, std::coroutine_handle<> leaf)
{
    goroutine& g = running_g("goro::sleep_until");
    if (deadline_ns <= monotonic_ns())
        return completed_here(leaf);
    return park_until(w, g, deadline_ns, leaf);
}

bool sleep_park_for(sleep_waiter& w, std::int64_t ns, std::coroutine_handle<> leaf)
{
    goroutine& g = running_g("goro::sleep");
    if (ns <= 0)
        return completed_here(leaf);
    return park_until(w, g, monotonic_ns() + ns, leaf);
}

void sleep_end(sleep_waiter& w) noexcept
{
    w.node.disarm();
    w.armed = false;
}

} // namespace goro::detail
