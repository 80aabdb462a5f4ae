// The slow path of detail::spinlock (include/goro/detail/spinlock.hpp).
#include "base/cpu_relax.hpp"

#include <goro/detail/spinlock.hpp>

#include <sched.h>

namespace goro::inline GORO_ABI::detail {

void spin_wait_slow(std::atomic<bool>& locked) noexcept
{
    for (unsigned spins = 0;; ++spins) {
        while (locked.load(std::memory_order_relaxed)) {
            if (spins < 64)
                cpu_relax();
            else
                sched_yield(); // the holder may have been preempted
            ++spins;
        }
        if (!locked.exchange(true, std::memory_order_acquire)) // acquire: pairs with unlock's release
            return;
    }
}

} // namespace goro::detail
