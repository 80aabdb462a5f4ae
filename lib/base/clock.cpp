#include <goro/config.hpp>
#include "base/clock.hpp"

#include <ctime>

namespace goro::inline GORO_ABI::detail {

std::int64_t monotonic_ns() noexcept
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace goro::detail
