// Shutdown: when main returns or throws, goroutines that are still runnable
// are destroyed (their locals' destructors run, their frames are freed: the
// ASan+LSan build fails this binary on a leak), and a runtime can run again,
// counting only its new goroutines.
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct counted {
    std::atomic<int>* live;
    explicit counted(std::atomic<int>* l) : live(l) { live->fetch_add(1); }
    ~counted() { live->fetch_sub(1); }
};

goro::task<void> inner_spin(std::atomic<int>* live)
{
    counted c(live);
    auto heap = std::make_unique<std::string>("frames and heap objects must be freed");
    for (;;)
        co_await goro::yield();
}

goro::task<void> spinner(std::atomic<int>* live, goro::wait_group* started)
{
    counted c(live);
    started->done();
    co_await inner_spin(live); // the goroutine is parked inside a nested task
}

goro::task<int> main_returns_early(std::atomic<int>* live)
{
    goro::wait_group started;
    started.add(20);
    for (int i = 0; i < 20; ++i)
        goro::go(spinner(live, &started));
    for (int i = 0; i < 5; ++i) // not yet started: destroyed before running
        goro::go([](std::atomic<int>* live) -> goro::task<void> {
            counted c(live);
            co_return;
        }, live);
    co_await started.wait();
    co_return 7;
}

goro::task<void> yield_forever(std::atomic<int>* live, goro::wait_group* started)
{
    counted c(live);
    started->done();
    for (;;)
        co_await goro::yield();
}

goro::task<int> main_throws(std::atomic<int>* live)
{
    goro::wait_group started;
    started.add(1);
    goro::go(yield_forever(live, &started));
    co_await started.wait(); // its `counted` exists: only shutdown can destroy it now
    throw std::logic_error("main failed");
}

goro::task<long> goroutines_at_start() { co_return goro::num_goroutine(); }

} // namespace

TEST_CASE("shutdown: runnable goroutines are destroyed when main returns", "[shutdown]")
{
    std::atomic<int> live{0};
    for (int round = 0; round < 3; ++round) {
        goro::runtime rt(goro::runtime_config{2});
        CHECK(rt.run(main_returns_early(&live)) == 7);
        CHECK(live.load() == 0); // every counted local was destroyed
    }
}

TEST_CASE("shutdown: an exception from main is rethrown after shutdown", "[shutdown]")
{
    std::atomic<int> live{0};
    goro::runtime rt(goro::runtime_config{2});
    CHECK_THROWS_WITH(rt.run(main_throws(&live)), "main failed");
    CHECK(live.load() == 0); // the yielder, runnable at shutdown, was destroyed
    // The destroyed yielder never finished; the next run must not count it.
    CHECK(rt.run(goroutines_at_start()) == 1);
}
