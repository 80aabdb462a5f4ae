// Fairness without preemption: a goroutine that yields in a loop lets others
// run, a pair that readies each other through runnext cannot starve a third
// (the runnext cap), a tight loop of synchronously completing awaits yields
// when its budget runs out, and work spreads to every P. Loop bounds make a
// broken scheduler fail the checks instead of hanging.
#include "support/baton.hpp"
#include "support/flag.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace {

goro::task<long> yield_until(std::atomic<bool>* flag, long max_iters)
{
    long i = 0;
    for (; i < max_iters && !flag->load(); ++i)
        co_await goro::yield();
    co_return i;
}

goro::task<void> ping(goro_test::baton* mine, goro_test::baton* other, std::atomic<bool>* stop, long* rounds,
                      long max_rounds)
{
    for (; *rounds < max_rounds && !stop->load(); ++*rounds) {
        other->give();     // readies the partner into our runnext
        co_await mine->take();
    }
    stop->store(true);
    other->give(); // let the partner out
}

goro::task<void> pong(goro_test::baton* mine, goro_test::baton* other, std::atomic<bool>* stop)
{
    for (;;) {
        co_await mine->take();
        other->give(); // also on the way out: the pinger may be parked
        if (stop->load())
            co_return;
    }
}

} // namespace

TEST_CASE("fairness: a yielding loop lets another goroutine run (1 P)", "[fairness]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<long> {
        std::atomic<bool> flag{false};
        auto looper = goro::spawn(yield_until(&flag, 1'000'000));
        goro::go(goro_test::set_flag(&flag));
        co_return co_await looper;
    };
    long iters = rt.run(fn());
    CHECK(iters < 1'000'000);
}

TEST_CASE("fairness: a runnext ping-pong pair does not starve a third goroutine (1 P)", "[fairness]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<long> {
        goro_test::baton a, b;
        std::atomic<bool> stop{false}, third_ran{false};
        long rounds = 0;
        goro::wait_group wg;
        wg.add(1);
        goro::go([](goro_test::baton* a, goro_test::baton* b, std::atomic<bool>* stop,
                    goro::wait_group* wg) -> goro::task<void> {
            co_await pong(b, a, stop);
            wg->done();
        }, &a, &b, &stop, &wg);
        auto pinger = goro::spawn(ping(&a, &b, &stop, &rounds, 1'000'000));
        co_await goro::yield(); // the pair is running; now a third goroutine arrives
        goro::go([](std::atomic<bool>* ran, std::atomic<bool>* stop) -> goro::task<void> {
            ran->store(true);
            stop->store(true);
            co_return;
        }, &third_ran, &stop);
        co_await pinger;
        co_await wg.wait();
        co_return third_ran.load() ? rounds : -1;
    };
    long rounds = rt.run(fn());
    CHECK(rounds >= 0);
    CHECK(rounds < 1'000'000);
}

TEST_CASE("fairness: the cooperative budget interrupts synchronous completions (1 P)", "[fairness]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<long> {
        std::atomic<bool> flag{false};
        goro::wait_group zero; // counter 0: wait() completes without suspending
        goro::go(goro_test::set_flag(&flag));
        long i = 0;
        for (; i < 10'000'000 && !flag.load(); ++i)
            co_await zero.wait();
        co_return i;
    };
    long iters = rt.run(fn());
    CHECK(iters <= 256); // the budget is 128 per slice
}

TEST_CASE("fairness: work spreads to every P", "[fairness]")
{
    constexpr unsigned procs = 4;
    goro::runtime rt(goro::runtime_config{procs});
    auto fn = []() -> goro::task<std::size_t> {
        std::mutex mu;
        std::set<std::thread::id> seen;
        std::atomic<std::size_t> distinct{0};
        goro::wait_group wg;
        constexpr int n = 64;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([](std::mutex* mu, std::set<std::thread::id>* seen, std::atomic<std::size_t>* distinct,
                        goro::wait_group* wg) -> goro::task<void> {
                auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
                while (distinct->load() < procs && std::chrono::steady_clock::now() < deadline) {
                    {
                        std::lock_guard lock(*mu);
                        seen->insert(std::this_thread::get_id());
                        distinct->store(seen->size());
                    }
                    co_await goro::yield();
                }
                wg->done();
            }, &mu, &seen, &distinct, &wg);
        co_await wg.wait();
        co_return distinct.load();
    };
    CHECK(rt.run(fn()) == procs);
}
