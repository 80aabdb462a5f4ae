// goro::ticker: Go's time.Ticker (time.NewTicker, Stop, Reset), with Go
// 1.23's semantics: no stale tick after Stop or Reset.
#pragma once

#include <goro/config.hpp>
#include <goro/panic.hpp>
#include <goro/timer.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

namespace goro::inline GORO_ABI {

/// Go's *time.Ticker: sends the current time on c() every period.
///
/// - `goro::ticker t(d)` is time.NewTicker(d): the first tick comes `d` from
///   now. Throws goro::panic if d <= 0, as Go panics ("non-positive
///   interval"), and std::bad_alloc.
/// - c() holds at most one tick: a receiver slower than the period misses
///   ticks (they are dropped, never queued), so it never gets a burst of old
///   ticks. The next deadline stays on the grid of the first one, skipping
///   periods that passed while a P was busy.
/// - stop() is Stop: no tick is sent after it returns, and a tick sent but
///   not received is dropped (Go 1.23). It does not close c().
/// - reset(d) is Reset: stops, then ticks every `d` from now; goro::panic if
///   d <= 0.
/// - Methods may be called from any goroutine or thread, concurrently; the
///   destructor stops it. Ticks need a running runtime, as goro::timer's.
class ticker {
public:
    using clock = std::chrono::steady_clock;

    template <class Rep, class Period>
    explicit ticker(std::chrono::duration<Rep, Period> d) : t_(make(detail::duration_ns(d)))
    {
    }
    ticker(ticker&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    ticker& operator=(ticker&& o) noexcept
    {
        std::swap(t_, o.t_);
        return *this;
    }
    ~ticker()
    {
        if (t_)
            detail::time_chan_destroy(t_);
    }

    const recv_chan<clock::time_point>& c() const noexcept { return detail::time_chan_c(t_); }
    void stop() noexcept { detail::time_chan_stop(t_); }
    template <class Rep, class Period>
    void reset(std::chrono::duration<Rep, Period> d)
    {
        const std::int64_t ns = detail::duration_ns(d);
        if (ns <= 0)
            throw panic("goro::ticker::reset: non-positive interval");
        detail::time_chan_reset(t_, ns, ns);
    }

private:
    static detail::time_chan* make(std::int64_t ns)
    {
        if (ns <= 0)
            throw panic("goro::ticker: non-positive interval");
        return detail::time_chan_create(ns, ns);
    }

    detail::time_chan* t_;
};

} // namespace goro
