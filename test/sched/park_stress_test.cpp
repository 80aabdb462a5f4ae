// No lost wakeups: bounded stress of Ps parking and being woken. Threads that
// own no P ready goroutines while every P may be asleep; bursts of goroutines
// start and finish so Ps go idle and spin up again; goroutines on different
// Ps hand a baton around. A lost wakeup shows up as a hang, which the
// per-round watchdog turns into a failure. Run under TSan in CI.
#include "support/baton.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

using goro_test::watchdog;

TEST_CASE("park: a thread outside the runtime wakes a goroutine while Ps sleep", "[park][stress]")
{
    constexpr long rounds = 3000;
    std::atomic<long> progress{0};
    watchdog dog(progress);
    goro::runtime rt(goro::runtime_config{2});
    auto fn = [](std::atomic<long>* progress) -> goro::task<long> {
        long woken = 0;
        for (long r = 0; r < rounds; ++r) {
            goro::wait_group wg;
            wg.add(1);
            std::thread waker([&wg, r] {
                if (r % 3 == 0)
                    std::this_thread::yield(); // sometimes after the Ps have parked
                wg.done();
            });
            co_await wg.wait();
            waker.join();
            ++woken;
            progress->fetch_add(1);
        }
        co_return woken;
    };
    CHECK(rt.run(fn(&progress)) == rounds);
}

TEST_CASE("park: bursts of goroutines across Ps that go idle between bursts", "[park][stress]")
{
    constexpr long rounds = 2000;
    std::atomic<long> progress{0};
    watchdog dog(progress);
    goro::runtime rt(goro::runtime_config{4});
    auto fn = [](std::atomic<long>* progress) -> goro::task<long> {
        std::atomic<long> ran{0};
        for (long r = 0; r < rounds; ++r) {
            goro::wait_group wg;
            int n = 1 + int(r % 17);
            wg.add(n);
            for (int i = 0; i < n; ++i)
                goro::go([](std::atomic<long>* ran, goro::wait_group* wg, int i) -> goro::task<void> {
                    if (i % 2)
                        co_await goro::yield();
                    ran->fetch_add(1);
                    wg->done();
                }, &ran, &wg, i);
            co_await wg.wait();
            progress->fetch_add(1);
        }
        co_return ran.load();
    };
    long expect = 0;
    for (long r = 0; r < rounds; ++r)
        expect += 1 + r % 17;
    CHECK(rt.run(fn(&progress)) == expect);
}

TEST_CASE("park: a baton passed around a ring of goroutines on several Ps", "[park][stress]")
{
    constexpr int members = 8;
    constexpr long laps = 5000;
    std::atomic<long> progress{0};
    watchdog dog(progress);
    goro::runtime rt(goro::runtime_config{3});
    auto fn = [](std::atomic<long>* progress) -> goro::task<long> {
        std::vector<goro_test::baton> batons(members);
        std::atomic<long> passes{0};
        goro::wait_group wg;
        wg.add(members);
        for (int i = 0; i < members; ++i)
            goro::go([](goro_test::baton* mine, goro_test::baton* next, std::atomic<long>* passes,
                        std::atomic<long>* progress, goro::wait_group* wg) -> goro::task<void> {
                for (long lap = 0; lap < laps; ++lap) {
                    co_await mine->take();
                    passes->fetch_add(1);
                    progress->fetch_add(1);
                    next->give();
                }
                wg->done();
            }, &batons[i], &batons[(i + 1) % members], &passes, progress, &wg);
        batons[0].give();
        co_await wg.wait();
        co_return passes.load();
    };
    CHECK(rt.run(fn(&progress)) == members * laps);
}
