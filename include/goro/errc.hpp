// goro::errc: the runtime's error codes (Go's context.Canceled and
// context.DeadlineExceeded), as a std::error_code category.
#pragma once

#include <goro/config.hpp>

#include <system_error>
#include <type_traits>

namespace goro::inline GORO_ABI {

/// Why a wait ended without its result. Values start at 1: an empty
/// std::error_code (value 0) means "no error".
///
/// - canceled: the context was cancelled (Go's context.Canceled); compares
///   equal to std::errc::operation_canceled.
/// - deadline_exceeded: the context's deadline passed (Go's
///   context.DeadlineExceeded); compares equal to std::errc::timed_out.
///
/// `ec == goro::errc::canceled` is Go's `errors.Is(err, context.Canceled)`.
enum class errc : int {
    canceled = 1,
    deadline_exceeded = 2,
};

/// The category of goro::errc ("goro"). One object per process.
GORO_API const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace goro

template <>
struct std::is_error_code_enum<goro::errc> : std::true_type {};
