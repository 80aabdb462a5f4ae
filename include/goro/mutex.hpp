// goro::mutex: Go's sync.Mutex, with its starvation mode.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/guard.hpp>
#include <goro/detail/resume_hook.hpp>
#include <goro/detail/sched.hpp>
#include <goro/detail/sema.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>

namespace goro::inline GORO_ABI {

class mutex;

namespace detail {

struct mutex_access; // lib/sync/mutex_impl.hpp


/// A goroutine taking a goro::mutex the slow way. It lives in the awaiter
/// (so in the waiting goroutine's frame) and is owned by that goroutine,
/// except while `node` is queued on the mutex's semaphore. lib/sync/mutex.cpp
/// describes the protocol. The slow path initializes every field it uses
/// (mutex_access::prepare), so the fast path leaves it uninitialized.
struct mutex_waiter {
    /// First member: while the lock is contended the goroutine's leaf is this
    /// hook, which competes for the lock when the goroutine is next run.
    resume_hook hook;
    sema_waiter node;
    /// The coroutine that awaits the lock; resumed once it is held.
    std::coroutine_handle<> user;
    mutex* mu;
    /// CLOCK_MONOTONIC nanoseconds when this waiter first queued (0: not yet).
    std::int64_t wait_start;
    bool starving;
    /// The mutex's semaphore woke this waiter (rather than a yield ending),
    /// and it has not acted on the wake yet: an awaiter destroyed in that
    /// state undoes what the wake changed (mutex::abandon_wait).
    bool sema_woke;
};

} // namespace detail

/// A mutual exclusion lock for goroutines: Go's sync.Mutex.
///
/// `auto lk = co_await mu.lock();` parks the goroutine (never its worker
/// thread) while another goroutine holds the lock, and returns a guard that
/// unlocks when it goes out of scope. The zero state is unlocked; a mutex is
/// not copyable or movable (parked goroutines point into it), and it is not
/// tied to a goroutine: any goroutine may unlock a mutex another one locked.
///
/// Fairness is Go's: normally a goroutine woken by unlock() competes with
/// goroutines just arriving, which usually win (they are already running),
/// and a loser goes back to the front of the queue. A waiter that has waited
/// more than 1 ms switches the mutex to starvation mode: unlock() then hands
/// the lock straight to the waiter at the front, and newcomers queue behind
/// it instead of barging. The mutex returns to normal mode when a waiter that
/// waited less than 1 ms, or the last waiter, takes it.
///
/// The uncontended lock and unlock are a load and one atomic
/// compare-and-swap each. A goroutine that finds the lock held parks at
/// once; it does not spin.
///
/// When a run ends, a goroutine waiting for the lock is destroyed with it:
/// one that unlock woke but that never ran gives back what the wake gave it
/// (the lock itself, in starvation mode), and a guard in a destroyed frame
/// unlocks as usual, so the next run finds the mutex consistent. A lock held
/// outside any frame stays held.
class GORO_API mutex {
public:
    /// Releases the lock, waking a waiting goroutine if needed. Never suspends;
    /// callable from any thread, by any goroutine. Throws goro::panic
    /// ("goro::mutex: unlock of unlocked mutex"), leaving the mutex as it was,
    /// if the mutex is not locked.
    void unlock()
    {
        // Read first, then one CAS from what was read: with waiters counted in
        // the word, a CAS from `locked` alone would fail and cost a second
        // locked instruction (docs/performance.md, "The mutex at two Ps").
        std::uint32_t old = state_.load(std::memory_order_relaxed);
        // Locked, and nobody to wake (no waiter counted, or one is awake
        // already), not starving: clear `locked` inline, as Go's Unlock does
        // before it decides it must call unlockSlow.
        if ((old & (locked_bit | starving_bit)) == locked_bit &&
            ((old >> waiter_shift) == 0 || (old & woken_bit)) &&
            state_.compare_exchange_strong(old, old - locked_bit, std::memory_order_release,
                                           std::memory_order_relaxed))
            return; // release: publishes the critical section to the next owner's acquire
        unlock_slow(old);
    }

