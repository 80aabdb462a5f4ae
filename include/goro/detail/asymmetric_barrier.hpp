// The light half of the runtime's asymmetric StoreLoad barrier; the design is
// at the top of lib/base/barrier.hpp. Public only because futex_lock::unlock,
// which pairs with it, is inline.
#pragma once

#include <goro/config.hpp>

#include <atomic>

namespace goro::inline GORO_ABI::detail {

/// True once membarrier(2) PRIVATE_EXPEDITED is registered for this process
/// (at library load); then the heavy side's membarrier orders the light side.
GORO_API extern std::atomic<bool> heavy_barrier_is_membarrier;

/// Orders this thread's earlier stores before its later loads against a
/// thread that runs asymmetric_heavy_barrier(): a compiler barrier when
/// membarrier is registered, else a full fence.
inline void asymmetric_light_barrier() noexcept
{
    if (heavy_barrier_is_membarrier.load(std::memory_order_relaxed))
        std::atomic_signal_fence(std::memory_order_seq_cst);
    else
        std::atomic_thread_fence(std::memory_order_seq_cst);
}

} // namespace goro::detail
