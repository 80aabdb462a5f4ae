// What tests may ask of a context's state (lib/context/context.cpp).
#pragma once

#include <goro/context.hpp>

#include <cstddef>

namespace goro::inline GORO_ABI::detail {

/// How many children `c` has that are not cancelled (its list's length):
/// 0 for background.
std::size_t context_children(const context& c) noexcept;

} // namespace goro::detail
