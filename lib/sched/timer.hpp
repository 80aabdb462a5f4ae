// Timers as the layers above the scheduler see them: a runtime_timer node
// (goro/detail/timer.hpp) that the owner embeds, arms and disarms. Channels,
// select and lib/time include this header and park.hpp, and no other part
// of lib/sched. The protocol (the per-P heaps, who fires, the wait of an
// idle P) is at the top of timer.cpp.
#pragma once

#include <goro/detail/timer.hpp>

#include <cstddef>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// The object of type W that holds `t` as its member `node` (W is
/// standard-layout). For fire functions.
template <class W>
W& timer_owner(runtime_timer& t) noexcept
{
    return *reinterpret_cast<W*>(reinterpret_cast<char*>(&t) - offsetof(W, node));
}

} // namespace goro::detail
