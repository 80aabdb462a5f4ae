// goro::select: Go's semantics — a uniformly random choice among ready cases
// (checked statistically over many rounds), default, nil-channel cases that
// never fire, send and receive on the same channel, closed channels, a parked
// select woken exactly once, the cooperative budget, and a multi-P stress
// whose checksum proves no value is lost or duplicated.
#include "support/flag.hpp"
#include "support/send_counting.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

TEST_CASE("select: ready cases are chosen uniformly at random", "[select]")
{
    auto fn = []() -> goro::task<std::array<int, 4>> {
        goro::chan<int> a(1), b(1), c(1), d(1);
        std::array<int, 4> hits{};
        for (int round = 0; round < 4000; ++round) {
            for (auto* ch : {&a, &b, &c, &d})
                if (ch->size() == 0)
                    co_await ch->send(round);
            auto r = co_await goro::select(a.recv(), b.recv(), c.recv(), d.recv());
            ++hits[r.index()];
        }
        co_return hits;
    };
    auto hits = goro::run(fn());
    // Each case expects 1000 hits (sd ~27); the bounds are > 10 sd away.
    for (int h : hits) {
        CHECK(h > 700);
        CHECK(h < 1300);
    }
}

TEST_CASE("select: default when nothing is ready, nil channels never fire", "[select]")
{
    auto fn = []() -> goro::task<std::string> {
        std::string log;
        goro::chan<int> nil;
        goro::chan<int> empty(0);
        auto r1 = co_await goro::select(nil.recv(), empty.recv(), nil.send(1), goro::default_case);
        log += std::to_string(r1.index());
        auto r2 = co_await goro::select(goro::default_case, empty.recv());
        log += std::to_string(r2.index());
        goro::chan<int> full(1);
        co_await full.send(5);
        auto r3 = co_await goro::select(nil.recv(), full.recv(), goro::default_case);
        log += std::to_string(r3.index()) + ":" + std::to_string(*r3.get<1>());
        co_return log;
    };
    CHECK(goro::run(fn()) == "301:5");
}

TEST_CASE("select: send and receive on the same channel", "[select]")
{
    auto fn = []() -> goro::task<std::string> {
        goro::chan<int> ch(1);
        std::string log;
        // Empty buffer: only the send can proceed.
        auto r1 = co_await goro::select(ch.recv(), ch.send(7));
        log += std::to_string(r1.index());
        // Full buffer: only the receive can.
        auto r2 = co_await goro::select(ch.recv(), ch.send(8));
        log += std::to_string(r2.index()) + ":" + std::to_string(*r2.get<0>());
        co_return log;
    };
    CHECK(goro::run(fn()) == "10:7");
}

TEST_CASE("select: a parked select takes exactly one value", "[select]")
{
    auto fn = []() -> goro::task<std::string> {
        goro::chan<int> a(0), b(0), c(0);
        auto h = goro::spawn([](goro::chan<int> a, goro::chan<int> b, goro::chan<int> c) -> goro::task<int> {
            auto r = co_await goro::select(a.recv(), b.recv(), c.recv());
            co_return int(r.index()) * 100 + (r.index() == 0 ? *r.get<0>() : r.index() == 1 ? *r.get<1>() : *r.get<2>());
        }(a, b, c));
        for (int i = 0; i < 10; ++i)
            co_await goro::yield(); // the select parks
        goro::wait_group wg;
        wg.add(3);
        for (auto ch : {a, b, c})
            goro::go([](goro::chan<int> ch, int v, goro::wait_group* wg) -> goro::task<void> {
                co_await ch.send(v);
                wg->done();
            }, ch, ch == a ? 1 : ch == b ? 2 : 3, &wg);
        int got = co_await h;
        // The two senders the select did not take send (or wait to send) on
        // their channels: receive their values. Had the select taken a second
        // value, one of these receives would find no sender; the timeout only
        // turns that hang into a failure.
        int drained = 0;
        const goro::chan<int> chans[] = {a, b, c};
        for (int i = 0; i < 3; ++i)
            if (i != got / 100) {
                auto r = co_await goro::select(chans[i].recv(), goro::after(std::chrono::seconds(60)));
                if (r.index() == 0 && r.get<0>())
                    drained += *r.get<0>();
                else
                    co_return std::string("a sender's value is missing");
            }
        co_await wg.wait();
        co_return std::to_string(got % 100 + drained) + (got / 100 == got % 100 - 1 ? "ok" : "bad");
    };
    CHECK(goro::run(fn()) == "6ok");
}

