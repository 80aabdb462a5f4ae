// The runtime's lock for short critical sections that many threads may
// contend: channel state, the scheduler's global queue and idle list.
//
// Go's lock_futex.go: take it with one atomic exchange; under contention spin
// a few rounds (the holder is usually running and about to release), then
// sleep on a futex instead of burning the CPU the holder may need. States:
// 0 free, 1 held, 2 held and a thread may be asleep on it. unlock() is an
// exchange so it knows whether to wake a sleeper.
// Rejected: a pure spinlock with sched_yield (measured: a third of a 2-P MPMC
// channel benchmark spent spinning and yielding), std::mutex (glibc's is the
// same idea with more bookkeeping per operation).
#pragma once

#include <goro/config.hpp>

#include <atomic>
#include <cstdint>

namespace goro::detail {

class futex_lock {
public:
    void lock() noexcept
    {
        std::uint32_t was = state_.exchange(held, std::memory_order_acquire); // acquire: pairs with unlock's release
        if (was != free)
            lock_slow(was);
    }
    bool try_lock() noexcept
    {
        std::uint32_t expected = free;
        return state_.compare_exchange_strong(expected, held, std::memory_order_acquire, std::memory_order_relaxed);
    }
    void unlock() noexcept
    {
        if (state_.exchange(free, std::memory_order_release) == sleeping) // release: publishes the critical section
            wake_one();
    }

private:
    static constexpr std::uint32_t free = 0, held = 1, sleeping = 2;
    GORO_API void lock_slow(std::uint32_t was) noexcept;
    GORO_API void wake_one() noexcept;

    std::atomic<std::uint32_t> state_{free};
};

} // namespace goro::detail
