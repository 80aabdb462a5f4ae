#include <goro/config.hpp>
#include "netpoll/sys.hpp"

#include "base/fatal.hpp"

#include <mutex>
#include <system_error>

namespace goro::inline GORO_ABI::detail {

std::string errno_text(int neg_errno)
{
    return std::generic_category().message(-neg_errno);
}

void throw_errno(const char* what, int neg_errno)
{
    throw std::system_error(-neg_errno, std::generic_category(), what);
}

void fatal_errno(const char* what, int neg_errno) noexcept
{
    try {
        fatal("netpoll: {}: {}", what, errno_text(neg_errno));
    } catch (...) { // no memory for the text: the number still says it
        fatal("netpoll: {}: errno {}", what, -neg_errno);
    }
}

namespace {
std::mutex ring_mapping_mu;
} // namespace

std::unique_lock<std::mutex> ring_mapping_lock() noexcept
{
    return std::unique_lock(ring_mapping_mu);
}

} // namespace goro::detail