TEST_CASE("select: closed channels", "[select]")
{
    auto fn = []() -> goro::task<std::string> {
        goro::chan<int> a(0), b(0);
        b.close();
        std::string log;
        auto r = co_await goro::select(a.recv(), b.recv());
        log += std::to_string(r.index()) + (r.get<1>() ? "v" : "n");
        try {
            co_await goro::select(a.recv(), b.send(1));
            log += "no panic";
        } catch (const goro::panic& e) {
            log += std::string(" ") + e.what();
        }
        try {
            r.get<0>();
        } catch (const goro::panic&) {
            log += " get-panics";
        }
        co_return log;
    };
    CHECK(goro::run(fn()) == "1n goro::chan: send on closed channel get-panics");
}

TEST_CASE("select: a parked select is woken by close", "[select]")
{
    auto fn = []() -> goro::task<int> {
        goro::chan<int> a(0), b(0);
        auto h = goro::spawn([](goro::chan<int> a, goro::chan<int> b) -> goro::task<int> {
            auto r = co_await goro::select(a.recv(), b.recv());
            co_return int(r.index()) * 10 + (r.index() == 1 && !r.get<1>() ? 1 : 0);
        }(a, b));
        for (int i = 0; i < 10; ++i)
            co_await goro::yield();
        b.close();
        co_return co_await h;
    };
    CHECK(goro::run(fn()) == 11);
}

TEST_CASE("select: a loop over always-ready cases yields to others (1 P)", "[select][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<long> {
        std::atomic<bool> flag{false};
        goro::go(goro_test::set_flag(&flag));
        goro::chan<int> nil;
        long i = 0;
        for (; i < 10'000'000 && !flag.load(); ++i)
            co_await goro::select(nil.recv(), goro::default_case);
        co_return i;
    };
    CHECK(rt.run(fn()) <= 256); // the budget is 128 per slice
}

namespace {

goro::task<void> close_after(goro::wait_group* wg, std::vector<goro::chan<long>> chans)
{
    co_await wg->wait();
    for (auto& c : chans)
        c.close();
}

// Selects over four channels until all are closed; closed channels are
// switched off by replacing them with nil, as in Go.
goro::task<void> select_sink(std::array<goro::chan<long>, 4> chans, std::atomic<long>* sum, std::atomic<long>* count,
                             goro::wait_group* wg)
{
    long s = 0, c = 0;
    int open = 4;
    while (open > 0) {
        auto r = co_await goro::select(chans[0].recv(), chans[1].recv(), chans[2].recv(), chans[3].recv());
        std::optional<long> v;
        switch (r.index()) {
        case 0: v = r.get<0>(); break;
        case 1: v = r.get<1>(); break;
        case 2: v = r.get<2>(); break;
        default: v = r.get<3>(); break;
        }
        if (v) {
            s += *v;
            ++c;
        } else {
            chans[r.index()] = goro::chan<long>();
            --open;
        }
    }
    sum->fetch_add(s);
    count->fetch_add(c);
    wg->done();
}

goro::task<long> select_stress(std::size_t cap, long per_channel)
{
    std::array<goro::chan<long>, 4> chans{goro::chan<long>(cap), goro::chan<long>(cap), goro::chan<long>(cap),
                                          goro::chan<long>(cap)};
    goro::wait_group producers, sinks;
    std::atomic<long> sum{0}, count{0};
    producers.add(4);
    sinks.add(2);
    for (int i = 0; i < 2; ++i)
        goro::go(select_sink(chans, &sum, &count, &sinks));
    for (int i = 0; i < 4; ++i)
        goro::go(goro_test::send_counting(chans[i], i * per_channel, per_channel, &producers));
    goro::go(close_after(&producers, std::vector<goro::chan<long>>(chans.begin(), chans.end())));
    co_await sinks.wait();
    long n = 4 * per_channel;
    co_return (count.load() == n && sum.load() == n * (n - 1) / 2) ? n : -count.load();
}

} // namespace

TEST_CASE("select: multi-P stress, nothing lost or duplicated", "[select][stress]")
{
    for (std::size_t cap : {0u, 16u}) {
        goro::runtime rt(goro::runtime_config{4});
        CHECK(rt.run(select_stress(cap, 10000)) == 40000);
    }
}
