#include <goro/config.hpp>
#include "base/fatal.hpp"

#include <cstdio>
#include <cstdlib>

namespace goro::inline GORO_ABI::detail {

void vfatal(fmt::string_view format, fmt::format_args args) noexcept
{
    try {
        fmt::print(stderr, "fatal error: {}\n", fmt::vformat(format, args));
    } catch (...) { // out of memory while formatting: the bare format still names the error
        std::fputs("fatal error: ", stderr);
        std::fwrite(format.data(), 1, format.size(), stderr);
        std::fputc('\n', stderr);
    }
    std::fflush(stderr);
    std::abort();
}

} // namespace goro::detail
