// goro::timer and goro::ticker with Go 1.23's semantics: stop and reset
// return what Go's do, no stale value after either returns (also while the
// timer fires on another P), a ticker drops ticks for a slow receiver and
// never delivers a backlog. Timing only ever bounds from below ("not
// early"); at one P the order of fires is the order of deadlines.
#include "base/clock.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;
using goro::detail::monotonic_ns;
using goro::detail::time_point_ns;

namespace {

goro::task<std::string> timer_basics()
{
    std::string log;
    // Fires once, not early; then stop finds nothing to stop.
    const std::int64_t start = monotonic_ns();
    goro::timer t(1ms);
    auto v = co_await t.c().recv();
    log += (v && time_point_ns(*v) >= start + 1'000'000) ? "fired " : "EARLY ";
    log += t.stop() ? "T" : "F";
    log += t.c().try_recv() ? "V" : "-";
    // Stopped before it fired.
    goro::timer u(1h);
    log += u.stop() ? "T" : "F";
    log += u.stop() ? "T" : "F";
    // Fired but not received (the 1 ms timer fires before the 5 ms sleep
    // ends: at one P fires run in deadline order): stop drops the value and
    // reports true (Go 1.23).
    goro::timer w(1ms);
    co_await goro::sleep(5ms);
    log += w.stop() ? "T" : "F";
    log += w.c().try_recv() ? "V" : "-";
    co_return log;
}

goro::task<std::string> timer_reset()
{
    std::string log;
    goro::timer t(1ms);
    co_await goro::sleep(5ms); // fired, not received
    log += t.reset(1h) ? "T" : "F"; // the value is dropped, so it was "active"
    log += t.c().try_recv() ? "V" : "-";
    log += t.reset(1h) ? "T" : "F"; // pending: stopped
    log += t.stop() ? "T" : "F";
    log += t.reset(2ms) ? "T" : "F"; // already stopped
    const std::int64_t armed = monotonic_ns();
    auto v = co_await t.c().recv();
    log += (v && time_point_ns(*v) >= armed + 2'000'000) ? " fired" : " EARLY";
    log += t.reset(-1s) ? "T" : "F"; // received: not active; d <= 0 fires at once
    auto w = co_await t.c().recv();
    log += w ? "V" : "-";
    co_return log;
}

} // namespace

TEST_CASE("timer: stop and reset return what Go 1.23's do", "[timer]")
{
    goro::runtime rt(goro::runtime_config{1});
    CHECK(rt.run(timer_basics()) == "fired F-TFT-");
    CHECK(rt.run(timer_reset()) == "T-TTF firedFV");
}

namespace {

// Resets the timer to fire within microseconds, lets it race, stops it.
// With no receiver, every stop must report true (a pending fire prevented,
// or its value dropped), and nothing may be left to receive after it.
goro::task<long> stop_while_firing(int rounds, std::atomic<long>* progress)
{
    goro::timer t(1h);
    long bad = 0;
    for (int i = 0; i < rounds; ++i) {
        t.reset(std::chrono::nanoseconds(i % 40 * 1000));
        for (int k = 0; k < i % 7; ++k)
            co_await goro::yield();
        if (!t.stop())
            ++bad;
        if (t.c().try_recv())
            ++bad;
        progress->fetch_add(1);
    }
    co_return bad;
}

goro::task<> count_receives(goro::recv_chan<goro::timer::clock::time_point> c, goro::chan<int> quit,
                            std::atomic<long>* received)
{
    for (;;) {
        auto r = co_await goro::select(c.recv(), quit.recv());
        if (r.index() == 1)
            co_return;
        received->fetch_add(1);
    }
}

// A receiver takes values while the main goroutine resets and stops: each
// arming ends with exactly one of "received" or "stop returned true", so
// stops returning false equal values received (a stale value received
// after a stop that reported true would break the equality).
goro::task<bool> stop_against_receiver(int rounds, std::atomic<long>* progress)
{
    goro::timer t(1h);
    t.stop();
    goro::chan<int> quit(0);
    std::atomic<long> received{0};
    goro::go(count_receives(t.c(), quit, &received));
    long falses = 0;
    for (int i = 0; i < rounds; ++i) {
        t.reset(std::chrono::nanoseconds(i % 30 * 1000));
        for (int k = 0; k < i % 5; ++k)
            co_await goro::yield();
        if (!t.stop())
            ++falses;
        progress->fetch_add(1);
    }
    co_await quit.send(1); // the receiver has taken everything it will take
    co_return falses == received.load();
}

} // namespace

TEST_CASE("timer: stop races a fire on another P; no stale value after it returns", "[timer]")
{
    std::atomic<long> progress{0};
    goro_test::watchdog dog(progress, "timer stop race stalled");
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        CHECK(rt.run(stop_while_firing(3000, &progress)) == 0);
        CHECK(rt.run(stop_against_receiver(3000, &progress)));
    }
}

namespace {

goro::task<std::string> ticker_slow_receiver()
{
    std::string log;
    goro::ticker t(1ms);
    const std::int64_t start = monotonic_ns();
    int received = 0;
    for (int i = 0; i < 5; ++i) {
        co_await goro::sleep(6ms); // misses about 5 ticks each time
        // Exactly one tick waits: the missed ones were dropped, no burst.
        // (At one P no timer fires between these two receives.)
        if (t.c().try_recv())
            ++received;
        if (t.c().try_recv())
            log += "BURST ";
    }
    const std::int64_t elapsed = monotonic_ns() - start;
    log += std::to_string(received);
    log += received < elapsed / 1'000'000 ? " dropped" : " KEPT";
    co_return log;
}

goro::task<std::string> ticker_not_early()
{
    std::string log;
    const std::int64_t start = monotonic_ns();
    goro::ticker t(2ms);
    for (int i = 1; i <= 5; ++i) {
        auto v = co_await t.c().recv();
        if (!v || time_point_ns(*v) < start + i * 2'000'000)
            log += "EARLY ";
    }
    t.stop();
    co_await goro::sleep(10ms);
    log += t.c().try_recv() ? "stale" : "stopped";
    const std::int64_t reset_at = monotonic_ns();
    t.reset(3ms);
    auto v = co_await t.c().recv();
    log += (v && time_point_ns(*v) >= reset_at + 3'000'000) ? " reset" : " EARLY";
    co_return log;
}

} // namespace

TEST_CASE("ticker: a slow receiver gets one tick, not a backlog; ticks are never early", "[ticker]")
{
    goro::runtime rt(goro::runtime_config{1});
    CHECK(rt.run(ticker_slow_receiver()) == "5 dropped");
    CHECK(rt.run(ticker_not_early()) == "stopped reset");
}

TEST_CASE("ticker: a non-positive period throws goro::panic", "[ticker]")
{
    CHECK_THROWS_AS(goro::ticker(0ms), goro::panic);
    CHECK_THROWS_AS(goro::ticker(-1s), goro::panic);
    goro::ticker t(1h);
    CHECK_THROWS_AS(t.reset(0s), goro::panic);
}

TEST_CASE("timer: with no runtime running it never fires; stop finds nothing", "[timer]")
{
    goro::timer t(0ms);
    CHECK_FALSE(t.stop());
    CHECK_FALSE(t.c().try_recv());
    CHECK_FALSE(t.reset(1ms));
}
