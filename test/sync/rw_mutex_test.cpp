// goro::rw_mutex: Go's sync.RWMutex semantics. Readers hold the lock
// together; a writer excludes readers and writers (a stress on several Ps
// whose invariant a torn read would break, and ThreadSanitizer watches the
// plain fields); a waiting writer blocks new readers, so a continuous stream
// of overlapping readers cannot starve it, and the readers it blocked get in
// before the next writer; try_lock / try_rlock; misuse and waiting outside a
// goroutine panic without changing the lock; and the cooperative budget.
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <coroutine>
#include <string>

namespace {

constexpr long spin_bound = 100'000; // loops are bounded: a broken lock fails a check, not the run

goro::task<void> reader_together(int, goro::rw_mutex* rw, std::atomic<int>* inside, int n, std::atomic<int>* most,
                                 goro::wait_group* wg)
{
    auto lk = co_await rw->rlock();
    inside->fetch_add(1);
    for (long i = 0; i < spin_bound && inside->load() < n; ++i)
        co_await goro::yield(); // hold the read lock while the others come in
    int seen = inside->load();
    int prev = most->load();
    while (seen > prev && !most->compare_exchange_weak(prev, seen)) {
    }
    lk.unlock();
    wg->done();
}

struct guarded_pair {
    goro::rw_mutex rw;
    long a = 0, b = 0; // guarded by rw: writers keep b == -a
    std::atomic<long> torn{0};
    std::atomic<long> reads{0};
    std::atomic<long> progress{0};
};

goro::task<void> pair_writer(int, guarded_pair* p, int iterations, goro::wait_group* wg)
{
    for (int i = 0; i < iterations; ++i) {
        auto lk = co_await p->rw.lock();
        ++p->a;
        if (i % 8 == 0)
            co_await goro::yield(); // a half-done update held across a suspension
        p->b = -p->a;
        lk.unlock();
        p->progress.fetch_add(1);
    }
    wg->done();
}

goro::task<void> pair_reader(int, guarded_pair* p, int iterations, goro::wait_group* wg)
{
    for (int i = 0; i < iterations; ++i) {
        auto lk = co_await p->rw.rlock();
        if (p->a != -p->b)
            p->torn.fetch_add(1);
        if (i % 16 == 0)
            co_await goro::yield();
        lk.unlock();
        p->reads.fetch_add(1);
        p->progress.fetch_add(1);
    }
    wg->done();
}

// Reads in a loop that always overlaps with another reader's hold, until the
// writer got its turn (or the bound runs out).
goro::task<void> streaming_reader(goro::rw_mutex* rw, std::atomic<bool>* writer_done, std::atomic<long>* loops,
                                  goro::wait_group* wg)
{
    for (long i = 0; i < spin_bound && !writer_done->load(); ++i) {
        auto lk = co_await rw->rlock();
        co_await goro::yield(); // hold across a suspension: other readers overlap us
        lk.unlock();
        loops->fetch_add(1);
    }
    wg->done();
}

goro::task<void> logger(goro::rw_mutex* rw, bool write, std::string* log, std::atomic<int>* started,
                        goro::wait_group* wg)
{
    started->fetch_add(1);
    if (write) {
        auto lk = co_await rw->lock();
        log->push_back('W');
    } else {
        auto lk = co_await rw->rlock();
        log->push_back('R');
    }
    wg->done();
}

goro::task<void> lock_then_rlock(goro::rw_mutex* rw)
{
    {
        auto lk = co_await rw->lock();
    }
    auto lk = co_await rw->rlock();
}

// Yields until `n` reaches `want`; false if it does not. The caller reports
// that in its result rather than asserting: it may run on any worker, and
// Catch2's assertions are not thread-safe.
goro::task<bool> yield_until_count(std::atomic<int>* n, int want)
{
    for (int i = 0; i < 1000 && n->load() < want; ++i)
        co_await goro::yield();
    co_return n->load() == want;
}

} // namespace

TEST_CASE("rw_mutex: readers hold the lock together", "[rw_mutex]")
{
    goro::runtime rt(goro::runtime_config{2});
    auto fn = []() -> goro::task<int> {
        goro::rw_mutex rw;
        std::atomic<int> inside{0}, most{0};
        constexpr int n = 8;
        co_await goro_test::go_n_and_wait(n, &reader_together, &rw, &inside, n, &most);
        co_return most.load();
    };
    CHECK(rt.run(fn()) == 8);
}

TEST_CASE("rw_mutex: a writer excludes readers and writers under stress", "[rw_mutex][stress]")
{
    guarded_pair p;
    goro_test::watchdog dog(p.progress, "rw_mutex: a waiter was never woken");
    goro::runtime rt(goro::runtime_config{4});
    auto fn = [](guarded_pair* p) -> goro::task<long> {
        auto writers = goro::spawn(goro_test::go_n_and_wait(8, &pair_writer, p, 500));
        co_await goro_test::go_n_and_wait(16, &pair_reader, p, 1500);
        co_await writers;
        auto lk = co_await p->rw.rlock();
        co_return p->a;
    };
    CHECK(rt.run(fn(&p)) == 8 * 500);
    CHECK(p.b == -p.a);
    CHECK(p.torn.load() == 0);
    CHECK(p.reads.load() == 16 * 1500);
    CHECK(p.rw.try_lock()); // left unlocked
    p.rw.unlock();
}

