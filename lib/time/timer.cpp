// goro::timer and goro::ticker: a runtime_timer whose fire sends the time on
// a channel of capacity 1 (Go 1.23's timer channels).
//
// # Go 1.23's guarantee: no stale value after stop or reset
// fire sends with try_send, so a value that finds the channel full (a
// ticker's receiver is slow) is dropped, never queued: the channel holds at
// most one value. stop() disarms the node — after which no fire runs or
// will run (the runtime_timer contract) — and then takes any value out of
// the channel. So after stop() returns nothing sent before it can be
// received. reset() does the same, then arms again. A receiver parked on
// the channel when the timer fired got the value straight from fire, before
// stop() returned: that receive happened first, and stop() reports false,
// as Go's does when the value was received.
//
// # Locking
// `mu` serializes stop and reset (several goroutines may call them at once)
// and so satisfies the node's rule that arm and disarm do not race. fire
// never takes it: it only arms its own node (a ticker) and sends, so
// stop()'s disarm can wait for a fire in progress while holding `mu`.
//
// # Ticker deadlines
// fire re-arms at when + period, skipping whole periods already past (Go's
// t.when += t.period * (1 + -delta/t.period)), so a P that was busy for a
// while yields one tick, not a backlog.
//
// The timer's memory is the library's (one allocation per goro::timer),
// since the user's object may move. Its destructor disarms the node before
// freeing it.

#include "base/clock.hpp"
#include "sched/timer.hpp"

#include <goro/detail/spinlock.hpp>
#include <goro/timer.hpp>

#include <mutex>

namespace goro::inline GORO_ABI::detail {

using time_point = std::chrono::steady_clock::time_point;

struct time_chan {
    explicit time_chan(std::int64_t period_ns) : period(period_ns), ch(1), rc(ch) {}

    runtime_timer node{&fire};
    // --- Guarded by mu (written by stop/reset); read by fire, which runs
    // between an arm and the disarm that waits for it ---
    std::int64_t period;
    spinlock mu;
    // --- Immutable ---
    chan<time_point> ch;
    recv_chan<time_point> rc;

    static void fire(runtime_timer& t) noexcept
    {
        auto& s = timer_owner<time_chan>(t);
        const std::int64_t now = monotonic_ns();
        if (s.period > 0) {
            std::int64_t next = t.when + s.period;
            if (next <= now)
                next += s.period * ((now - next) / s.period + 1);
            t.arm(next);
        }
        time_point v = ns_time_point(now);
        (void)s.ch.try_send(std::move(v)); // full: a slow receiver misses this one
    }

    // mu held.
    bool stop_locked() noexcept
    {
        const bool prevented = node.disarm();
        const bool dropped = ch.try_recv().has_value();
        return prevented || dropped;
    }
};

time_chan* time_chan_create(std::int64_t first_ns, std::int64_t period_ns)
{
    auto* t = new time_chan(period_ns);
    t->node.arm(monotonic_ns() + first_ns);
    return t;
}

void time_chan_destroy(time_chan* t) noexcept
{
    t->node.disarm();
    delete t;
}

const recv_chan<time_point>& time_chan_c(const time_chan* t) noexcept
{
    return t->rc;
}

bool time_chan_stop(time_chan* t) noexcept
{
    std::lock_guard lock(t->mu);
    return t->stop_locked();
}

bool time_chan_reset(time_chan* t, std::int64_t ns, std::int64_t period_ns) noexcept
{
    std::lock_guard lock(t->mu);
    const bool was = t->stop_locked();
    t->period = period_ns;
    t->node.arm(monotonic_ns() + ns);
    return was;
}

} // namespace goro::detail
