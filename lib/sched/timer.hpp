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

/// detail::ready for a fire function: queues `g` on the current P's list of
/// timer-woken goroutines, which runs first and in deadline order
/// (scheduler.cpp, "Timers"), or at its run queue's tail when that list is
/// full. From a thread without a P, as ready.
void ready_in_order(goroutine& g) noexcept;

/// The object of type W that holds `t` as its member `node` (W is
/// standard-layout). For fire functions.
template <class W>
W& timer_owner(runtime_timer& t) noexcept
{
    return *reinterpret_cast<W*>(reinterpret_cast<char*>(&t) - offsetof(W, node));
}

} // namespace goro::detail
