// The runtime's lock for short critical sections that many threads may
// contend: channel state, the scheduler's global queue and idle list.
//
// Go's lock_futex.go in spirit: take it with one atomic exchange; under
// contention spin with backoff (the holder is usually running and about to
// release; the schedule and why it is longer than Go's are in
// lib/rt/futex_lock.cpp), then sleep on a futex instead of burning the CPU
// the holder may need. Unlike Go, unlock is a plain release store: the atomic
// exchange Go unlocks with (to learn whether anyone sleeps) costs as much as
// the lock itself, and a channel operation is little more than the pair.
//
// Fields: `state_` is 0 (free) or 1 (held). Threads between deciding to sleep
// and having taken the lock are counted in futex_lock_sleepers, a small table
// indexed by the lock's address, not in the lock: a channel may be freed the
// moment its lock is released (the goroutine that parked under it may already
// run elsewhere and drop the last handle), so unlock must not read the lock
// after its store. Unlocker and sleeper each store, then load the other's
// word:
//   unlock:  state_ = 0 (release) ; light barrier ; if sleepers(this): futex wake
//   sleeper: ++sleepers(this) ; heavy barrier ; exchange state_, futex wait on 1
// The pair of asymmetric barriers (lib/rt/barrier.hpp) orders each side's
// store before its load, so either the unlocker sees the sleeper and wakes
// it, or the sleeper's exchange sees the lock free. The futex wait itself
// returns at once if the state is no longer 1. The wake may hit memory freed
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
        if (state_.exchange(held, std::memory_order_acquire) != free) // acquire: pairs with unlock's release
            lock_slow();
    }
    bool try_lock() noexcept
    {
        std::uint32_t expected = free;
        return state_.compare_exchange_strong(expected, held, std::memory_order_acquire, std::memory_order_relaxed);
    }
    void unlock() noexcept
    {
        std::atomic<std::uint32_t>* state = &state_; // no access to *this after the store
        state->store(free, std::memory_order_release); // release: publishes the critical section
        asymmetric_light_barrier();                     // StoreLoad: pairs with the sleeper's heavy barrier
        if (futex_lock_sleepers_slot(state).load(std::memory_order_relaxed) != 0)
            wake_one(state);
    }

private:
    static constexpr std::uint32_t free = 0, held = 1;
    GORO_API void lock_slow() noexcept;
    /// Wakes one thread sleeping on `state` (which may be freed memory by now).
    GORO_API static void wake_one(std::atomic<std::uint32_t>* state) noexcept;

    std::atomic<std::uint32_t> state_{free};
};

} // namespace goro::detail