TEST_CASE("rw_mutex: a stream of overlapping readers does not starve a writer", "[rw_mutex]")
{
    auto scenario = [](unsigned procs) {
        goro::runtime rt(goro::runtime_config{procs});
        auto fn = []() -> goro::task<long> {
            goro::rw_mutex rw;
            std::atomic<bool> writer_done{false};
            std::atomic<long> loops{0};
            goro::wait_group wg;
            wg.add(4);
            for (int i = 0; i < 4; ++i)
                goro::go(streaming_reader(&rw, &writer_done, &loops, &wg));
            while (loops.load() < 20) // the stream is flowing
                co_await goro::yield();
            {
                auto lk = co_await rw.lock(); // must get in while readers still want the lock
                writer_done.store(true);
            }
            co_await wg.wait();
            co_return loops.load();
        };
        return rt.run(fn());
    };
    // With reader preference the writer would get in only after every reader
    // ran out of its bound: 4 * spin_bound loops.
    CHECK(scenario(1) < 1000);
    CHECK(scenario(3) < 4 * spin_bound);
}

// [policy]: at one P a locker that has started has parked by the time main
// runs again, so all four queue before the unlock.
TEST_CASE("rw_mutex: readers blocked by a writer get in before the next writer (1 P)", "[rw_mutex][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        goro::rw_mutex rw;
        std::string log;
        std::atomic<int> started{0};
        goro::wait_group wg;
        auto lk = co_await rw.lock();
        wg.add(4);
        goro::go(logger(&rw, false, &log, &started, &wg));
        goro::go(logger(&rw, false, &log, &started, &wg));
        goro::go(logger(&rw, true, &log, &started, &wg));
        goro::go(logger(&rw, false, &log, &started, &wg));
        bool all_started = co_await yield_until_count(&started, 4); // all four parked behind us
        if (!all_started)
            co_return "the lockers did not start";
        lk.unlock();
        co_await wg.wait();
        co_return log;
    };
    CHECK(rt.run(fn()) == "RRRW");
}

TEST_CASE("rw_mutex: try_lock and try_rlock", "[rw_mutex]")
{
    goro::rw_mutex rw;
    REQUIRE(rw.try_rlock());
    CHECK(rw.try_rlock());
    CHECK_FALSE(rw.try_lock());
    rw.runlock();
    rw.runlock();
    REQUIRE(rw.try_lock());
    CHECK_FALSE(rw.try_rlock());
    CHECK_FALSE(rw.try_lock());
    rw.unlock();
    CHECK(rw.try_rlock());
    rw.runlock();
}

TEST_CASE("rw_mutex: a waiting writer makes try_rlock fail", "[rw_mutex]")
{
    auto fn = []() -> goro::task<int> {
        goro::rw_mutex rw;
        std::atomic<int> started{0};
        std::string log;
        goro::wait_group wg;
        auto rlk = co_await rw.rlock();
        wg.add(1);
        goro::go(logger(&rw, true, &log, &started, &wg));
        bool writer_started = co_await yield_until_count(&started, 1);
        if (!writer_started)
            co_return -1;
        int result = 0;
        for (int i = 0; i < 1000 && log.empty() && rw.try_rlock(); ++i) { // until the writer has announced itself
            rw.runlock();
            co_await goro::yield();
        }
        result += !rw.try_rlock(); // the writer is waiting for us: new readers stay out
        rlk.unlock();
        co_await wg.wait();
        result += log == "W";
        co_return result;
    };
    CHECK(goro::run(fn()) == 2);
}

TEST_CASE("rw_mutex: unlock and runlock of an unlocked rw_mutex panic and change nothing", "[rw_mutex]")
{
    goro::rw_mutex rw;
    CHECK_THROWS_WITH(rw.unlock(), "goro::rw_mutex: unlock of unlocked rw_mutex");
    CHECK_THROWS_WITH(rw.runlock(), "goro::rw_mutex: runlock of unlocked rw_mutex");
    REQUIRE(rw.try_rlock());
    CHECK_THROWS_WITH(rw.unlock(), "goro::rw_mutex: unlock of unlocked rw_mutex"); // read-locked only
    rw.runlock();
    REQUIRE(rw.try_lock());
    CHECK_THROWS_WITH(rw.runlock(), "goro::rw_mutex: runlock of unlocked rw_mutex"); // write-locked only
    rw.unlock();
    CHECK(rw.try_lock()); // nothing was left behind
    rw.unlock();
    CHECK(rw.try_rlock());
    rw.runlock();
}

TEST_CASE("rw_mutex: waiting outside a goroutine panics and changes nothing", "[rw_mutex]")
{
    goro::rw_mutex rw;
    REQUIRE(rw.try_rlock());
    {
        auto aw = rw.lock(); // read-locked: the writer would have to wait for us
        CHECK_FALSE(aw.await_ready());
        CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    }
    CHECK(rw.try_rlock()); // the writer neither holds the writers' mutex nor blocks readers
    rw.runlock();
    rw.runlock();
    REQUIRE(rw.try_lock());
    {
        auto aw = rw.rlock();
        CHECK_FALSE(aw.await_ready());
        CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    }
    rw.unlock(); // no reader was counted in: unlock has nobody to let in
    CHECK(rw.try_lock());
    rw.unlock();
}

TEST_CASE("rw_mutex: lock and rlock loops spend the cooperative budget (1 P)", "[rw_mutex][fairness][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::rw_mutex rw;
    CHECK(rt.run(goro_test::iterations_before_others_run(&lock_then_rlock, &rw)) <= 256);
}
