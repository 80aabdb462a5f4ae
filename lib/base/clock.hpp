// The runtime's one clock.
#pragma once

#include <cstdint>

namespace goro::detail {

/// CLOCK_MONOTONIC in nanoseconds.
std::int64_t monotonic_ns() noexcept;

} // namespace goro::detail
