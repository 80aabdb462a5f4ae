// The blocking pool (pool.cpp) as the rest of the library sees it: the
// runtime configures it when a run starts; tests read its counts.
#pragma once

#include <goro/config.hpp>

#include <cstddef>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// runtime_config::max_blocking_threads and blocking_keep_alive by default.
inline constexpr std::size_t default_max_blocking_threads = 512;
inline constexpr std::int64_t default_blocking_keep_alive_ns = 10'000'000'000;

/// Sets the pool's thread limit (at least 1) and keep-alive (at least 0).
/// Idle threads above a lowered limit exit at once; busy ones when their call
/// returns. Idle threads measure their idleness against the new keep-alive.
void blocking_configure(std::size_t max_threads, std::int64_t keep_alive_ns) noexcept;

/// A snapshot of the pool, for tests.
struct blocking_counts {
    std::size_t threads; // started and not yet retired
    std::size_t idle;    // waiting for a call, not yet claimed by one
    std::size_t running; // calls whose fn runs
    std::size_t queued;  // calls waiting for a thread
};
blocking_counts blocking_pool_counts() noexcept;

} // namespace goro::detail
