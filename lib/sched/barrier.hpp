// Asymmetric StoreLoad barriers for the scheduler's wake protocol.
//
// Submitting work is hot (every go, every yield); a P going idle is rare
// (after a spin window). Both sides need a StoreLoad barrier (see "Spinning
// and parking" in scheduler.cpp). A full fence on the hot side drains the
// store buffer, which is costly right after writing a fresh goroutine frame
// (measured: ~40% of a spawn). So the hot side only stops the compiler from
// reordering (light), and the idle side issues membarrier(2)
// PRIVATE_EXPEDITED (heavy), which runs a full barrier on every CPU currently
// running one of our threads: any store a submitter made before its light
// barrier is then visible to the idler, or the submitter's later load sees
// the idler's update. This is the pattern of folly's asymmetricThreadFence and
// liburcu. Where membarrier is unavailable (old kernel, seccomp) both sides
// fall back to std::atomic_thread_fence(seq_cst).
#pragma once

#include <atomic>

namespace goro::detail {

/// True once membarrier PRIVATE_EXPEDITED is registered for this process.
extern std::atomic<bool> heavy_barrier_is_membarrier;

/// Registers the process for membarrier if possible (idempotent).
void init_asymmetric_barriers() noexcept;

inline void asymmetric_light_barrier() noexcept
{
    if (heavy_barrier_is_membarrier.load(std::memory_order_relaxed))
        std::atomic_signal_fence(std::memory_order_seq_cst);
    else
        std::atomic_thread_fence(std::memory_order_seq_cst);
}

void asymmetric_heavy_barrier() noexcept;

} // namespace goro::detail
