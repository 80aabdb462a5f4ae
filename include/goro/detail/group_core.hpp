// The library's side of goro::group (goro/group.hpp), declared apart from
// the templates so that lib/context/group.cpp needs no entry-point header.
#pragma once

#include <goro/config.hpp>
#include <goro/context.hpp>
#include <goro/semaphore.hpp>
#include <goro/wait_group.hpp>

#include <exception>
#include <system_error>

namespace goro::inline GORO_ABI::detail {

/// A group's shared state (lib/context/group.cpp); opaque here.
struct group_state;

/// A group with a context derived from *parent, or with none (nullptr).
GORO_API group_state* group_create(const context* parent);
GORO_API void group_retain(group_state* s) noexcept;
GORO_API void group_release(group_state* s) noexcept;
/// The group's context (background for a group made without one).
GORO_API context group_context(const group_state* s) noexcept;
/// The limit's semaphore, nullptr without a limit.
GORO_API semaphore* group_limit(group_state* s) noexcept;
GORO_API void group_set_limit(group_state* s, int n);
/// A member is about to start (the counter goes up).
GORO_API void group_started(group_state* s);
/// A member ended with `ec` or `ex` (both empty: success), or never started
/// (both empty); gives back its token if `limited`.
GORO_API void group_finished(group_state* s, std::error_code ec, std::exception_ptr ex, bool limited) noexcept;
/// Marks the group waited for (throws goro::panic the second time).
GORO_API wait_group& group_wait_begin(group_state* s);
/// After the wait: cancels the context; rethrows the first failure if it
/// was an exception, else returns the first error.
GORO_API std::error_code group_result(group_state* s);
/// Throws goro::panic: go() with a limit of 0.
[[noreturn]] GORO_API void group_throw_zero_limit();

} // namespace goro::detail
