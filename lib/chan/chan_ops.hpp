// Channel steps shared by chan.cpp and select.cpp.
#pragma once

#include <goro/detail/chan_core.hpp>

namespace goro::inline GORO_ABI::detail {

/// Sends / receives if that can be done now. `c.lock` held on entry and on
/// return; a parked partner that got the handoff is returned in `wake`, to be
/// readied once every lock is released.
try_status send_now(chan_base& c, void* value, goroutine*& wake) noexcept;
try_status recv_now(chan_base& c, void* out, goroutine*& wake) noexcept;

} // namespace goro::detail
