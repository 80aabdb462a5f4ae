// goro::semaphore: golang.org/x/sync/semaphore's Weighted, with a lock-free
// fast path.
//
// # State
// state_ = free tokens << 1 | waiters_bit. waiters_bit is set exactly while
// the FIFO queue (waiters_, guarded by lock_) is non-empty, and is set and
// cleared only under lock_. While it is set nobody but lock_'s holder writes
// the word: take_fast and the fast release both CAS only from a value with
// the bit clear, so they fail over to the locked path and queue or hand out
// tokens in order.
//
// # Protocol (x/sync's)
// acquire(n): with the bit clear and n tokens free, CAS them away. Otherwise,
//   under lock_: take them if that became possible; else set the bit (CAS,
//   racing only fast paths) and queue at the tail, parking with the awaiting
//   coroutine as leaf.
// release(n): with the bit clear, CAS the tokens back. Otherwise, under lock_:
//   add them, then grant tokens to waiters from the head while the head's
//   request fits; stop at the first that does not (x/sync: letting smaller
//   requests pass would starve large ones). Clear the bit if the queue
//   emptied, store the word, drop lock_, then ready the granted goroutines:
//   a woken waiter already owns its tokens, so it never has to retry.
// release checks "more free than size" before changing anything, so a release
// of tokens not held throws goro::panic and leaves the semaphore intact.
//
// # Budget
// The awaiter spends one unit of the budget on the fast path; with none left
// it yields with its resume hook (include/goro/detail/resume_hook.hpp) as
// leaf, and the hook acquires when the goroutine runs again: acquire never
// yields while holding tokens it just took.
//
// # A waiter destroyed before it ran
// The end of a run destroys every goroutine of the run (lib/sched/scheduler.cpp,
// "Stopping"); a queued waiter is withdrawn first, and the waiters behind it
// may then be granted. A waiter granted its tokens but not yet run owns
// them, and its awaiter's destructor releases them. `phase` tells these
// apart: `waiting` from just before the waiter queues until withdraw takes
// it out or the coroutine resumes, through a hook (resume_granted) that
// clears it first; so a granted waiter does not resume straight into the
// awaiting coroutine. The byte replaces the awaiter's out-of-budget flag,
// so the fast path stores no more than before.
//
// # Ordering
// take_fast's CAS is acquire, the release CAS is release; the locked path is
// ordered by lock_ and, for parked waiters, by ready().

#include "sched/park.hpp"
#include "sync/resume_hook.hpp"

#include <goro/panic.hpp>
#include <goro/semaphore.hpp>

#include <mutex>

namespace goro::inline GORO_ABI {

namespace {

constexpr std::int64_t max_size = std::int64_t(1) << 62;

void check_weight(std::int64_t n)
{
    if (n < 0)
        throw panic("goro::semaphore: negative weight");
}

} // namespace

namespace detail {

struct semaphore_access {
    /// Takes the tokens (false) or queues `w` and parks (true).
    static bool acquire_or_park(semaphore& s, detail::semaphore_waiter& w)
    {
        if (s.take_fast(w.n))
            return false;
        detail::goroutine& g = *detail::current_g();
        std::unique_lock lock(s.lock_);
        std::uint64_t st = s.state_.load(std::memory_order_relaxed);
        for (;;) {
            if (st & semaphore::waiters_bit)
                break; // others wait: queue behind them
            if (std::int64_t(st >> 1) >= w.n) {
                if (s.state_.compare_exchange_weak(st, st - (std::uint64_t(w.n) << 1), std::memory_order_acquire,
                                                   std::memory_order_relaxed))
                    return false;
                continue;
            }
            if (s.state_.compare_exchange_weak(st, st | semaphore::waiters_bit, std::memory_order_relaxed,
                                               std::memory_order_relaxed))
                break;
        }
        w.parked = {&withdraw, &s};
        w.phase = detail::semaphore_waiter::phase_t::waiting; // before parking: not ours once queued
        std::coroutine_handle<> granted = arm_hook(w.hook, &resume_granted);
        return detail::park(g, granted, detail::wait_reason::sync_semaphore, &w.parked, [&] {
            w.g = &g;
            s.waiters_.push_back(w);
            lock.unlock();
            return true;
        });
    }

