// goro::cond: Go's sync.Cond, bound to a goro::mutex.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/sched.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_list.hpp>
#include <goro/mutex.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace goro::inline GORO_ABI {

namespace detail {

/// A goroutine waiting on a goro::cond, in its awaiter: first queued on the
/// cond's notify list with `ticket`, then relocking the mutex with `m` (whose
/// hook, the first member, the goroutine resumes through). lib/sync/cond.cpp
/// describes the protocol.
struct cond_waiter {
    mutex_waiter m;
    parked_on parked{};
    cond_waiter* prev = nullptr; // notify list fields: guarded by the cond's lock
    cond_waiter* next = nullptr;
    goroutine* g = nullptr;
    std::uint32_t ticket = 0;
    bool queued = false;
    /// The wait unlocked the mutex and has not relocked it yet: an awaiter
    /// destroyed meanwhile must not leave its guard owning the mutex.
    bool unlocked = false;
};

} // namespace detail

/// A condition variable for goroutines: Go's sync.Cond, whose Locker is a
/// goro::mutex.
///
/// The waiting goroutine holds the mutex and awaits `wait()`, which unlocks
/// it, parks until a signal() or broadcast() that comes after the wait began,
/// then locks the mutex again before returning. As in Go, the condition may
/// have changed again by then, so wait in a loop:
///
///     auto lk = co_await mu.lock();
///     while (!ready)
///         co_await c.wait(lk);
///
/// Signals are not lost between the unlock and the park: each wait takes a
/// ticket while it still holds the mutex, and a signal wakes the oldest
/// ticket not yet woken, even if that goroutine has not parked yet (it then
/// does not park). signal() and broadcast() never suspend and may be called
/// with or without the mutex held, from any thread. Not copyable or movable.
///
/// When a run ends, a goroutine inside wait() is destroyed wherever it is
/// (parked, signalled, or relocking the mutex); the guard it gave wait(lk)
/// then no longer owns the mutex, since the waiter does not hold it, and the
/// next run finds cond and mutex consistent. A signal that woke a goroutine
/// that never ran is spent.
class GORO_API cond {
public:
    struct [[nodiscard]] wait_awaiter {
        cond& c;
        /// The guard given to wait(lk), if any.
        mutex::guard* lk = nullptr;
        detail::cond_waiter w{};

        /// Destroyed with its goroutine's frame before it relocked the mutex
        /// (the end of a run): see cond.cpp, "A waiter destroyed mid-wait".
        ~wait_awaiter()
        {
            if (w.unlocked) [[unlikely]]
                c.abandon_wait(w, lk);
        }
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> leaf) { return c.wait_slow(w, leaf); }
        void await_resume() noexcept { w.unlocked = false; } // relocked
    };

    /// A cond whose waiters hold `mu` (Go's sync.NewCond(&mu)); `mu` must
    /// outlive it.
    explicit cond(mutex& mu) noexcept : mu_(&mu) {}
    cond(const cond&) = delete;
    cond& operator=(const cond&) = delete;

    /// The mutex waiters hold (Go's c.L).
    mutex& locker() const noexcept { return *mu_; }

    /// `co_await c.wait()`: the caller holds locker(). Unlocks it, parks until
    /// notified, relocks it (parking again if it is contended) and returns on
    /// whichever worker runs the goroutine then. Always suspends, unless a
    /// signal already arrived and the mutex is free to take again. Throws
    /// goro::panic outside a goroutine or if the mutex is not locked
    /// ("goro::cond::wait: mutex is not locked"), in both cases before
    /// unlocking anything.
    wait_awaiter wait() noexcept { return wait_awaiter{*this}; }
    /// As wait(), for a caller whose guard `lk` owns locker(); `lk` owns it
    /// again when the wait returns. Throws goro::panic if `lk` owns nothing or
    /// another mutex.
    wait_awaiter wait(mutex::guard& lk);

    /// Wakes the goroutine that has waited longest, if any (Go's Signal).
    void signal() noexcept;
    /// Wakes every waiting goroutine (Go's Broadcast).
    void broadcast() noexcept;

private:
    bool wait_slow(detail::cond_waiter& w, std::coroutine_handle<> leaf);
    static bool withdraw(detail::parked_on& p) noexcept;
    void abandon_wait(detail::cond_waiter& w, mutex::guard* lk) noexcept;

    mutex* mu_;
    std::atomic<std::uint32_t> wait_{0};   // next ticket to hand out
    std::atomic<std::uint32_t> notify_{0}; // next ticket to notify; written under lock_
    detail::spinlock lock_;
    detail::wait_list<detail::cond_waiter> waiters_; // guarded by lock_
};

} // namespace goro
