// goro::cond: Go's sync.Cond semantics. broadcast wakes every waiter and
// signal exactly one, the longest waiting (on one P, so the count after each
// signal is exact); a woken waiter holds the mutex again when wait returns,
// parking for it if another goroutine holds it; a bounded producer/consumer
// stress on several Ps, whose lost wakeup would hang (the watchdog turns that
// into a failure); and misuse -- waiting without the mutex, or with a guard
// of another mutex -- panics without consuming a ticket. At the end of a
// run, a waiter destroyed anywhere inside wait() leaves its guard owning
// nothing it does not hold, and cond and mutex usable by the next run.
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct gate {
    goro::mutex mu;
    goro::cond c{mu};
    bool open = false;  // guarded by mu
    int waiting = 0;    // guarded by mu: goroutines that called wait
    std::string log;    // guarded by mu
    std::atomic<int> woken{0};
};

// Waits until the gate opens (or, with `once`, for a single wake-up).
goro::task<void> wait_at(gate* g, char name, bool once, goro::wait_group* wg)
{
    auto lk = co_await g->mu.lock();
    ++g->waiting;
    if (once)
        co_await g->c.wait(lk);
    else
        while (!g->open)
            co_await g->c.wait(lk);
    g->log.push_back(name);
    if (!lk.owns_lock() || g->mu.try_lock()) // wait returned holding the mutex
        g->log.push_back('!');
    g->woken.fetch_add(1);
    lk.unlock();
    wg->done();
}

// How long a goroutine of these tests yields for others to get somewhere
// before it gives up. A count of yields is no bound: on a loaded 2-core
// machine the other P's thread may be off its CPU for milliseconds, and
// 10,000 yields once ran out while it was (the test then returned while its
// goroutines still used its frame).
constexpr auto patience = std::chrono::seconds(120);

// Ends the test binary with a message: the goroutines a wait gave up on
// still use the caller's frame, so returning is no way out.
[[noreturn]] void give_up(const char* what)
{
    std::fprintf(stderr, "cond_test: gave up after %lld s: %s\n",
                 static_cast<long long>(patience.count()), what);
    std::abort();
}

// Yields until `n` goroutines are inside wait (all have released the mutex).
goro::task<void> until_waiting(gate* g, int n)
{
    const auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
        auto lk = co_await g->mu.lock();
        if (g->waiting == n)
            co_return;
        lk.unlock();
        if (std::chrono::steady_clock::now() > deadline)
            give_up("the waiters never reached cond::wait");
        co_await goro::yield();
    }
}

goro::task<void> yield_times(int n)
{
    for (int i = 0; i < n; ++i)
        co_await goro::yield();
}

struct slot_queue {
    goro::mutex mu;
    goro::cond not_empty{mu}, not_full{mu};
    long slot = 0;      // guarded by mu
    bool full = false;  // guarded by mu
    long sum = 0;       // guarded by mu
    std::atomic<long> progress{0};
};

goro::task<void> produce(int id, slot_queue* q, long count, goro::wait_group* wg)
{
    for (long v = id * count; v < (id + 1) * count; ++v) {
        auto lk = co_await q->mu.lock();
        while (q->full)
            co_await q->not_full.wait(lk);
        q->slot = v;
        q->full = true;
        q->not_empty.signal();
        lk.unlock();
        q->progress.fetch_add(1);
    }
    wg->done();
}

goro::task<void> consume(int, slot_queue* q, long count, goro::wait_group* wg)
{
    for (long i = 0; i < count; ++i) {
        auto lk = co_await q->mu.lock();
        while (!q->full)
            co_await q->not_empty.wait();
        q->sum += q->slot;
        q->full = false;
        q->not_full.signal();
        lk.unlock();
        q->progress.fetch_add(1);
    }
    wg->done();
}


// One signal in a run of its own: a new waiter X waits on g's cond (the
// `waiting`-th goroutine to do so), main signals it. True if X was woken and
// relocked within 100 yields, and the mutex is free again afterwards.
goro::task<bool> signal_round(gate* g, int waiting)
{
    goro::wait_group wg;
    wg.add(1);
    const int woken = g->woken.load();
    goro::go(wait_at(g, 'x', true, &wg));
    co_await until_waiting(g, waiting);
    g->c.signal();
    for (int i = 0; i < 100 && g->woken.load() == woken; ++i)
        co_await goro::yield();
    if (g->woken.load() == woken)
        co_return false; // X is still parked; the end of the run withdraws it
    co_await wg.wait();
    if (!g->mu.try_lock())
        co_return false;
    g->mu.unlock();
    co_return true;
}
// Where the end of a run finds the waiter of end_run_with_waiter.
enum class end_at { parked_on_cond, signalled, parked_on_mutex, woken_by_mutex };