    /// Grants tokens to waiters from the head while the head's request fits
    /// in `free`; stores the word; returns the granted waiters. lock_ held,
    /// waiters_bit set.
    static detail::semaphore_waiter* grant_locked(semaphore& s, std::int64_t free) noexcept
    {
        detail::semaphore_waiter* granted = s.waiters_.pop_front_while([&free](detail::semaphore_waiter& w) {
            if (w.n > free)
                return false; // FIFO: nobody passes a head request that does not fit
            free -= w.n;
            return true;
        });
        // The bit is set, so only we write the word. release: publishes to
        // acquirers that take the rest on the fast path once it clears.
        s.state_.store(std::uint64_t(free) << 1 | (s.waiters_.empty() ? 0 : semaphore::waiters_bit),
                       std::memory_order_release);
        return granted;
    }

    /// A withdrawn waiter leaves the queue; as x/sync does for a canceled
    /// acquire, the waiters behind it may now fit.
    static bool withdraw(detail::parked_on& p) noexcept
    {
        auto& s = *static_cast<semaphore*>(p.object);
        detail::semaphore_waiter* granted = nullptr;
        {
            std::lock_guard lock(s.lock_);
            auto& w = detail::waiter_of<detail::semaphore_waiter>(p);
            if (!s.waiters_.remove(w))
                return false;
            w.phase = detail::semaphore_waiter::phase_t::none; // granted nothing
            granted = grant_locked(s, std::int64_t(s.state_.load(std::memory_order_relaxed) >> 1));
        }
        detail::ready_all(granted);
        return true;
    }

    /// The resume hook after a grant: the tokens are the coroutine's now.
    static void resume_granted(void* hook) noexcept
    {
        auto& w = *static_cast<detail::semaphore_waiter*>(hook);
        w.phase = detail::semaphore_waiter::phase_t::none;
        std::coroutine_handle<> user = w.user;
        user.resume();
    }

    /// The resume hook after a yield for the budget.
    static void resume_acquire(void* hook) noexcept
    {
        auto& w = *static_cast<detail::semaphore_waiter*>(hook);
        if (acquire_or_park(*w.sem, w))
            return;
        std::coroutine_handle<> user = w.user;
        user.resume();
    }
};

} // namespace detail

using detail::semaphore_access;

semaphore::semaphore(std::int64_t size) : state_(std::uint64_t(size) << 1), size_(size)
{
    if (size < 0 || size >= max_size)
        throw panic("goro::semaphore: size must be at least 0 and below 2^62");
}

semaphore::acquire_awaiter semaphore::acquire(std::int64_t n)
{
    check_weight(n);
    if (n > size_)
        throw panic("goro::semaphore: acquire of more than the semaphore's size");
    return acquire_awaiter(*this, n);
}

bool semaphore::acquire_slow(detail::semaphore_waiter& w, std::coroutine_handle<> leaf)
{
    detail::running_g("goro::semaphore::acquire"); // nothing taken yet
    w.user = leaf;
    w.sem = this;
    if (w.phase == detail::semaphore_waiter::phase_t::out_of_budget) {
        detail::yield_now(detail::arm_hook(w.hook, &semaphore_access::resume_acquire));
        return true;
    }
    return semaphore_access::acquire_or_park(*this, w);
}

bool semaphore::try_acquire(std::int64_t n)
{
    check_weight(n);
    return n <= size_ && take_fast(n);
}

void semaphore::release(std::int64_t n)
{
    check_weight(n);
    const auto un = std::uint64_t(n);
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!(s & waiters_bit)) {
        if (n > size_ - std::int64_t(s >> 1))
            throw panic("goro::semaphore: released more than held");
        // release: publishes the holder's work to the next acquirer.
        if (state_.compare_exchange_weak(s, s + (un << 1), std::memory_order_release, std::memory_order_relaxed))
            return;
    }
    detail::semaphore_waiter* granted = nullptr; // the waiters served, still linked in order
    {
        std::lock_guard lock(lock_);
        for (s = state_.load(std::memory_order_relaxed);;) {
            std::int64_t free = std::int64_t(s >> 1);
            if (n > size_ - free)
                throw panic("goro::semaphore: released more than held");
            if (!(s & waiters_bit)) {
                // The queue emptied meanwhile: fast paths may race us again.
                if (state_.compare_exchange_weak(s, s + (un << 1), std::memory_order_release,
                                                 std::memory_order_relaxed))
                    break;
                continue;
            }
            granted = semaphore_access::grant_locked(*this, free + n);
            break;
        }
    }
    detail::ready_all(granted);
}

} // namespace goro
