// goro::after as a select case: it times out when no channel is ready, the
// channel wins when it is, the shortest of several afters wins, d <= 0 is
// ready at once, and a losing after is disarmed (it never fires into a
// select that is gone: ASan would see the frame freed under it).
#include "base/clock.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;
using goro::detail::monotonic_ns;
using goro::detail::time_point_ns;

namespace {

goro::task<> send_later(goro::chan<int> ch, int v)
{
    co_await goro::sleep(1ms);
    co_await ch.send(v);
}

goro::task<std::string> after_cases()
{
    std::string log;
    goro::chan<int> never(0);
    // Times out, not early; the value is when it fired.
    const std::int64_t start = monotonic_ns();
    auto r = co_await goro::select(never.recv(), goro::after(2ms));
    log += std::to_string(r.index());
    log += (monotonic_ns() >= start + 2'000'000 && time_point_ns(r.get<1>()) >= start + 2'000'000) ? "+" : "EARLY";
    // A ready channel wins without parking.
    goro::chan<int> ready(1);
    co_await ready.send(7);
    auto r2 = co_await goro::select(ready.recv(), goro::after(1h));
    log += " " + std::to_string(r2.index()) + ":" + std::to_string(*r2.get<0>());
    // A channel that becomes ready while the select is parked wins.
    goro::chan<int> later(0);
    goro::go(send_later(later, 9));
    auto r3 = co_await goro::select(goro::after(1h), later.recv());
    log += " " + std::to_string(r3.index()) + ":" + std::to_string(*r3.get<1>());
    // d <= 0: ready at once.
    auto r4 = co_await goro::select(never.recv(), goro::after(0s));
    log += " " + std::to_string(r4.index());
    auto r5 = co_await goro::select(goro::after(-1s), never.send(1));
    log += std::to_string(r5.index());
    // The shortest of several afters fires.
    auto r6 = co_await goro::select(goro::after(1h), goro::after(1ms), never.recv(), goro::after(30s));
    log += " " + std::to_string(r6.index());
    // Only afters.
    auto r7 = co_await goro::select(goro::after(1ms));
    log += std::to_string(r7.index());
    // A default beats a pending after.
    auto r8 = co_await goro::select(goro::after(1ms), goro::default_case);
    log += std::to_string(r8.index());
    // Beside a nil channel and a channel given twice.
    goro::chan<int> nil;
    auto r9 = co_await goro::select(nil.recv(), never.recv(), goro::after(1ms), never.recv());
    log += " " + std::to_string(r9.index());
    co_return log;
}

// Many selects whose after loses to a channel, each then gone: the losing
// timers are disarmed before the select's frame is.
goro::task<int> losing_afters(int rounds)
{
    goro::chan<int> ch(0);
    int got = 0;
    for (int i = 0; i < rounds; ++i) {
        goro::go(send_later(ch, i));
        auto r = co_await goro::select(ch.recv(), goro::after(std::chrono::seconds(10 + i % 3)));
        if (r.index() == 0)
            ++got;
    }
    co_return got;
}

} // namespace

TEST_CASE("select with after: timeout, ready channel, late channel, d <= 0, shortest, default", "[after]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        CHECK(rt.run(after_cases()) == "1+ 0:7 1:9 10 101 2");
        CHECK(rt.run(losing_afters(200)) == 200);
    }
}
