// Fatal errors: a broken runtime invariant ends the process, as Go's throw().
#pragma once

#include <goro/config.hpp>

#include <fmt/format.h>

namespace goro::inline GORO_ABI::detail {

/// Prints "fatal error: <message>" to stderr and aborts. The message begins
/// with the subsystem ("sched: ...").
[[noreturn]] void vfatal(fmt::string_view format, fmt::format_args args) noexcept;

template <class... Args>
[[noreturn]] void fatal(fmt::format_string<Args...> format, Args&&... args) noexcept
{
    vfatal(format, fmt::make_format_args(args...));
}

} // namespace goro::detail
