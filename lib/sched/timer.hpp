// Timers as the layers above the scheduler see them: a runtime_timer node
// (goro/detail/timer.hpp) that the owner embeds, arms and disarms. Channels,
// select and lib/time include this header and park.hpp, and no other part
// of lib/sched. The protocol (the per-P heaps, who fires, the wait of an
// idle P) is at the top of timer.cpp.
#pragma once

#include <goro/detail/goroutine.hpp>
#include <goro/detail/timer.hpp>

#include <cstddef>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// detail::ready for a fire function: queues `g` at the tail of the current
/// P's run queue, not in runnext, so that the goroutines one batch of due
/// timers wakes run in deadline order (a fire is no partner that `g` talks
/// to, which is what runnext is for). From a thread without a P, as ready.
void ready_in_order(goroutine& g) noexcept;

/// The object of type W that holds `t` as its member `node` (W is
/// standard-layout). For fire functions.
template <class W>
W& timer_owner(runtime_timer& t) noexcept
{
    return *reinterpret_cast<W*>(reinterpret_cast<char*>(&t) - offsetof(W, node));
}

} // namespace goro::detail
