// goro::rw_mutex: Go's sync.RWMutex semantics. Readers hold the lock
// together; a writer excludes readers and writers (a stress on several Ps
// whose invariant a torn read would break, and ThreadSanitizer watches the
// plain fields); a waiting writer blocks new readers, so a continuous stream
// of overlapping readers cannot starve it, and the readers it blocked get in
// before the next writer; try_lock / try_rlock; misuse and waiting outside a
// goroutine panic without changing the lock; and the cooperative budget.
// At the end of a run: a writer or reader let in but never run gives the
// lock back, a writer woken by the writers' mutex gives back the wake, and
// waiters withdrawn give back nothing.
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


// Sets `started`, takes the write lock (or a read lock), then adds one to
// `got`.
goro::task<void> lock_counting(goro::rw_mutex* rw, bool write, std::atomic<int>* started, std::atomic<int>* got)
{
    started->fetch_add(1);
    if (write) {
        auto lk = co_await rw->lock();
        got->fetch_add(1);
    } else {
        auto lk = co_await rw->rlock();
        got->fetch_add(1);
    }
}

// One round through `rw` in a run of its own (1 P): main takes the write
// lock, a writer and a reader queue behind it, main unlocks. True if both got
// the lock within 100 yields and the lock is free afterwards; false also if
// main could not take the write lock at once.
goro::task<bool> rw_round(goro::rw_mutex* rw)
{
    if (!rw->try_lock())
        co_return false;
    goro::rw_mutex::write_guard lk(*rw, std::adopt_lock);
    std::atomic<int> started{0}, got{0};
    goro::go(lock_counting(rw, true, &started, &got));
    goro::go(lock_counting(rw, false, &started, &got));
    bool queued = co_await yield_until_count(&started, 2); // both parked behind main
    lk.unlock();
    for (int i = 0; i < 100 && got.load() < 2; ++i)
        co_await goro::yield();
    if (!queued || got.load() != 2 || !rw->try_lock())
        co_return false;
    rw->unlock();
    co_return true;
}
enum class hold { read, write };

// The main goroutine of a run (1 P) that ends with a goroutine W parked
// behind main, or let in by main but not yet run: main takes the lock as
// `mine` says, W queues for it as `its` says, and main unlocks (`unlock`) or
// keeps its hold past the end of the run. True if W parked and never got in.
goro::task<bool> end_run_behind_main(goro::rw_mutex* rw, hold mine, hold its, bool unlock)
{
    if (!(mine == hold::write ? rw->try_lock() : rw->try_rlock()))
        co_return false;
    std::atomic<int> started{0}, got{0};
    goro::go(lock_counting(rw, its == hold::write, &started, &got));
    bool parked = co_await yield_until_count(&started, 1);
    if (unlock) {
        if (mine == hold::write)
            rw->unlock();
        else
            rw->runlock();
    }
    co_return parked && got.load() == 0;
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
    REQUIRE(rw.try_rlock());
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
    REQUIRE(rw.try_rlock());
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

// # The end of a run
// A goroutine that rw_mutex let in, but that never ran because the run
// ended, holds the lock it was given; the end of the run destroys it, and it
// must give that lock back. One parked there is withdrawn first and must not
// give back what it never got. On one P, main wakes the waiter and returns
// at once: the woken goroutine is runnable and never runs
// (end_run_behind_main).

// [policy]: W must not run between main's runlock and main's return (one P).
TEST_CASE("rw_mutex: a writer let in by the last reader but destroyed before it ran unlocks (1 P)",
          "[rw_mutex][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::rw_mutex rw;
    // W announces itself and waits for main; main, the last reader out,
    // hands it the write lock.
    REQUIRE(rt.run(end_run_behind_main(&rw, hold::read, hold::write, true)));
    REQUIRE(rw.try_rlock());
    rw.runlock();
    CHECK(rt.run(rw_round(&rw)));
}

// [policy]: R must not run between main's unlock and main's return (one P).
TEST_CASE("rw_mutex: a reader let in by the writer's unlock but destroyed before it ran runlocks (1 P)",
          "[rw_mutex][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::rw_mutex rw;
    // R counts itself in and waits; main's unlock hands it a read lock.
    REQUIRE(rt.run(end_run_behind_main(&rw, hold::write, hold::read, true)));
    REQUIRE(rw.try_lock());
    rw.unlock();
    CHECK(rt.run(rw_round(&rw)));
}

// [policy]: W must not run between main's unlock and main's return (one P).
TEST_CASE("rw_mutex: a writer woken by the writers' mutex but destroyed before it ran leaves it usable (1 P)",
          "[rw_mutex][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::rw_mutex rw;
    // W parks on the writers' mutex; main's unlock wakes it to compete.
    REQUIRE(rt.run(end_run_behind_main(&rw, hold::write, hold::write, true)));
    // A stale wake-up on the writers' mutex would make the next writer's
    // unlock wake nobody.
    CHECK(rt.run(rw_round(&rw)));
}

TEST_CASE("rw_mutex: waiters parked at the end of a run give back nothing they did not get (1 P)",
          "[rw_mutex][lifetime]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::rw_mutex rw;
    // A writer parked until main's read lock goes: withdrawn, it undoes its
    // announcement and its hold of the writers' mutex.
    REQUIRE(rt.run(end_run_behind_main(&rw, hold::read, hold::write, false)));
    CHECK_NOTHROW(rw.runlock()); // main's read lock
    CHECK(rt.run(rw_round(&rw)));
    // A reader parked behind main's write lock: withdrawn, it counts itself out.
    REQUIRE(rt.run(end_run_behind_main(&rw, hold::write, hold::read, false)));
    CHECK_NOTHROW(rw.unlock()); // main's write lock
    CHECK(rt.run(rw_round(&rw)));
}
