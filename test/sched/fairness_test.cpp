// Fairness without preemption: a goroutine that yields in a loop lets others
// run, a pair that readies each other through runnext cannot starve a third
// (the runnext cap), a tight loop of synchronously completing awaits yields
// when its budget runs out, work spreads to every P, and the steal back-off
// never strands a goroutine. Loop bounds make a broken scheduler fail the
// checks instead of hanging.
#include "support/baton.hpp"
#include "support/flag.hpp"
#include "support/send_counting.hpp"

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

TEST_CASE("fairness: the cooperative budget interrupts synchronous completions (1 P)", "[fairness][policy]")
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

namespace {
struct steal_rounds {
    int exact_sums = 0; // rounds whose channel traffic added up
    int stolen = 0;     // rounds whose flag goroutine the other P ran
};
} // namespace

TEST_CASE("fairness: a goroutine queued behind a P that never yields is stolen, even after futile steals",
          "[fairness]")
{
    constexpr int rounds = 20;
    goro::runtime rt(goro::runtime_config{2});
    auto fn = []() -> goro::task<steal_rounds> {
        std::atomic<bool> ran[rounds] = {};
        steal_rounds result;
        for (int round = 0; round < rounds; ++round) {
            // Four senders and one receiver on an unbuffered channel: the
            // other P steals senders that only run until their next send,
            // which grows its steal back-off.
            constexpr long per_sender = 2000;
            goro::chan<long> ch(0);
            goro::wait_group senders;
            senders.add(4);
            for (long s = 0; s < 4; ++s)
                goro::go(goro_test::send_counting(ch, s * per_sender, per_sender, &senders));
            long sum = 0;
            for (long i = 0; i < 4 * per_sender; ++i)
                sum += *co_await ch.recv();
            co_await senders.wait();
            result.exact_sums += sum == 4 * per_sender * (4 * per_sender - 1) / 2;

            // Queued on this P, which then spins without yielding: only the
            // other P can run it, back-off or not.
            goro::go(goro_test::set_flag(&ran[round]));
            auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (!ran[round].load() && std::chrono::steady_clock::now() < give_up) {
            }
            result.stolen += ran[round].load();
        }
        // A flag goroutine that was not stolen must still run before `ran` dies.
        for (auto& r : ran)
            while (!r.load())
                co_await goro::yield();
        co_return result;
    };
    // Checked here, on the test thread: the main goroutine may have ended on
    // the other worker, and Catch2's assertions are not thread-safe.
    steal_rounds result = rt.run(fn());
    CHECK(result.exact_sums == rounds);
    CHECK(result.stolen == rounds);
}

namespace {
goro::task<void> receive_then_flag(goro::chan<int> ch, std::atomic<bool>* flag)
{
    auto v = co_await ch.recv();
    flag->store(v.has_value());
}
} // namespace

TEST_CASE("fairness: a goroutine readied into the runnext of a P that never yields is stolen", "[fairness]")
{
    // A receive readied by this P's send lands in its runnext, which wakes
    // no other P. Each round first lets both Ps go idle (a sleep) and then
    // spins 5 ms, so that the other P is parked, not spinning, when the
    // send readies the receiver: then only the runnext watch of the P on
    // timer duty can take it (scheduler.cpp, "Submitting work"). On a slow
    // machine the other P may still be spinning and steal it sooner, which
    // passes too. A broken watch leaves the receiver to the 60 s give-up.
    constexpr int rounds = 10;
    goro::runtime rt(goro::runtime_config{2});
    auto fn = []() -> goro::task<int> {
        std::atomic<bool> ran[rounds] = {};
        int stolen = 0;
        for (int round = 0; round < rounds; ++round) {
            goro::chan<int> ch(0);
            goro::go(receive_then_flag(ch, &ran[round]));
            co_await goro::sleep(std::chrono::milliseconds(20));
            auto spin_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
            while (std::chrono::steady_clock::now() < spin_end) {
            }
            while (!ch.try_send(1)) // the receiver is parked by now, or soon: then this readies it here
                co_await goro::yield();
            auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (!ran[round].load() && std::chrono::steady_clock::now() < give_up) {
            }
            stolen += ran[round].load();
        }
        for (auto& r : ran) // one that was not stolen must still run before `ran` dies
            while (!r.load())
                co_await goro::yield();
        co_return stolen;
    };
    CHECK(rt.run(fn()) == rounds); // checked on the test thread (see above)
}
