// goro::semaphore: golang.org/x/sync/semaphore's Weighted.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/resume_hook.hpp>
#include <goro/detail/sched.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_list.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace goro::inline GORO_ABI {

class semaphore;

namespace detail {

struct semaphore_access; // lib/sync/semaphore.cpp

/// A goroutine waiting in semaphore::acquire; lives in the awaiter. While
/// queued, `next` and `g` are guarded by the semaphore's lock; the releaser
/// that grants the tokens unlinks it and readies the goroutine. The slow path
/// sets every field it uses (`n` and `phase` are set by the awaiter).
struct semaphore_waiter {
    /// First member: acquires after a yield for the budget, and resumes the
    /// awaiting coroutine after a grant.
    resume_hook hook;
    parked_on parked;
    semaphore_waiter* prev;
    semaphore_waiter* next;
    goroutine* g;
    bool queued;
    enum class phase_t : std::uint8_t {
        none,          // holds no tokens on the wait's behalf (or the coroutine has them)
        out_of_budget, // the budget ran out: yield first, acquire when rescheduled
        waiting,       // queued, or granted its tokens and not resumed yet
    } phase;
    std::coroutine_handle<> user;
    semaphore* sem;
    std::int64_t n;
};

} // namespace detail

/// A weighted semaphore: golang.org/x/sync/semaphore's Weighted. It holds
/// `size` tokens; acquire(n) takes n of them, waiting until they are free,
/// and release(n) gives them back.
///
/// Waiters are served in FIFO order: a large request at the head of the queue
/// blocks smaller ones behind it even when enough tokens for them are free
/// (as x/sync does, so large requests are not starved), and a new acquire
/// queues behind existing waiters. Where x/sync would block forever (a
/// request larger than the size, unless its context ends), goro throws
/// goro::panic. Not copyable or movable (goroutines point into it).
///
/// When a run ends, a goroutine that was granted tokens but never ran gives
/// them back, and one still queued leaves the queue (the waiters behind it
/// may then fit), so the next run finds every token that no live frame holds
/// free. Tokens acquired and not released stay taken.
class GORO_API semaphore {
public:
    struct [[nodiscard]] acquire_awaiter {
        semaphore& s;
        detail::semaphore_waiter w;

        acquire_awaiter(semaphore& sem, std::int64_t n) noexcept : s(sem)
        {
            w.phase = detail::semaphore_waiter::phase_t::none;
            w.n = n;
        }
        /// Destroyed with its goroutine's frame after a grant it never
        /// resumed from (the end of a run): gives the tokens back.
        ~acquire_awaiter()
        {
            if (w.phase == detail::semaphore_waiter::phase_t::waiting) [[unlikely]]
                s.release(w.n);
        }
        bool await_ready() noexcept
        {
            if (!detail::take_budget()) {
                w.phase = detail::semaphore_waiter::phase_t::out_of_budget;
                return false;
            }
            return s.take_fast(w.n);
        }
        bool await_suspend(std::coroutine_handle<> leaf) { return s.acquire_slow(w, leaf); }
        void await_resume() const noexcept {}
    };

    /// A semaphore with `size` free tokens. Throws goro::panic if size is
    /// negative or at least 2^62.
    explicit semaphore(std::int64_t size);
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    /// `co_await s.acquire(n)` takes n tokens. It completes without suspending
    /// when n tokens are free and nobody waits (spending one unit of the
    /// cooperative budget; with none left the goroutine yields first, then
    /// acquires when it runs again). Otherwise the goroutine queues and parks
    /// until the releases ahead of it free enough tokens, and resumes owning
    /// them on whichever worker runs it next. acquire() itself throws
    /// goro::panic for n < 0 ("goro::semaphore: negative weight") or n > size
    /// ("goro::semaphore: acquire of more than the semaphore's size"), and the
    /// await throws goro::panic if it has to wait outside a goroutine.
    acquire_awaiter acquire(std::int64_t n = 1);

    /// Takes n tokens if they are free and nobody waits; never suspends
    /// (x/sync's TryAcquire). Throws goro::panic for n < 0.
    bool try_acquire(std::int64_t n = 1);

    /// Gives back n tokens and wakes the waiters at the head of the queue that
    /// they satisfy. Never suspends; callable from any thread. Throws
    /// goro::panic ("goro::semaphore: released more than held"), changing
    /// nothing, if more tokens would be free than the size, or for n < 0.
    void release(std::int64_t n = 1);

    /// The number of tokens.
    std::int64_t size() const noexcept { return size_; }

private:
    friend struct detail::semaphore_access;

    /// Takes n free tokens when nobody waits: one CAS.
    bool take_fast(std::int64_t n) noexcept
    {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        while (!(s & waiters_bit) && std::int64_t(s >> 1) >= n) {
            // acquire: pairs with the release of the tokens' last release().
            if (state_.compare_exchange_weak(s, s - (std::uint64_t(n) << 1), std::memory_order_acquire,
                                             std::memory_order_relaxed))
                return true;
        }
        return false;
    }
    bool acquire_slow(detail::semaphore_waiter& w, std::coroutine_handle<> leaf);

    static constexpr std::uint64_t waiters_bit = 1;

    /// free tokens << 1 | waiters_bit (set while the queue is not empty; only
    /// lock_'s holder changes the word while it is set). See semaphore.cpp.
    std::atomic<std::uint64_t> state_;
    const std::int64_t size_;
    detail::spinlock lock_;
    detail::wait_list<detail::semaphore_waiter> waiters_; // guarded by lock_
};

} // namespace goro
