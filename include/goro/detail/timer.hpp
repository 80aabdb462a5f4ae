// The runtime timer node, as users' binaries compile it in: an awaiter that
// sleeps or a select's after() case embeds one, so waiting allocates
// nothing. Its layout is part of the ABI; its protocol (arm, disarm, who
// fires, the per-P heaps) is the library's, written at the top of
// lib/sched/timer.cpp.
#pragma once

#include <goro/config.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

struct timer_heap;

/// A timer of the runtime (Go's runtime.timer): it lives in its owner's
/// memory and calls `fire` on a worker thread once its deadline passed.
///
/// - arm(when_ns): (re)arms it for `when_ns` (CLOCK_MONOTONIC nanoseconds) on
///   the current P's heap (from a thread without a P: P 0's; with no runtime
///   running, or while a run ends: not at all). Arming an armed timer moves
///   it. Never suspends or throws.
/// - disarm(): true if it took the timer out of a heap before it fired (the
///   fire it prevented will never run); false if it was not armed. Either
///   way, when disarm returns, `fire` is neither running nor will run,
///   unless disarm is called from inside this timer's own fire. It waits
///   for a fire in progress on another thread (fires are short).
/// - fire runs with no heap lock held; it may arm its own timer again (a
///   ticker) and arm or disarm others, but must not disarm a timer whose fire
///   may be waiting to disarm this one.
/// - The owner calls disarm() before freeing or reusing the node, unless it
///   knows the node is neither armed nor firing: after a fire readied a
///   goroutine, that goroutine may resume before the worker that fired
///   has finished with the node.
/// - arm and disarm on one node are not called concurrently, except that
///   fire may arm its own node while disarm runs elsewhere.
/// At the end of a run every heap is emptied: a node still armed then is
/// simply no longer armed (its fire never runs), and disarm on it afterwards
/// touches nothing of the finished run.
struct runtime_timer {
    using fire_fn = void (*)(runtime_timer&) noexcept;

    explicit runtime_timer(fire_fn f) noexcept : fire(f) {}
    runtime_timer(const runtime_timer&) = delete;
    runtime_timer& operator=(const runtime_timer&) = delete;

    GORO_API void arm(std::int64_t when_ns) noexcept;
    GORO_API bool disarm() noexcept;

    // --- Immutable ---
    fire_fn fire;
    // --- The library's (lib/sched/timer.cpp, "Fields") ---
    std::int64_t when = 0;
    std::atomic<timer_heap*> heap{nullptr};
    std::atomic<const void*> firing{nullptr};
    std::uint32_t slot = 0;
};

/// Nanoseconds in `d`, rounded up (a wait never ends early), clamped to
/// +-2^62 (146 years) so that adding it to a clock reading cannot overflow.
template <class Rep, class Period>
constexpr std::int64_t duration_ns(std::chrono::duration<Rep, Period> d) noexcept
{
    using namespace std::chrono;
    constexpr std::int64_t cap = std::int64_t(1) << 62;
    if (duration<double>(d) >= duration<double>(nanoseconds(cap)))
        return cap;
    if (duration<double>(d) <= duration<double>(nanoseconds(-cap)))
        return -cap;
    return ceil<nanoseconds>(d).count();
}

/// A steady_clock time point (CLOCK_MONOTONIC on Linux, goro's clock) in
/// nanoseconds, and back.
inline std::int64_t time_point_ns(std::chrono::steady_clock::time_point t) noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::chrono::steady_clock::time_point ns_time_point(std::int64_t ns) noexcept
{
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ns)));
}

} // namespace goro::detail
