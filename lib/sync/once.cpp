// goro::once: Go's sync.Once, with a wait list instead of Go's mutex.
//
// # State
// state_ goes idle -> running -> done_state, each step once. The first caller
// claims the once with a CAS from idle (acquire) and runs fn on its own
// goroutine: a plain fn in the awaiter's await_resume, a task-returning fn
// through detail::run_once, entered by symmetric transfer from
// await_suspend. Whatever way fn ends, finish() stores done_state (release)
// under lock_ and wakes the whole wait list; the claiming caller alone sees
// fn's exception.
//
// # Waiters
// A caller that finds the once running queues a once_waiter (in its awaiter)
// under lock_ unless the state is done by then; finish() stores done_state
// under the same lock, so a waiter either sees done and does not park, or is
// in the list that finish() takes. finish() readies the waiters after
// dropping lock_ and never touches them again.
//
// # Ordering
// done() is an acquire load pairing with finish()'s release store: a caller
// that returns without parking sees fn's effects. A parked caller is ordered
// after finish() by lock_ and by ready().
//
// # Recursion
// Go's Do deadlocks if f calls Do on the same Once. claim() records the
// running goroutine; a wait from that same goroutine (fn's task awaiting the
// once again) throws goro::panic instead of parking forever.

#include "sched/park.hpp"

#include <goro/once.hpp>
#include <goro/panic.hpp>

#include <mutex>

namespace goro {

bool once::claim() noexcept
{
    std::uint32_t s = idle;
    if (!state_.compare_exchange_strong(s, running, std::memory_order_acquire, std::memory_order_relaxed))
        return false;
    runner_g_.store(detail::current_g(), std::memory_order_relaxed);
    return true;
}

void once::finish() noexcept
{
    detail::once_waiter* list = nullptr;
    {
        std::lock_guard lock(lock_);
        // release: fn's effects happen before any done() that sees this.
        state_.store(done_state, std::memory_order_release);
        runner_g_.store(nullptr, std::memory_order_relaxed);
        list = waiters_.take_all();
    }
    detail::ready_all(list);
}

bool once::withdraw(detail::parked_on& p) noexcept
{
    auto& o = *static_cast<once*>(p.object);
    std::lock_guard lock(o.lock_);
    return o.waiters_.remove(detail::waiter_of<detail::once_waiter>(p));
}

bool once::wait_slow(detail::once_waiter& w, std::coroutine_handle<> leaf)
{
    detail::goroutine& g = detail::require_g("goro::once::call");
    if (runner_g_.load(std::memory_order_relaxed) == &g)
        throw panic("goro::once::call: called from inside its own function (it would wait for itself forever)");
    std::unique_lock lock(lock_);
    if (state_.load(std::memory_order_relaxed) == done_state)
        return false;
    w.parked = {&withdraw, this};
    return detail::park(g, leaf, detail::wait_reason::sync_once, &w.parked, [&] {
        w.g = &g;
        waiters_.push_back(w);
        lock.unlock();
        return true;
    });
}

} // namespace goro
