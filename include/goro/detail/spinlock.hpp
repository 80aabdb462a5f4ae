// A test-and-test-and-set spinlock for the short critical sections of wait
// queues (a handful of pointer writes). After a bounded spin it yields the
// thread, so a holder preempted by the OS does not burn a whole time slice.
#pragma once

#include <goro/config.hpp>

#include <atomic>

namespace goro::inline GORO_ABI::detail {

GORO_API void spin_wait_slow(std::atomic<bool>& locked) noexcept;

class spinlock {
public:
    void lock() noexcept
    {
        if (!locked_.exchange(true, std::memory_order_acquire)) // acquire: pairs with unlock's release
            return;
        spin_wait_slow(locked_);
    }
    bool try_lock() noexcept
    {
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); } // release: publishes the critical section

private:
    std::atomic<bool> locked_{false};
};

} // namespace goro::detail
