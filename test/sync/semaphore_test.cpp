// goro::semaphore: golang.org/x/sync/semaphore semantics. Weighted acquire
// and release with try_acquire; FIFO order built deterministically on one P
// -- a large request at the head blocks smaller later ones even when tokens
// for them are free, and one release grants as many head waiters as fit; a
// stress on several Ps whose tokens in use never exceed the size (a watchdog
// turns a lost wakeup into a failure); misuse panics that change nothing; and
// the cooperative budget. At the end of a run, a waiter granted tokens but
// never run gives them back, and a queued one gives back nothing.
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <string>

namespace {

goro::task<void> take(goro::semaphore* s, std::int64_t n, char name, std::string* log, std::atomic<int>* started,
                      goro::wait_group* wg)
{
    started->fetch_add(1);
    co_await s->acquire(n);
    log->push_back(name);
    wg->done();
}

goro::task<void> acquire_release(goro::semaphore* s)
{
    co_await s->acquire(1);
    s->release(1);
}

goro::task<void> yield_until_count(std::atomic<int>* n, int want)
{
    for (int i = 0; i < 1000 && n->load() < want; ++i)
        co_await goro::yield();
    REQUIRE(n->load() == want);
}

goro::task<void> yield_times(int n)
{
    for (int i = 0; i < n; ++i)
        co_await goro::yield();
}

struct pool {
    static constexpr std::int64_t size = 6;
    goro::semaphore sem{size};
    std::atomic<std::int64_t> in_use{0};
    std::atomic<long> over{0};
    std::atomic<long> progress{0};
};

goro::task<void> use_pool(int id, pool* p, int iterations, goro::wait_group* wg)
{
    for (int i = 0; i < iterations; ++i) {
        const std::int64_t n = 1 + (id + i) % 4;
        co_await p->sem.acquire(n);
        if (p->in_use.fetch_add(n) + n > pool::size)
            p->over.fetch_add(1);
        if (i % 4 == 0)
            co_await goro::yield(); // hold tokens across a suspension
        p->in_use.fetch_sub(n);
        p->sem.release(n);
        p->progress.fetch_add(1);
    }
    wg->done();
}

// The main goroutine of a run (1 P) that ends with a goroutine W waiting for
// 2 of s's tokens: main takes `held` tokens, W queues, and main gives the
// tokens back (`release`: they are granted to W, which never runs) or keeps
// them past the end of the run.
goro::task<void> end_run_with_waiter(goro::semaphore* s, std::int64_t held, bool release)
{
    std::string log;
    std::atomic<int> started{0};
    goro::wait_group wg; // W never gets to done()
    wg.add(1);
    co_await s->acquire(held);
    goro::go(take(s, 2, 'w', &log, &started, &wg));
    co_await yield_until_count(&started, 1); // W queued for 2
    if (release)
        s->release(held);
}

} // namespace

TEST_CASE("semaphore: weighted acquire, try_acquire and release", "[semaphore]")
{
    auto fn = []() -> goro::task<int> {
        goro::semaphore s(10);
        int checks = 0;
        co_await s.acquire(3);
        co_await s.acquire(3);
        co_await s.acquire(3);
        checks += !s.try_acquire(2);
        checks += s.try_acquire(1);
        checks += !s.try_acquire(1);
        checks += s.try_acquire(0);
        s.release(10);
        checks += s.try_acquire(10);
        s.release(4);
        s.release(6);
        checks += !s.try_acquire(11); // more than the size: never
        co_await s.acquire(0);
        checks += s.size() == 10;
        co_return checks;
    };
    CHECK(goro::run(fn()) == 7);
}

// [policy]: expects ten yields at one P to let a granted waiter run.
TEST_CASE("semaphore: a large waiter at the head blocks smaller later ones (1 P)", "[semaphore][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        goro::semaphore s(10);
        std::string log;
        std::atomic<int> started{0};
        goro::wait_group wg;
        co_await s.acquire(8); // 2 free
        wg.add(2);
        goro::go(take(&s, 5, 'L', &log, &started, &wg));
        co_await yield_until_count(&started, 1); // L waits for 5
        goro::go(take(&s, 1, 's', &log, &started, &wg));
        co_await yield_until_count(&started, 2); // s queues behind L although 2 are free
        co_await yield_times(10);
        log += s.try_acquire(1) ? "T" : "-"; // try_acquire does not jump the queue either
        s.release(3); // 5 free: L, then nothing left for s
        co_await yield_times(10);
        log += "|";
        s.release(5); // L's tokens, as if L gave them back: s gets 1
        co_await wg.wait();
        co_return log;
    };
    CHECK(rt.run(fn()) == "-L|s");
}