// The main goroutine of a run (1 P) that ends with a waiter W inside wait()
// at `where`: W waits once on g's cond; main lets it reach wait(), then, as
// `where` says, signals it, or also lets it park on the mutex main holds and
// keeps that hold or unlocks (waking W), and returns. True if W got there.
goro::task<bool> end_run_with_waiter(gate* g, end_at where)
{
    goro::wait_group wg; // W never gets to done()
    wg.add(1);
    goro::go(wait_at(g, 'w', true, &wg));
    co_await until_waiting(g, 1);
    if (where == end_at::parked_on_cond)
        co_return true; // W stays parked on the cond
    if (where == end_at::signalled) {
        g->c.signal(); // W is runnable, and never runs
        co_return true;
    }
    auto lk = co_await g->mu.lock();
    g->c.signal();
    co_await yield_times(20); // W runs, finds the mutex held, parks on it
    if (where == end_at::parked_on_mutex)
        (void)lk.release(); // the run ends with main's hold outstanding
    else
        lk.unlock(); // wakes W, which never runs
    co_return g->woken.load() == 0;
}

} // namespace

TEST_CASE("cond: broadcast wakes every waiter", "[cond]")
{
    goro::runtime rt(goro::runtime_config{2});
    auto fn = []() -> goro::task<int> {
        gate g;
        goro::wait_group wg;
        constexpr int n = 10;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go(wait_at(&g, 'w', false, &wg));
        co_await until_waiting(&g, n);
        {
            auto lk = co_await g.mu.lock();
            g.open = true;
            g.c.broadcast();
        }
        const auto deadline = std::chrono::steady_clock::now() + patience;
        while (g.woken.load() < n) {
            if (std::chrono::steady_clock::now() > deadline)
                give_up("broadcast left waiters parked");
            co_await goro::yield();
        }
        co_await wg.wait();
        co_return g.log == std::string(n, 'w') ? n : -1;
    };
    CHECK(rt.run(fn()) == 10);
}

// [policy]: expects twenty yields at one P to let the woken waiter relock and
// finish, so the count after each signal is exact.
TEST_CASE("cond: signal wakes exactly one waiter, the longest waiting (1 P)", "[cond][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        gate g;
        goro::wait_group wg;
        wg.add(4);
        // One at a time, so that they wait in this order whatever order the
        // scheduler starts goroutines in.
        goro::go(wait_at(&g, 'a', true, &wg));
        co_await until_waiting(&g, 1);
        goro::go(wait_at(&g, 'b', true, &wg));
        co_await until_waiting(&g, 2);
        goro::go(wait_at(&g, 'c', true, &wg));
        co_await until_waiting(&g, 3);
        goro::go(wait_at(&g, 'd', true, &wg));
        co_await until_waiting(&g, 4);
        std::string seen;
        for (int round = 1; round <= 4; ++round) {
            g.c.signal();
            co_await yield_times(20); // the woken one relocks and finishes; nobody else may
            seen += std::to_string(g.woken.load());
        }
        co_await wg.wait();
        g.c.signal(); // nobody waits: a no-op
        co_return seen + " " + g.log;
    };
    CHECK(rt.run(fn()) == "1234 abcd");
}

TEST_CASE("cond: a woken waiter parks for the mutex until its holder unlocks (1 P)", "[cond]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        gate g;
        goro::wait_group wg;
        wg.add(1);
        goro::go(wait_at(&g, 'w', false, &wg));
        co_await until_waiting(&g, 1);
        auto lk = co_await g.mu.lock();
        g.open = true;
        g.c.signal();
        co_await yield_times(20); // the waiter runs, finds the mutex held, parks on it
        g.log.push_back(g.woken.load() == 0 ? 'h' : '?');
        lk.unlock();
        co_await wg.wait();
        auto lk2 = co_await g.mu.lock();
        co_return g.log;
    };
    CHECK(rt.run(fn()) == "hw");
}

