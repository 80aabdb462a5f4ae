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
// dropping lock_ and never touches them again. A waiter parks with its
// resume hook as leaf (include/goro/detail/resume_hook.hpp): woken, it looks
// at the state again (wait_or_claim), since a wake no longer always means
// that fn finished (below).
//
// # A first call destroyed mid-fn
// The end of a run destroys every goroutine of the run (lib/sched/scheduler.cpp,
// "Stopping"), the first caller's too, perhaps while a task-returning fn is
// parked (a plain fn runs without suspending, so it always finishes). Left
// running, the once would make every later call wait forever. So run_once
// holds the claim in a once_claim, whose destructor, if fn did not finish,
// calls abandon(): the state goes back to idle and the waiters are woken.
// That happens when the frame is destroyed, which for a goroutine held by a
// join_handle may be during a later run, with callers of that run waiting.
// A woken waiter then finds the once idle and claims it (wait_or_claim):
// the awaiter's start function, which the template filled in, begins fn on
// the waiter's goroutine, from the hook. The other waiters find it running
// again and park again. A waiter woken by finish() or abandon() but
// destroyed before it ran changed nothing and undoes nothing; one still
// parked is withdrawn.
//
// # Ordering
// done() is an acquire load pairing with finish()'s release store: a caller
// that returns without parking sees fn's effects. A parked caller is ordered
// after finish() by lock_ and by ready(). abandon()'s store of idle is
// release and claim()'s CAS acquire, so whatever the unfinished run of fn
// did, and the destructors of its frame, happen before fn runs again.
//
// # Recursion
// Go's Do deadlocks if f calls Do on the same Once. claim() records the
// running goroutine; a wait from that same goroutine (fn's task awaiting the
// once again) throws goro::panic instead of parking forever.

#include "sched/park.hpp"
#include "sync/resume_hook.hpp"

#include <goro/once.hpp>
#include <goro/panic.hpp>

#include <mutex>

namespace goro::inline GORO_ABI {

bool once::claim() noexcept
{
    std::uint32_t s = idle;
    if (!state_.compare_exchange_strong(s, running, std::memory_order_acquire, std::memory_order_relaxed))
        return false;
    runner_g_.store(detail::current_g(), std::memory_order_relaxed);
    return true;
}

void once::finish() noexcept { end_claim(done_state); }

void once::abandon() noexcept { end_claim(idle); }

void once::end_claim(std::uint32_t next) noexcept
{
    detail::once_waiter* list = nullptr;
    {
        std::lock_guard lock(lock_);
        // release: what the run of fn did happens before a done() that sees
        // done_state, or before the claim() that takes the once from idle.
        state_.store(next, std::memory_order_release);
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

std::coroutine_handle<> once::wait_slow(detail::once_waiter& w)
{
    detail::goroutine& g = detail::running_g("goro::once::call");
    if (runner_g_.load(std::memory_order_relaxed) == &g)
        throw panic("goro::once::call: called from inside its own function (it would wait for itself forever)");
    w.parked = {&withdraw, this};
    return wait_or_claim(g, w);
}

std::coroutine_handle<> once::wait_or_claim(detail::goroutine& g, detail::once_waiter& w) noexcept
{
    for (;;) {
        if (done())
            return std::coroutine_handle<>::from_address(w.user);
        if (claim())
            return w.start(w.awaiter); // a first call was destroyed unfinished: fn is ours to run
        std::unique_lock lock(lock_);
        const std::uint32_t s = state_.load(std::memory_order_relaxed);
        if (s == done_state)
            return std::coroutine_handle<>::from_address(w.user);
        if (s == running) {
            detail::park(g, detail::arm_hook(w.hook, &resume_waiter), detail::wait_reason::sync_once, &w.parked,
                         [&] {
                             w.g = &g;
                             waiters_.push_back(w);
                             lock.unlock();
                             return true;
                         });
            return std::noop_coroutine();
        }
        // idle: abandoned since claim() failed; try to claim it again
    }
}

void once::resume_waiter(void* hook) noexcept
{
    auto& w = *static_cast<detail::once_waiter*>(hook);
    auto& o = *static_cast<once*>(w.parked.object);
    std::coroutine_handle<> next = o.wait_or_claim(*detail::current_g(), w);
    next.resume(); // a noop_coroutine if parked again
}

} // namespace goro