// [policy]: expects ten yields at one P to let the granted waiters run.
TEST_CASE("semaphore: one release grants every head waiter that fits, and no further (1 P)", "[semaphore][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        goro::semaphore s(4);
        std::string log;
        std::atomic<int> started{0};
        goro::wait_group wg;
        co_await s.acquire(4);
        wg.add(3);
        // One at a time, so that they queue in this order whatever order the
        // scheduler starts goroutines in.
        goro::go(take(&s, 2, 'a', &log, &started, &wg));
        co_await yield_until_count(&started, 1);
        goro::go(take(&s, 2, 'b', &log, &started, &wg));
        co_await yield_until_count(&started, 2);
        goro::go(take(&s, 1, 'c', &log, &started, &wg));
        co_await yield_until_count(&started, 3);
        co_await yield_times(10);
        s.release(4); // a and b fit; c must wait for more
        co_await yield_times(10);
        std::sort(log.begin(), log.end()); // both were granted; which one runs first is the scheduler's choice
        log += "|";
        s.release(1);
        co_await wg.wait();
        co_return log;
    };
    CHECK(rt.run(fn()) == "ab|c");
}

TEST_CASE("semaphore: tokens in use never exceed the size under stress", "[semaphore][stress]")
{
    pool p;
    goro_test::watchdog dog(p.progress, "semaphore: a waiter was never woken");
    goro::runtime rt(goro::runtime_config{4});
    auto fn = [](pool* p) -> goro::task<bool> {
        co_await goro_test::go_n_and_wait(32, &use_pool, p, 500);
        co_return p->sem.try_acquire(pool::size); // all tokens came back
    };
    CHECK(rt.run(fn(&p)));
    CHECK(p.over.load() == 0);
    CHECK(p.progress.load() == 32 * 500);
}

TEST_CASE("semaphore: misuse panics and changes nothing", "[semaphore]")
{
    CHECK_THROWS_WITH(goro::semaphore(-1), "goro::semaphore: size must be at least 0 and below 2^62");
    goro::semaphore s(3);
    CHECK_THROWS_WITH(s.release(1), "goro::semaphore: released more than held");
    CHECK_THROWS_WITH((void)s.acquire(4), "goro::semaphore: acquire of more than the semaphore's size");
    CHECK_THROWS_WITH((void)s.acquire(-1), "goro::semaphore: negative weight");
    CHECK_THROWS_WITH(s.try_acquire(-1), "goro::semaphore: negative weight");
    CHECK_THROWS_WITH(s.release(-1), "goro::semaphore: negative weight");
    REQUIRE(s.try_acquire(2));
    CHECK_THROWS_WITH(s.release(3), "goro::semaphore: released more than held");
    s.release(2);
    CHECK(s.try_acquire(3)); // nothing was lost or added
    CHECK_FALSE(s.try_acquire(1));
    s.release(3);
}

TEST_CASE("semaphore: release more than held with waiters queued panics and changes nothing (1 P)", "[semaphore]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        goro::semaphore s(2);
        std::string log;
        std::atomic<int> started{0};
        goro::wait_group wg;
        co_await s.acquire(1);
        wg.add(1);
        goro::go(take(&s, 2, 'w', &log, &started, &wg)); // queued: the slow release path
        co_await yield_until_count(&started, 1);
        try {
            s.release(2); // only 1 is held
        } catch (const goro::panic&) {
            log += "p";
        }
        s.release(1);
        co_await wg.wait();
        co_return log;
    };
    CHECK(rt.run(fn()) == "pw");
}

TEST_CASE("semaphore: waiting outside a goroutine panics and takes nothing", "[semaphore]")
{
    goro::semaphore s(2);
    REQUIRE(s.try_acquire(2));
    {
        auto aw = s.acquire(1);
        CHECK_FALSE(aw.await_ready());
        CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    }
    s.release(2);
    CHECK(s.try_acquire(2));
}

TEST_CASE("semaphore: an acquire/release loop spends the cooperative budget (1 P)", "[semaphore][fairness][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::semaphore s(1);
    CHECK(rt.run(goro_test::iterations_before_others_run(&acquire_release, &s)) <= 256);
}

// # The end of a run
// A waiter the semaphore granted tokens to, but that never ran because the
// run ended, is destroyed by the end of the run and must give its tokens
// back; one still queued is withdrawn and gives back nothing.

// [policy]: W must not run between main's release and main's return (one P).
TEST_CASE("semaphore: a waiter granted tokens but destroyed before it ran releases them (1 P)",
          "[semaphore][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::semaphore s(3);
    rt.run(end_run_with_waiter(&s, 3, true)); // grants W its 2 tokens
    REQUIRE(s.try_acquire(3)); // all tokens are back
    s.release(3);
}

TEST_CASE("semaphore: a waiter queued at the end of a run gives back nothing (1 P)", "[semaphore][lifetime]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::semaphore s(3);
    rt.run(end_run_with_waiter(&s, 2, false)); // W stays queued
    CHECK_FALSE(s.try_acquire(2)); // main's 2 are still out
    CHECK_NOTHROW(s.release(2));
    REQUIRE(s.try_acquire(3));
    s.release(3);
}
