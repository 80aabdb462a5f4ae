// goro::cond: Go's sync.Cond and its runtime notifyList (sema.go).
//
// # Tickets
// wait_ hands out tickets (an atomic add), notify_ is the next ticket to
// notify. A waiter takes its ticket while it still holds the mutex, then
// unlocks the mutex, then queues on the notify list under lock_ -- unless
// notify_ has already passed its ticket, in which case it was signalled in
// between and does not park. signal() advances notify_ by one under lock_
// and wakes the waiter holding the old value if it is queued (if it is not,
// it will see the new notify_ and not park); broadcast() sets notify_ to
// wait_ and wakes the whole list. Tickets compare modulo 2^32 (Go's less).
// Since tickets are taken under the mutex, "a signal wakes a waiter that
// started waiting before it" holds for any signaller that observed the
// waiter's state change through the mutex.
//
// # Relocking
// A woken waiter must take the mutex again before wait() returns, and may have
// to park for it: the waiter parks on the list with its mutex_waiter's hook
// as leaf (include/goro/detail/resume_hook.hpp), armed with the mutex's
// resume_locking, which runs a fresh lock (lib/sync/mutex.cpp) when the
// goroutine is next scheduled and resumes the awaiting coroutine once the
// lock is held. A waiter notified before it parked relocks inline.
//
// # Ownership
// A cond_waiter lives in the awaiter. Once queued, `next`, `g` and `ticket`
// are guarded by lock_; a notifier that unlinks it reads `g` and readies the
// goroutine after dropping lock_, and touches the waiter no more: from then
// on it is the woken goroutine's again. notify_ is written only under lock_
// but read without it on the notifiers' fast path (wait_ == notify_: nobody
// to wake), hence both atomic.
//
// # A waiter destroyed mid-wait
// The end of a run destroys every goroutine of the run (lib/sched/scheduler.cpp,
// "Stopping"), a waiter included, wherever it is between unlocking the mutex
// and holding it again: parked on the list (withdrawn first), signalled and
// runnable, parked on the mutex (withdrawn first), or woken by the mutex and
// runnable. The cond needs nothing undone: withdraw handles a queued ticket,
// and a signal that woke a goroutine that never ran is spent, as if it had
// run and returned. The mutex does, in the last case only
// (mutex::abandon_wait, through the mutex_waiter's sema_woke). And the
// caller's guard, which wait(lk) found owning the mutex, must stop owning it:
// the waiter does not hold the mutex, and the guard, destroyed with the
// frame after the awaiter, would unlock it anyway, ending the program (if it
// is unlocked) or releasing another goroutine's hold. `unlocked` marks this
// stretch: set once wait_slow unlocked the mutex, cleared by await_resume,
// which runs only with the mutex held again.
//
// # Misuse
// wait() checks that the mutex is locked before taking a ticket, so waiting
// without the lock throws goro::panic and consumes no ticket (Go would die
// in the mutex's unlock). The mutex has no owner, so a lock held by another
// goroutine cannot be told apart, as in Go.

#include "sched/park.hpp"
#include "sync/mutex_impl.hpp"

#include <goro/cond.hpp>
#include <goro/panic.hpp>

#include <mutex>

namespace goro::inline GORO_ABI {

using detail::cond_waiter;
using detail::mutex_access;

namespace {

bool ticket_less(std::uint32_t a, std::uint32_t b) noexcept
{
    return std::int32_t(a - b) < 0;
}

} // namespace

cond::wait_awaiter cond::wait(mutex::guard& lk)
{
    if (lk.get() != mu_)
        throw panic(lk ? "goro::cond::wait: the guard owns a different mutex"
                       : "goro::cond::wait: the guard owns no lock");
    return wait_awaiter{*this, &lk};
}

bool cond::wait_slow(cond_waiter& w, std::coroutine_handle<> leaf)
{
    detail::goroutine& g = detail::running_g("goro::cond::wait");
    if (!mutex_access::is_locked(*mu_))
        throw panic("goro::cond::wait: mutex is not locked");
    // acq_rel: ordered with the notifiers' reads of wait_ like Go's Xadd.
    const std::uint32_t ticket = wait_.fetch_add(1, std::memory_order_acq_rel);
    mu_->unlock();
    w.unlocked = true;
    std::coroutine_handle<> hook = mutex_access::prepare(*mu_, w.m, leaf, &mutex_access::resume_locking);
    {
        std::unique_lock lock(lock_);
        if (!ticket_less(ticket, notify_.load(std::memory_order_relaxed))) {
            w.parked = {&withdraw, this};
            return detail::park(g, hook, detail::wait_reason::sync_cond, &w.parked, [&] {
                w.ticket = ticket;
                w.g = &g;
                waiters_.push_back(w);
                lock.unlock();
                return true;
            });
        }
    }
    // Signalled between the unlock and here: relock without parking on the list.
    if (!detail::spend_budget_here()) {
        detail::yield_now(hook); // relock when rescheduled
        return true;
    }
    return mutex_access::lock_loop(*mu_, w.m);
}

bool cond::withdraw(detail::parked_on& p) noexcept
{
    auto& c = *static_cast<cond*>(p.object);
    std::lock_guard lock(c.lock_);
    if (!c.waiters_.remove(detail::waiter_of<cond_waiter>(p)))
        return false;
    // The withdrawn waiter's ticket would absorb a later signal(). With the
    // list empty, no ticket handed out so far has a parked waiter (a waiter
    // between taking its ticket and queueing runs on a worker, and withdraws
    // happen only once no worker runs), so all of them count as notified.
    if (c.waiters_.empty())
        c.notify_.store(c.wait_.load(std::memory_order_relaxed), std::memory_order_release);
    return true;
}

void cond::abandon_wait(cond_waiter& w, mutex::guard* lk) noexcept
{
    if (lk)
        (void)lk->release(); // the waiter does not hold the mutex
    if (w.m.sema_woke)
        mutex_access::abandon_wait(*mu_, w.m);
}

void cond::signal() noexcept
{
    // acquire: pairs with the waiters' ticket add (Go's fast path).
    if (wait_.load(std::memory_order_acquire) == notify_.load(std::memory_order_acquire))
        return;
    detail::goroutine* g = nullptr;
    {
        std::lock_guard lock(lock_);
        const std::uint32_t t = notify_.load(std::memory_order_relaxed);
        if (t == wait_.load(std::memory_order_acquire))
            return;
        notify_.store(t + 1, std::memory_order_release);
        for (cond_waiter* w = waiters_.head; w; w = w->next) {
            if (w->ticket == t) {
                waiters_.unlink(*w);
                g = w->g;
                break;
            }
        }
    }
    if (g)
        detail::ready_here(*g);
}

void cond::broadcast() noexcept
{
    if (wait_.load(std::memory_order_acquire) == notify_.load(std::memory_order_acquire))
        return;
    cond_waiter* list = nullptr;
    {
        std::lock_guard lock(lock_);
        list = waiters_.take_all();
        // Every ticket handed out so far is notified: its waiter is in the list
        // or will see this when it tries to queue.
        notify_.store(wait_.load(std::memory_order_acquire), std::memory_order_release);
    }
    detail::ready_all(list);
}

} // namespace goro