TEST_CASE("cond: producers and consumers on several Ps lose no wakeup", "[cond][stress]")
{
    slot_queue q;
    goro_test::watchdog dog(q.progress, "cond: lost wakeup");
    goro::runtime rt(goro::runtime_config{4});
    auto fn = [](slot_queue* q) -> goro::task<long> {
        constexpr long per_producer = 2000;
        auto producers = goro::spawn(goro_test::go_n_and_wait(4, &produce, q, per_producer));
        co_await goro_test::go_n_and_wait(4, &consume, q, per_producer);
        co_await producers;
        auto lk = co_await q->mu.lock();
        co_return q->sum;
    };
    constexpr long n = 4 * 2000;
    CHECK(rt.run(fn(&q)) == n * (n - 1) / 2);
}

TEST_CASE("cond: waiting without the mutex panics and consumes no ticket", "[cond]")
{
    auto fn = []() -> goro::task<int> {
        gate g;
        goro::mutex other;
        int checks = 0;
        try {
            co_await g.c.wait(); // mutex not locked
        } catch (const goro::panic& e) {
            checks += std::string(e.what()) == "goro::cond::wait: mutex is not locked";
        }
        auto mine = co_await other.lock();
        try {
            auto aw = g.c.wait(mine); // a guard of another mutex
            (void)aw;
        } catch (const goro::panic& e) {
            checks += std::string(e.what()) == "goro::cond::wait: the guard owns a different mutex";
        }
        mine.unlock();
        try {
            auto aw = g.c.wait(mine);
            (void)aw;
        } catch (const goro::panic& e) {
            checks += std::string(e.what()) == "goro::cond::wait: the guard owns no lock";
        }
        // No ticket was taken: a real waiter gets the next signal.
        goro::wait_group wg;
        wg.add(1);
        goro::go(wait_at(&g, 'w', true, &wg));
        co_await until_waiting(&g, 1);
        g.c.signal();
        co_await wg.wait();
        checks += g.log == "w";
        co_return checks;
    };
    CHECK(goro::run(fn()) == 4);
}

TEST_CASE("cond: waiting outside a goroutine panics and keeps the mutex locked", "[cond]")
{
    goro::mutex mu;
    goro::cond c(mu);
    REQUIRE(mu.try_lock());
    auto aw = c.wait();
    CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    CHECK_FALSE(mu.try_lock());
    mu.unlock();
}

// # The end of a run
// A goroutine inside wait() when its run ends is destroyed wherever it is:
// parked on the cond, signalled but not yet run, parked on the mutex to
// relock it, or woken by the mutex but not yet run. Only a waiter that holds
// the mutex again may leave its guard owning it: the guard must neither
// unlock a mutex it does not hold (which ends the program) nor unlock
// another goroutine's hold. The next run must find cond and mutex usable.
// Each test first lets one waiter W reach wait() on one P
// (end_run_with_waiter).

// [policy]: W must not run between the signal and main's return (one P).
TEST_CASE("cond: a waiter signalled but destroyed before it ran leaves cond and mutex usable (1 P)",
          "[cond][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    gate g;
    REQUIRE(rt.run(end_run_with_waiter(&g, end_at::signalled)));
    CHECK(rt.run(signal_round(&g, 2)));
    CHECK(g.log == "x");
}

TEST_CASE("cond: a waiter parked on the cond at the end of a run leaves cond and mutex usable (1 P)",
          "[cond][lifetime]")
{
    goro::runtime rt(goro::runtime_config{1});
    gate g;
    REQUIRE(rt.run(end_run_with_waiter(&g, end_at::parked_on_cond)));
    CHECK(rt.run(signal_round(&g, 2)));
    CHECK(g.log == "x");
}

// [policy]: W relocks during main's yields (one P).
TEST_CASE("cond: a waiter parked relocking the mutex at the end of a run leaves the holder's lock alone (1 P)",
          "[cond][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    gate g;
    REQUIRE(rt.run(end_run_with_waiter(&g, end_at::parked_on_mutex)));
    // W was withdrawn from the mutex; its guard must not have unlocked main's hold.
    CHECK_FALSE(g.mu.try_lock());
    CHECK_NOTHROW(g.mu.unlock());
    CHECK(rt.run(signal_round(&g, 2)));
    CHECK(g.log == "x");
}

// [policy]: W relocks during main's yields and must not run after main's
// unlock (one P).
TEST_CASE("cond: a waiter woken by the mutex but destroyed before it ran leaves cond and mutex usable (1 P)",
          "[cond][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    gate g;
    REQUIRE(rt.run(end_run_with_waiter(&g, end_at::woken_by_mutex)));
    CHECK(rt.run(signal_round(&g, 2)));
    CHECK(g.log == "x");
}
