// The runtime's one clock.
#pragma once

#include <goro/config.hpp>

#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// CLOCK_MONOTONIC in nanoseconds.
std::int64_t monotonic_ns() noexcept;

} // namespace goro::detail
