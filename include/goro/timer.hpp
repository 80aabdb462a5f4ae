// goro::timer: Go's time.Timer (time.NewTimer, Stop, Reset), with Go 1.23's
// semantics: no stale value after Stop or Reset.
#pragma once

#include <goro/chan.hpp>
#include <goro/config.hpp>
#include <goro/detail/timer.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

namespace goro::inline GORO_ABI {

namespace detail {

/// The state behind a goro::timer or goro::ticker (lib/time/timer.cpp).
struct time_chan;
GORO_API time_chan* time_chan_create(std::int64_t first_ns, std::int64_t period_ns);
GORO_API void time_chan_destroy(time_chan* t) noexcept;
GORO_API const recv_chan<std::chrono::steady_clock::time_point>& time_chan_c(const time_chan* t) noexcept;
/// Stops it and drops a value sent but not received; true if it stopped a
/// pending fire or dropped a value.
GORO_API bool time_chan_stop(time_chan* t) noexcept;
/// Stops it as time_chan_stop, then arms it `ns` from now with `period_ns`
/// (0: once); returns what the stop returned.
GORO_API bool time_chan_reset(time_chan* t, std::int64_t ns, std::int64_t period_ns) noexcept;

} // namespace detail

/// Go's *time.Timer: after a duration it sends the current time on its
/// channel c(), once.
///
/// - `goro::timer t(d)` is time.NewTimer(d): it fires `d` from now (d <= 0:
///   at the next check of a P's timers). Allocates its state once; throws
///   std::bad_alloc.
/// - c() is t.C: a receive-only channel of steady_clock time points. The
///   value is the time the timer fired. As in Go 1.23 it holds nothing the
///   timer sent before its last stop() or reset(): after either returns, no
///   receive gets a value from an earlier arming. A value not yet received
///   waits in the channel (capacity 1) until then.
/// - stop() is Stop: true if it stopped the timer before its value was
///   received (it had not fired, or fired and nobody received yet: the value
///   is dropped); false if it had already been received or stopped.
/// - reset(d) is Reset: stops as stop() does, then arms it `d` from now;
///   returns what stop() would have.
/// - Methods may be called from any goroutine or thread, concurrently; none
///   suspends, none throws. The destructor stops the timer; copies of c()
///   stay valid (they never receive).
/// - Timers fire on the Ps of a running runtime: a timer armed with no
///   runtime running, or while a run ends, never fires, and the end of a run
///   drops every armed timer (reset() in a later run arms it again).
///   Moved-from timers hold nothing; only destruction and assignment are
///   valid on them.
class timer {
public:
    using clock = std::chrono::steady_clock;

    template <class Rep, class Period>
    explicit timer(std::chrono::duration<Rep, Period> d) : t_(detail::time_chan_create(detail::duration_ns(d), 0))
    {
    }
    timer(timer&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    timer& operator=(timer&& o) noexcept
    {
        std::swap(t_, o.t_);
        return *this;
    }
    ~timer()
    {
        if (t_)
            detail::time_chan_destroy(t_);
    }

    const recv_chan<clock::time_point>& c() const noexcept { return detail::time_chan_c(t_); }
    bool stop() noexcept { return detail::time_chan_stop(t_); }
    template <class Rep, class Period>
    bool reset(std::chrono::duration<Rep, Period> d) noexcept
    {
        return detail::time_chan_reset(t_, detail::duration_ns(d), 0);
    }

private:
    detail::time_chan* t_;
};

} // namespace goro
