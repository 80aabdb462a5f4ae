// Asymmetric StoreLoad barriers, for protocols with a hot side and a rare side.
//
// Users: the scheduler's wake protocol (submitting work is hot, a P going idle
// is rare; "Spinning and parking" in scheduler.cpp) and futex_lock (unlocking
// is hot, a thread going to sleep on the lock is rare). Both sides of such a
// protocol need a StoreLoad barrier: each stores its flag, then loads the
// other's. A full fence on the hot side drains the store buffer, which is
// costly right after writing a fresh goroutine frame (measured: ~40% of a
// spawn) and as costly as the atomic exchange it would replace in an unlock.
// So the hot side only stops the compiler from reordering (light), and the
// rare side issues membarrier(2) PRIVATE_EXPEDITED (heavy), which runs a full
// barrier on every CPU currently running one of our threads: any store a hot
// thread made before its light barrier is then visible to the rare side, or
// the hot thread's later load sees the rare side's update. This is the
// pattern of folly's asymmetricThreadFence and liburcu.
//
// Registration happens once, at library load, before any thread can be inside
// either side: a heavy side that ran before registration would only fence,
// and a light side after it would not, which together order nothing. Where
// membarrier is unavailable (old kernel, seccomp) or under TSan (which does
// not model it) both sides use std::atomic_thread_fence(seq_cst).
#pragma once

#include <goro/detail/asymmetric_barrier.hpp>

namespace goro::inline GORO_ABI::detail {

/// The rare side: a full barrier on every CPU running one of our threads.
void asymmetric_heavy_barrier() noexcept;

} // namespace goro::detail
