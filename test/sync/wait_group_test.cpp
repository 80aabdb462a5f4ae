// goro::wait_group: Go's WaitGroup semantics — waiting for many goroutines,
// immediate completion at zero, misuse panics that leave the counter intact,
// many waiters released at once, reuse across rounds, done() from a thread
// outside the runtime, and a waiter woken but never run at the end of a run.
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <thread>

namespace {

goro::task<void> worker(std::atomic<int>* sum, int v, goro::wait_group* wg)
{
    co_await goro::yield();
    sum->fetch_add(v);
    wg->done();
}

goro::task<void> waiter(goro::wait_group* gate, std::atomic<int>* released, goro::wait_group* out)
{
    co_await gate->wait();
    released->fetch_add(1);
    out->done();
}

} // namespace

TEST_CASE("wait_group: waits for every done", "[wait_group]")
{
    auto fn = []() -> goro::task<int> {
        std::atomic<int> sum{0};
        goro::wait_group wg;
        for (int i = 1; i <= 100; ++i) {
            wg.add(1);
            goro::go(worker(&sum, i, &wg));
        }
        co_await wg.wait();
        co_return sum.load();
    };
    CHECK(goro::run(fn()) == 5050);
}

TEST_CASE("wait_group: a zero counter does not suspend", "[wait_group]")
{
    auto fn = []() -> goro::task<int> {
        goro::wait_group wg;
        co_await wg.wait();
        wg.add(3);
        wg.add(-3);
        co_await wg.wait();
        co_return wg.count();
    };
    CHECK(goro::run(fn()) == 0);
}

TEST_CASE("wait_group: negative counter panics and leaves the counter unchanged", "[wait_group]")
{
    goro::wait_group wg;
    wg.add(2);
    CHECK_THROWS_AS(wg.add(-3), goro::panic);
    CHECK_THROWS_WITH(wg.add(-3), "goro::wait_group: negative counter");
    CHECK(wg.count() == 2);
    wg.done();
    wg.done();
    CHECK_THROWS_AS(wg.done(), goro::panic);
    CHECK(wg.count() == 0);
}

TEST_CASE("wait_group: many waiters are all released, and the group is reusable", "[wait_group]")
{
    auto fn = []() -> goro::task<int> {
        goro::wait_group gate;
        std::atomic<int> released{0};
        for (int round = 0; round < 3; ++round) {
            goro::wait_group out;
            gate.add(1);
            out.add(1000);
            for (int i = 0; i < 1000; ++i)
                goro::go(waiter(&gate, &released, &out));
            for (int i = 0; i < 10; ++i)
                co_await goro::yield(); // let some of them park
            gate.done();
            co_await out.wait();
        }
        co_return released.load();
    };
    CHECK(goro::run(fn()) == 3000);
}

TEST_CASE("wait_group: done from a thread outside the runtime wakes the waiter", "[wait_group]")
{
    auto fn = []() -> goro::task<int> {
        goro::wait_group wg;
        wg.add(4);
        std::thread t([&wg] {
            for (int i = 0; i < 4; ++i)
                wg.done();
        });
        co_await wg.wait();
        t.join();
        co_return wg.count();
    };
    CHECK(goro::run(fn()) == 0);
}

TEST_CASE("wait_group: wait outside a goroutine panics", "[wait_group]")
{
    goro::wait_group wg;
    wg.add(1);
    auto aw = wg.wait();
    CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    CHECK(wg.count() == 1);
    wg.done(); // the failed wait left no waiter behind to confuse this
    CHECK(wg.count() == 0);
}

// # The end of a run
// A waiter the final done() woke, but that never ran because the run ended,
// had nothing left to undo: the word was reset and its semaphore unit
// consumed. The next round of the group works as usual.

// [policy]: W must not run between done() and main's return (one P).
TEST_CASE("wait_group: a waiter woken by done but destroyed before it ran leaves the group usable (1 P)",
          "[wait_group][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::wait_group gate;
    std::atomic<int> released{0};
    auto fn = [](goro::wait_group* gate, std::atomic<int>* released) -> goro::task<void> {
        goro::wait_group out;
        out.add(1);
        gate->add(1);
        goro::go(waiter(gate, released, &out));
        for (int i = 0; i < 10; ++i)
            co_await goro::yield(); // W parks
        gate->done(); // wakes W, which never runs
    };
    rt.run(fn(&gate, &released));
    CHECK(released.load() == 0);
    CHECK(gate.count() == 0);
    auto round = [](goro::wait_group* gate, std::atomic<int>* released) -> goro::task<void> {
        goro::wait_group out;
        out.add(2);
        gate->add(1);
        goro::go(waiter(gate, released, &out));
        goro::go(waiter(gate, released, &out));
        for (int i = 0; i < 10; ++i)
            co_await goro::yield(); // both park
        gate->done();
        for (int i = 0; i < 100 && released->load() < 2; ++i)
            co_await goro::yield(); // bounded: a lost wake-up fails the check below
    };
    rt.run(round(&gate, &released));
    CHECK(released.load() == 2);
}

TEST_CASE("wait_group: the counter word has its cache line to itself at every placement", "[wait_group]")
{
    // own_cache_line's promise, checked where a holder can actually land: at
    // each 8-byte offset within a line (a coroutine frame or a struct member
    // is only 8- or 16-byte aligned).
    using holder = goro::detail::own_cache_line<std::atomic<std::uint64_t>>;
    constexpr std::size_t line = goro::detail::cache_line;
    alignas(line) static unsigned char buf[3 * line];
    for (std::size_t off = 0; off < line; off += alignof(holder)) {
        INFO("holder at line offset " << off);
        auto* h = ::new (buf + off) holder{{}, {0}, {}};
        const auto first = reinterpret_cast<std::uintptr_t>(h);
        const auto word = reinterpret_cast<std::uintptr_t>(&h->value);
        const std::uintptr_t line_start = word / line * line;
        CHECK(line_start >= first);
        CHECK(line_start + line <= first + sizeof(holder));
        h->~holder();
    }
    // wait_group keeps its counter in one (the semaphore comes on top).
    CHECK(sizeof(goro::wait_group) >= sizeof(holder));
}
