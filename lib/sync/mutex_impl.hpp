// The parts of goro::mutex that goro::cond and goro::rw_mutex build on: the
// state bits and Go's lockSlow loop, run from an awaiter or from a resume
// hook. The protocol is described at the top of lib/sync/mutex.cpp.
#pragma once

#include <goro/mutex.hpp>

#include <cstddef>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

struct mutex_access {
    // held
    static constexpr std::uint32_t locked = mutex::locked_bit;
    // a waiter is awake (woken or spinning): unlock wakes nobody
    static constexpr std::uint32_t woken = mutex::woken_bit;
    // starvation mode: unlock hands the lock to the front waiter
    static constexpr std::uint32_t starving = mutex::starving_bit;
    // the bits above count parked waiters
    static constexpr unsigned waiter_shift = mutex::waiter_shift;
    static constexpr std::uint32_t one_waiter = 1u << waiter_shift;
    static constexpr std::int64_t starvation_threshold_ns = 1'000'000; // Go's 1 ms

    /// Go's lockSlow: competes for the lock until `w` holds it (returns false)
    /// or is parked on the mutex's semaphore with `w.hook` as its leaf
    /// (returns true; `w` then belongs to the mutex until the goroutine is
    /// woken, and the caller must not touch it). `w.sema_woke` says whether the
    /// semaphore just woke this waiter. `w.hook` must be armed; the running
    /// goroutine is the waiter's.
    static bool lock_loop(mutex& mu, mutex_waiter& w) noexcept;

    /// The withdraw function of a parked waiter (lib/sched/park.hpp):
    /// `p.object` is the mutex. Clears the waiter's sema_woke: it was never
    /// woken, so its awaiter has nothing to give back.
    static bool withdraw(parked_on& p) noexcept;

    /// See mutex::abandon_wait; for the awaiters of cond and rw_mutex.
    static void abandon_wait(mutex& mu, mutex_waiter& w) noexcept { mu.abandon_wait(w); }

    /// The mutex_waiter whose `node` is `n` (mutex_waiter is standard-layout).
    static mutex_waiter& waiter_of_node(sema_waiter& n) noexcept
    {
        return *reinterpret_cast<mutex_waiter*>(reinterpret_cast<char*>(&n) - offsetof(mutex_waiter, node));
    }

    /// The resume hook of a plain lock: lock_loop, then resume `w.user` with
    /// the lock held.
    static void resume_locking(void* hook) noexcept;

    /// Prepares `w` to lock `mu` for the coroutine `user` and arms its hook
    /// with `fn`; returns the hook's handle.
    static std::coroutine_handle<> prepare(mutex& mu, mutex_waiter& w, std::coroutine_handle<> user,
                                           void (*fn)(void*) noexcept) noexcept;

    static bool is_locked(const mutex& mu) noexcept
    {
        return mu.state_.load(std::memory_order_relaxed) & locked;
    }
};

} // namespace goro::detail
