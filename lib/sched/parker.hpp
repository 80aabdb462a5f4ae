// Where an idle worker sleeps, and how another thread wakes it.
//
// This is the seam the netpoller plugs into: today an idle worker blocks on a
// futex; with the netpoller it blocks in its ring's wait (io_uring_enter, or
// epoll_pwait2) with the same deadline, and unpark() becomes the eventfd /
// MSG_RING doorbell. The scheduler only ever calls park(deadline) and unpark().
//
// States (Tokio's park.rs): empty -> parked by the owner inside park();
// any -> notified by unpark() (a swap, so a notification is never lost between
// the owner's check and its sleep); park() consumes a notification.
#pragma once

#include <goro/config.hpp>

#include <atomic>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

class parker {
public:
    /// Owner thread only. Returns after an unpark() (possibly one that happened
    /// before the call), when `deadline_ns` (CLOCK_MONOTONIC; < 0 = none) has
    /// passed, or spuriously. Callers re-check their condition.
    void park(std::int64_t deadline_ns) noexcept;
    /// Any thread. Wakes the owner, or makes its next park() return at once.
    void unpark() noexcept;

private:
    static constexpr std::uint32_t empty = 0, parked = 1, notified = 2;
    std::atomic<std::uint32_t> state_{empty};
};

} // namespace goro::detail
