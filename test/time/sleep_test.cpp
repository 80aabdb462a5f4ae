// goro::sleep and goro::sleep_until: never early, deadline order at one P,
// many concurrent sleepers, d <= 0, and a timer armed while every P is idle
// (no lost wakeup). No assertion depends on how fast anything runs: only on
// order and on "not before the deadline".
#include "base/clock.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using goro::detail::monotonic_ns;

namespace {

// Forwards to a sleep awaiter and records whether it parked (a sleep whose
// deadline passed before it started completes at once). `parked` is written
// before the awaiter publishes the goroutine, and after only if it did not.
struct recording_sleep {
    goro::detail::sleep_awaiter a;
    bool* parked;
    bool await_ready() noexcept { return a.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h)
    {
        *parked = true;
        if (a.await_suspend(h))
            return true;
        *parked = false;
        return false;
    }
    void await_resume() noexcept { a.await_resume(); }
};

struct wake {
    int who;
    bool parked;
    std::int64_t at;
};

goro::task<> sleeper_until(int who, std::int64_t deadline, std::vector<wake>* log, goro::wait_group* wg)
{
    bool parked = false;
    co_await recording_sleep{goro::sleep_until(goro::detail::ns_time_point(deadline)), &parked};
    log->push_back({who, parked, monotonic_ns()});
    wg->done();
}

goro::task<std::vector<wake>> order_at_one_p(std::vector<std::int64_t> deadlines)
{
    std::vector<wake> log;
    goro::wait_group wg;
    wg.add(int(deadlines.size()));
    for (int i = 0; i < int(deadlines.size()); ++i)
        goro::go(sleeper_until(i, deadlines[std::size_t(i)], &log, &wg));
    co_await wg.wait();
    co_return log;
}

} // namespace

TEST_CASE("sleep_until at one P: the sleepers wake in deadline order, none early", "[sleep]")
{
    // Distinct deadlines 1 ms apart in a shuffled order of start. A sleeper
    // whose deadline passed before it could park (a loaded machine) returns
    // at once and is left out of the order check.
    std::mt19937 rng(7);
    std::vector<std::int64_t> deadlines;
    const std::int64_t base = monotonic_ns() + 30'000'000;
    for (int i = 0; i < 100; ++i)
        deadlines.push_back(base + std::int64_t(i) * 1'000'000);
    std::shuffle(deadlines.begin(), deadlines.end(), rng);

    goro::runtime rt(goro::runtime_config{1});
    auto log = rt.run(order_at_one_p(deadlines));
    REQUIRE(log.size() == deadlines.size());
    std::int64_t last = 0;
    int parked = 0;
    for (const wake& w : log) {
        const std::int64_t d = deadlines[std::size_t(w.who)];
        CHECK(w.at >= d); // never early
        if (!w.parked)
            continue;
        ++parked;
        CHECK(d > last); // deadline order
        last = d;
    }
    CHECK(parked > 0);
}

namespace {

goro::task<> sleep_for_and_check(std::int64_t ns, std::atomic<long>* early, std::atomic<long>* woke,
                                 goro::wait_group* wg)
{
    const std::int64_t start = monotonic_ns();
    co_await goro::sleep(std::chrono::nanoseconds(ns));
    if (monotonic_ns() < start + ns)
        early->fetch_add(1);
    woke->fetch_add(1);
    wg->done();
}

goro::task<long> many_sleepers(int n, std::atomic<long>* early)
{
    std::atomic<long> woke{0};
    goro::wait_group wg;
    wg.add(n);
    for (int i = 0; i < n; ++i)
        goro::go(sleep_for_and_check(1'000'000 + std::int64_t(i % 97) * 20'000, early, &woke, &wg));
    co_await wg.wait();
    co_return woke.load();
}

} // namespace

TEST_CASE("sleep: 100,000 concurrent sleepers all wake, none early", "[sleep]")
{
    for (unsigned procs : {1u, 2u}) {
        std::atomic<long> early{0};
        goro::runtime rt(goro::runtime_config{procs});
        const long woke = rt.run(many_sleepers(100'000, &early));
        CHECK(early.load() == 0);
        CHECK(woke == 100'000);
    }
}

namespace {

goro::task<int> zero_and_negative()
{
    int n = 0;
    co_await goro::sleep(0ns);
    ++n;
    co_await goro::sleep(-5s);
    ++n;
    co_await goro::sleep_until(std::chrono::steady_clock::now() - 1s);
    ++n;
    for (int i = 0; i < 1000; ++i) // spends the budget and yields now and then: no hang
        co_await goro::sleep(0ns);
    co_return n;
}

} // namespace

TEST_CASE("sleep: d <= 0 and a past deadline return at once", "[sleep]")
{
    goro::runtime rt(goro::runtime_config{1});
    CHECK(rt.run(zero_and_negative()) == 3);
}

namespace {

// The main goroutine sleeps while nothing else is runnable: every P goes
// idle, and one of them must wake for the timer.
goro::task<std::int64_t> sleep_alone(std::int64_t ns)
{
    const std::int64_t deadline = monotonic_ns() + ns;
    co_await goro::sleep(std::chrono::nanoseconds(ns));
    co_return monotonic_ns() - deadline;
}

goro::task<> sleep_then_send(goro::chan<int> ch, int v, std::int64_t ns)
{
    co_await goro::sleep(std::chrono::nanoseconds(ns));
    co_await ch.send(v);
}

// Sleepers started from a goroutine that then parks on a channel: its P
// and every other go idle with only timers pending.
goro::task<int> idle_with_timers()
{
    goro::chan<int> ch(0);
    goro::go(sleep_then_send(ch, 1, 3'000'000));
    goro::go(sleep_then_send(ch, 2, 6'000'000));
    int sum = 0;
    for (int i = 0; i < 2; ++i)
        sum += *co_await ch.recv();
    co_return sum;
}

} // namespace

TEST_CASE("sleep: a timer armed while every P is idle fires", "[sleep]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        for (int round = 0; round < 20; ++round) {
            CHECK(rt.run(sleep_alone(2'000'000)) >= 0);
            CHECK(rt.run(idle_with_timers()) == 3);
        }
    }
}

namespace {

// A thread without a P arms a timer (on P 0) while main is parked on its
// channel and every P sleeps: the arm must wake a P to fire it.
goro::task<bool> timer_armed_from_outside()
{
    goro::timer t(1h);
    t.stop();
    goro::timer* tp = &t;
    std::thread outside([tp] { tp->reset(1ms); });
    auto v = co_await t.c().recv();
    outside.join();
    co_return v.has_value();
}

} // namespace

TEST_CASE("timer: armed from a thread without a P while every P is idle, it fires", "[sleep]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        for (int round = 0; round < 20; ++round)
            CHECK(rt.run(timer_armed_from_outside()));
    }
}
