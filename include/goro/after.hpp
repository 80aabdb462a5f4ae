// goro::after: Go's time.After as a select case.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/chan_core.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/timer.hpp>
#include <goro/select.hpp>

#include <chrono>
#include <cstdint>

namespace goro::inline GORO_ABI {

namespace detail {

/// An after() case's state, in the select's frame. Until the select parks
/// only `ns` and `armed` are set: the library (select.cpp) constructs `node`
/// and fills in the rest when it arms the case, and a select that completes
/// without parking never touches it. `armed` tells the library (pass 3) and
/// the destructor whether `node` exists.
struct timer_case {
    explicit timer_case(std::int64_t d) noexcept : ns(d) {}
    timer_case(timer_case&& o) noexcept : ns(o.ns) {} // only before use
    timer_case& operator=(timer_case&&) = delete;
    ~timer_case()
    {
        if (armed)
            node.~runtime_timer(); // disarmed by then (pass 3); trivial in effect
    }

    union {
        runtime_timer node;
    };
    select_state* sel;
    goroutine* g;
    std::int64_t ns;        // the duration, from when the select parks
    std::int64_t fired_at;  // CLOCK_MONOTONIC when it fired (written by the winner)
    std::uint16_t case_index;
    bool armed = false;
};

} // namespace detail

/// The select case goro::after returns.
class [[nodiscard]] after_case {
public:
    explicit after_case(std::int64_t ns) noexcept : tc_(ns) {}
    /// The time the case fired (steady_clock).
    std::chrono::steady_clock::time_point await_resume() const noexcept
    {
        return detail::ns_time_point(tc_.fired_at);
    }

private:
    friend struct detail::case_traits<after_case>;
    detail::timer_case tc_;
};

namespace detail {
template <>
struct case_traits<after_case> {
    static constexpr bool is_default = false;
    using value = std::chrono::steady_clock::time_point;
    static select_case describe(after_case& a) noexcept { return {nullptr, nullptr, &a.tc_, case_kind::timer}; }
};
} // namespace detail

/// `goro::after(d)` as a case of goro::select: Go's `case <-time.After(d):`.
/// It fires `d` after the select parks, if no other case fired first; the
/// select's result then has its index, and get<I>() the steady_clock time it
/// fired. d <= 0: ready at once, chosen if no channel case is ready when the
/// select polls.
///
/// It costs nothing unless the select parks: the case allocates nothing,
/// takes no lock and arms no timer while the select polls. Only a parking
/// select arms it (on its P's timer heap); whichever of the timer and a
/// channel completes the select first wins, as between channel cases, and
/// the select disarms the timer of a case that did not fire before it
/// resumes. A select destroyed parked at the end of a run disarms it too. So
/// an after() never fires late into a select that is gone, and costs
/// nothing after its select ended (Go's timers live on until they fire).
/// Only a select case: `co_await goro::sleep(d)` is the plain wait.
template <class Rep, class Period>
after_case after(std::chrono::duration<Rep, Period> d) noexcept
{
    return after_case(detail::duration_ns(d));
}

} // namespace goro
