// The runtime's lock for short critical sections that many threads may
// contend: channel state, the scheduler's global queue and idle list.
//
// Go's lock_futex.go in spirit: take it with one atomic read-modify-write;
// under contention spin with backoff (the holder is usually running and
// about to release; the schedule and why it is longer than Go's are in
// lib/base/futex_lock.cpp), then sleep on a futex instead of burning the CPU
// the holder may need. Unlike Go, unlock is a plain release store: the atomic
// exchange Go unlocks with (to learn whether anyone sleeps) costs as much as
// the lock itself, and a channel operation is little more than the pair.
//
// Fields: `state_` counts the lock's transitions: odd while held, even while
// free. lock exchanges in the value it last read with bit 0 set, unlock adds
// 1 (a plain load and store: only the holder changes the value then), which
// turns held 2n+1 into free 2n+2. A waiter that looks at the lock twice thus
// learns more than "free or held": a difference of 2 or more between its
// looks means the lock was taken again in between, by a holder running a
// batch of operations on it, which the waiter's spin schedule leaves alone
// for a while (lib/base/futex_lock.cpp). The count is a hint, not an
// invariant: a taker whose read is stale, or a failed exchange on a held
// lock, writes an older odd value, and the counter wraps; only bit 0 decides
// who holds the lock. Measured against an exchange of a constant: the same
// cost, where `lock bts` (fetch_or) cost ~0.3 ns more per lock and unlock.
//
// Threads between deciding to sleep
// and having taken the lock are counted in futex_lock_sleepers, a small table
// indexed by the lock's address, not in the lock: a channel may be freed the
// moment its lock is released (the goroutine that parked under it may already
// run elsewhere and drop the last handle), so unlock must not read the lock
// after its store. Unlocker and sleeper each store, then load the other's
// word:
//   unlock:  state_ += 1 (release) ; light barrier ; if sleepers(this): futex wake
//   sleeper: ++sleepers(this) ; heavy barrier ; exchange in bit 0 set, futex wait on that
// The pair of asymmetric barriers (lib/base/barrier.hpp) orders each side's
// store before its load, so either the unlocker sees the sleeper and wakes
// it, or the sleeper's read-modify-write sees the lock free. The futex wait
// itself returns at once if the state has moved on. The wake may hit memory freed
// and reused since: a futex wake on it is harmless, and every futex_lock
// sleeper re-checks the lock after waking (as with glibc's mutexes, which may
// be destroyed right after unlock). Two locks sharing a table slot only cost
// each other spurious wakes. The heavy side (a membarrier) runs only when a
// thread gives up spinning, which is rare by design.
//
// Rejected: a pure spinlock with sched_yield (measured: a third of a 2-P MPMC
// channel benchmark spent spinning and yielding), std::mutex (glibc's is Go's
// exchange-unlock design with more bookkeeping per operation), an exchange in
// unlock (a second locked instruction, which waits for the store buffer to
// drain, on every channel operation), a sleeper count inside the lock (read
// after the release store: use after free, caught by ASan).
#pragma once

#include <goro/config.hpp>
#include <goro/detail/asymmetric_barrier.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// Sleeping futex_lock waiters, by lock address (futex_lock_sleepers_slot).
inline constexpr std::size_t futex_lock_sleeper_slots = 64;
GORO_API extern std::atomic<std::uint32_t> futex_lock_sleepers[futex_lock_sleeper_slots];

inline std::atomic<std::uint32_t>& futex_lock_sleepers_slot(const void* lock) noexcept
{
    return futex_lock_sleepers[(reinterpret_cast<std::uintptr_t>(lock) >> 6) % futex_lock_sleeper_slots];
}

class futex_lock {
public:
    void lock() noexcept
    {
        std::uint32_t seen = state_.load(std::memory_order_relaxed);
        if (state_.exchange(seen | held, std::memory_order_acquire) & held) // acquire: pairs with unlock's release
            lock_slow();
    }
    bool try_lock() noexcept
    {
        std::uint32_t seen = state_.load(std::memory_order_relaxed);
        return !(state_.exchange(seen | held, std::memory_order_acquire) & held);
    }
    /// For a waiter that saw the state `seen` at one look and `now` at the
    /// next: true if the lock is free and nobody took it in between (at most
    /// the release of the holder it saw). The spin schedule's test.
    static constexpr bool free_and_quiet(std::uint32_t seen, std::uint32_t now) noexcept
    {
        return !(now & held) && std::uint32_t(now - seen) <= 1;
    }

    void unlock() noexcept
    {
        std::atomic<std::uint32_t>* state = &state_; // no access to *this after the store
        std::uint32_t now = state->load(std::memory_order_relaxed); // held: only this thread changes it
        state->store(now + 1, std::memory_order_release); // release: publishes the critical section
        asymmetric_light_barrier();                     // StoreLoad: pairs with the sleeper's heavy barrier
        if (futex_lock_sleepers_slot(state).load(std::memory_order_relaxed) != 0)
            wake_one(state);
    }

private:
    static constexpr std::uint32_t held = 1; // bit 0 of state_
    GORO_API void lock_slow() noexcept;
    /// Wakes one thread sleeping on `state` (which may be freed memory by now).
    GORO_API static void wake_one(std::atomic<std::uint32_t>* state) noexcept;

    std::atomic<std::uint32_t> state_{0}; // free
};

} // namespace goro::detail
