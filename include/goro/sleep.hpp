// goro::sleep and goro::sleep_until: Go's time.Sleep.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/timer.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>

namespace goro::inline GORO_ABI {

namespace detail {

/// A sleeping goroutine's record, in its awaiter: the waiter detail::park
/// publishes and the timer that readies it. The library owns every field.
struct sleep_waiter {
    parked_on parked;
    runtime_timer node{nullptr};
    goroutine* g;
    /// The node may be armed or firing: disarm it before the frame goes.
    bool armed = false;
};

/// Parks the running goroutine until CLOCK_MONOTONIC reaches `deadline_ns`;
/// completes at once (false, or a yield with no budget left) if it already
/// has. Throws goro::panic outside a goroutine.
GORO_API bool sleep_park(sleep_waiter& w, std::int64_t deadline_ns, std::coroutine_handle<> leaf);
/// Parks for `ns` from now; ns <= 0 completes at once without reading the
/// clock.
GORO_API bool sleep_park_for(sleep_waiter& w, std::int64_t ns, std::coroutine_handle<> leaf);
/// Disarms w's timer (waiting for a fire in progress elsewhere).
GORO_API void sleep_end(sleep_waiter& w) noexcept;

class [[nodiscard]] sleep_awaiter {
public:
    sleep_awaiter(std::int64_t ns, bool absolute) noexcept : ns_(ns), absolute_(absolute) {}
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    /// A sleep destroyed parked (its goroutine destroyed at the end of a
    /// run) leaves no armed timer behind.
    ~sleep_awaiter()
    {
        if (w_.armed)
            sleep_end(w_);
    }

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> leaf)
    {
        return absolute_ ? sleep_park(w_, ns_, leaf) : sleep_park_for(w_, ns_, leaf);
    }
    void await_resume() noexcept
    {
        if (w_.armed)
            sleep_end(w_);
    }

private:
    std::int64_t ns_;
    bool absolute_;
    sleep_waiter w_;
};

} // namespace detail

/// `co_await goro::sleep(d)`: Go's time.Sleep(d). Parks the goroutine (its
/// worker runs others) until at least `d` has passed on the monotonic clock
/// (std::chrono::steady_clock), then resumes it on the P that fires its
/// timer. Never resumes early; how late depends on how busy the Ps are (a
/// P checks its due timers each time it switches goroutines, and an idle P
/// sleeps until the earliest timer). d <= 0 returns at once without
/// suspending, as Go's does (spending one unit of the cooperative budget, so
/// a loop of sleep(0) still yields now and then). At the end of a run a
/// sleeping goroutine is destroyed like any parked one; its timer is
/// disarmed. Throws goro::panic outside a goroutine. Allocates nothing.
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> d) noexcept
{
    return {detail::duration_ns(d), false};
}

/// `co_await goro::sleep_until(t)`: sleeps until steady_clock reaches `t`;
/// returns at once if it already has. Otherwise as goro::sleep.
template <class Duration>
detail::sleep_awaiter sleep_until(std::chrono::time_point<std::chrono::steady_clock, Duration> t) noexcept
{
    return {detail::time_point_ns(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t)), true};
}

} // namespace goro