    /// Owns a locked mutex and unlocks it when destroyed; move-only.
    /// `unlock()` unlocks early (goro::panic if the guard owns nothing),
    /// `release()` gives up ownership without unlocking, `owns_lock()` and
    /// `get()` say what it holds. If the mutex was unlocked behind the guard's
    /// back, the guard's destructor ends the program (the unlock panics).
    using guard = detail::basic_guard<mutex, &mutex::unlock>;

    struct [[nodiscard]] lock_awaiter {
        mutex& mu;
        /// How far the lock got. `slow`: lock_slow prepared `w`.
        enum class phase : std::uint8_t {
            fast,
            out_of_budget, // the cooperative budget ran out: yield first, lock when rescheduled
            slow,
        } at = phase::fast;
        detail::mutex_waiter w; // left uninitialized until the slow path needs it

        explicit lock_awaiter(mutex& m) noexcept : mu(m) {}
        /// Destroyed with its goroutine's frame after a wake it never acted
        /// on (the end of a run): gives back what the wake gave it.
        ~lock_awaiter()
        {
            if (at == phase::slow && w.sema_woke) [[unlikely]]
                mu.abandon_wait(w);
        }
        bool await_ready() noexcept
        {
            if (!detail::take_budget()) {
                at = phase::out_of_budget;
                return false;
            }
            return mu.try_acquire();
        }
        bool await_suspend(std::coroutine_handle<> leaf)
        {
            const bool out_of_budget = at == phase::out_of_budget;
            at = phase::slow;
            return mu.lock_slow(w, leaf, out_of_budget);
        }
        guard await_resume() const noexcept { return guard(mu, std::adopt_lock); }
    };

    mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    /// `co_await mu.lock()` returns a guard owning the lock. When the lock is
    /// free it completes without suspending, spending one unit of the
    /// cooperative budget (with none left, the goroutine first yields, then
    /// takes the lock when it runs again). Otherwise the goroutine parks until
    /// it gets the lock and resumes on whichever worker runs it next, holding
    /// the lock. Throws goro::panic if it has to wait outside a goroutine.
    lock_awaiter lock() noexcept { return lock_awaiter(*this); }

    /// Takes the lock if it is free and the mutex is not in starvation mode
    /// (Go's TryLock). Never suspends; callable from any thread.
    bool try_lock() noexcept { return try_acquire(); }

private:
    friend struct detail::mutex_access;

    static constexpr std::uint32_t locked_bit = 1;
    static constexpr std::uint32_t woken_bit = 2;
    static constexpr std::uint32_t starving_bit = 4;
    static constexpr unsigned waiter_shift = 3;

    /// The inline acquire: the lock is free and the mutex is not starving,
    /// then one CAS that sets `locked` in the word as read (Go's fast path
    /// is a CAS from 0, which fails whenever waiters are counted and needs a
    /// second CAS to barge in, as its lockSlow does). One load and one
    /// atomic RMW.
    bool try_acquire() noexcept
    {
        std::uint32_t old = state_.load(std::memory_order_relaxed);
        // acquire: pairs with unlock's release.
        return !(old & (locked_bit | starving_bit)) &&
               state_.compare_exchange_strong(old, old | locked_bit, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }
    bool lock_slow(detail::mutex_waiter& w, std::coroutine_handle<> leaf, bool out_of_budget);
    void unlock_slow(std::uint32_t seen);
    /// `w` was woken by sema_ and will never run: see mutex.cpp, "A waiter
    /// destroyed before it ran".
    void abandon_wait(detail::mutex_waiter& w) noexcept;

    /// locked | woken << 1 | starving << 2 | waiters << 3 (see mutex.cpp).
    std::atomic<std::uint32_t> state_{0};
    detail::sema sema_;
};

} // namespace goro
