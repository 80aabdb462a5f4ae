// goro::mutex: Go's sync.Mutex semantics. Mutual exclusion under stress on
// several Ps (a plain counter ends exact, and ThreadSanitizer sees the
// happens-before the lock provides); misuse panics that leave the mutex
// usable; try_lock and the guard; the cooperative budget (a lock loop lets
// others run, and never yields while holding a lock it just took); and the
// two queueing rules built deterministically on one P: a woken waiter that
// loses to a barging goroutine goes back to the FRONT of the queue, and a
// waiter aged past 1 ms puts the mutex in starvation mode, where unlock hands
// the lock to it ahead of a newcomer that would otherwise barge in. Also at
// the end of a run: a waiter woken but never run (normal mode, starvation
// handoff) and waiters withdrawn in starvation mode leave the mutex usable by
// the next run.
#include "support/baton.hpp"
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <string>
#include <thread>

namespace {

// Locks `mu` (after `gate`, if any, is given), appends `name` to `log`, unlocks.
goro::task<void> locker(goro::mutex* mu, std::atomic<bool>* started, std::string* log, char name,
                        goro::wait_group* wg, goro_test::baton* gate)
{
    started->store(true);
    if (gate)
        co_await gate->take();
    auto lk = co_await mu->lock();
    log->push_back(name);
    lk.unlock();
    wg->done();
}

// Yields until `flag` is set. On one P, a goroutine that sets a flag and then
// parks has parked by the time the yielding goroutine runs again.
goro::task<void> yield_until(std::atomic<bool>* flag)
{
    for (int i = 0; i < 1000 && !flag->load(); ++i)
        co_await goro::yield();
    REQUIRE(flag->load());
}

struct shared_counter {
    goro::mutex mu;
    long value = 0;                // guarded by mu: a plain field, so TSan checks it
    std::atomic<int> inside{0};    // goroutines inside the critical section
    std::atomic<long> violations{0};
    std::atomic<long> progress{0};
};

goro::task<void> increment(int id, shared_counter* c, int iterations, goro::wait_group* wg)
{
    for (int i = 0; i < iterations; ++i) {
        auto lk = co_await c->mu.lock();
        if (c->inside.fetch_add(1) != 0)
            c->violations.fetch_add(1);
        ++c->value;
        if ((i + id) % 64 == 0)
            co_await goro::yield(); // hold the lock across a suspension: others must park
        c->inside.fetch_sub(1);
        lk.unlock();
        if (i % 16 == 0)
            co_await goro::yield();
        c->progress.fetch_add(1);
    }
    wg->done();
}

goro::task<void> lock_unlock(goro::mutex* mu)
{
    auto lk = co_await mu->lock();
}

// Until `done`, looks at `mu` once per turn and counts the turns it was held.
goro::task<void> probe(goro::mutex* mu, std::atomic<bool>* done, std::atomic<long>* held, std::atomic<long>* looks)
{
    while (!done->load()) {
        if (mu->try_lock())
            mu->unlock();
        else
            held->fetch_add(1);
        looks->fetch_add(1);
        co_await goro::yield();
    }
}


// Sets `started`, then locks `mu` and holds it until the goroutine ends.
goro::task<void> lock_and_hold(goro::mutex* mu, std::atomic<bool>* started)
{
    started->store(true);
    auto lk = co_await mu->lock();
    co_await goro::yield();
}

// One handoff through `mu` in a run of its own (1 P): main takes the lock, X
// queues for it, main unlocks. True if X got the lock within 100 yields;
// false also if main could not take the lock at once.
goro::task<bool> handoff_round(goro::mutex* mu)
{
    if (!mu->try_lock())
        co_return false;
    goro::mutex::guard lk(*mu, std::adopt_lock);
    std::atomic<bool> started{false}, got{false};
    goro::go([](goro::mutex* mu, std::atomic<bool>* started, std::atomic<bool>* got) -> goro::task<void> {
        started->store(true);
        auto lk = co_await mu->lock();
        got->store(true);
    }, mu, &started, &got);
    co_await yield_until(&started); // X parked on mu
    lk.unlock();                    // must wake X
    for (int i = 0; i < 100 && !got.load(); ++i)
        co_await goro::yield();
    co_return got.load();
}

// Puts `mu`, locked by the caller, in starvation mode with `w_started`'s
// goroutine W at the front of its queue (the scenario of "starvation mode
// hands the lock to a waiter older than 1 ms"): W parks, ages past 1 ms, is
// woken, loses to the caller barging in, and queues again, starving.
goro::task<void> make_starving(goro::mutex* mu, goro::mutex::guard* lk, std::atomic<bool>* w_started)
{
    goro::go(lock_and_hold(mu, w_started));
    co_await yield_until(w_started); // W parked
    std::this_thread::sleep_for(std::chrono::milliseconds(2)); // bounds W's wait from below
    lk->unlock();                 // wakes W in normal mode
    *lk = co_await mu->lock();    // barge in ahead of it
    co_await goro::yield();       // W runs: held, and waited > 1 ms: starvation mode, W at the front
}
} // namespace

TEST_CASE("mutex: mutual exclusion under contention on several Ps", "[mutex][stress]")
{
    constexpr int goroutines = 32, iterations = 3000;
    shared_counter c;
    goro_test::watchdog dog(c.progress, "mutex: a waiter was never woken");
    goro::runtime rt(goro::runtime_config{4});
    auto fn = [](shared_counter* c) -> goro::task<long> {
        co_await goro_test::go_n_and_wait(goroutines, &increment, c, iterations);
        co_return c->value;
    };
    CHECK(rt.run(fn(&c)) == long(goroutines) * iterations);
    CHECK(c.violations.load() == 0);
    CHECK(c.mu.try_lock()); // left unlocked, in normal mode
}

TEST_CASE("mutex: unlock of an unlocked mutex panics and changes nothing", "[mutex]")
{
    goro::mutex mu;
    CHECK_THROWS_AS(mu.unlock(), goro::panic);
    CHECK_THROWS_WITH(mu.unlock(), "goro::mutex: unlock of unlocked mutex");
    REQUIRE(mu.try_lock());
    CHECK_FALSE(mu.try_lock());
    mu.unlock();
    CHECK_THROWS_WITH(mu.unlock(), "goro::mutex: unlock of unlocked mutex");
    CHECK(mu.try_lock());
    mu.unlock();
}

TEST_CASE("mutex: try_lock, and the guard's ownership rules", "[mutex]")
{
    auto fn = []() -> goro::task<int> {
        goro::mutex mu;
        int checks = 0;
        {
            auto lk = co_await mu.lock();
            checks += lk.owns_lock() && lk.get() == &mu;
            checks += !mu.try_lock();
            goro::mutex::guard moved = std::move(lk);
            checks += !lk.owns_lock() && moved.owns_lock();
            moved.unlock();
            checks += !moved && mu.try_lock();
            goro::mutex::guard adopted(mu, std::adopt_lock);
            goro::mutex* m = adopted.release();
            checks += m == &mu && !mu.try_lock();
            mu.unlock();
            try {
                moved.unlock();
            } catch (const goro::panic& e) {
                checks += std::string(e.what()) == "goro: unlock of a guard that owns no lock";
            }
        } // the guards own nothing here: nothing is unlocked twice
        checks += mu.try_lock();
        mu.unlock();
        co_return checks;
    };
    CHECK(goro::run(fn()) == 7);
}

TEST_CASE("mutex: an unlock by another goroutine wakes the waiter", "[mutex]")
{
    auto fn = []() -> goro::task<int> {
        goro::mutex mu;
        if (!mu.try_lock())
            co_return -1; // not REQUIRE: this may run on another worker
        goro::go([](goro::mutex* mu) -> goro::task<void> {
            co_await goro::yield();
            mu->unlock(); // Go allows unlocking from another goroutine
        }, &mu);
        auto lk = co_await mu.lock();
        co_return lk.owns_lock() ? 1 : 0;
    };
    CHECK(goro::run(fn()) == 1);
}

TEST_CASE("mutex: waiting outside a goroutine panics and leaves the mutex held", "[mutex]")
{
    goro::mutex mu;
    REQUIRE(mu.try_lock());
    auto aw = mu.lock();
    CHECK_FALSE(aw.await_ready());
    CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    mu.unlock(); // still held by us, and nobody was queued
    CHECK(mu.try_lock());
    mu.unlock();
}

TEST_CASE("mutex: an uncontended lock loop spends the cooperative budget (1 P)", "[mutex][fairness][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::mutex mu;
    CHECK(rt.run(goro_test::iterations_before_others_run(&lock_unlock, &mu)) <= 256);
}

// [policy]: the prober gets its ten looks only if the budget (128) makes the
// locks yield.
TEST_CASE("mutex: lock never yields while holding the lock it just took (1 P)", "[mutex][fairness][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<long> {
        goro::mutex mu;
        std::atomic<bool> done{false};
        std::atomic<long> seen_held{0}, looks{0};
        auto prober = goro::spawn(probe(&mu, &done, &seen_held, &looks));
        // Yields every 128 iterations, before taking the lock, to its own
        // P's queue; the prober yields through the global queue, which the P
        // looks at every 61 schedules: ~80,000 locks give it ten looks.
        for (long i = 0; looks.load() < 10 && i < 10'000'000; ++i) {
            auto lk = co_await mu.lock();
        }
        done.store(true);
        co_await prober;
        co_return looks.load() >= 10 ? seen_held.load() : -1;
    };
    CHECK(rt.run(fn()) == 0);
}

// [policy]: the scenario is built from one P's interleaving: the woken W
// runs (from runnext) during main's single yield.
TEST_CASE("mutex: a woken waiter that loses to a barger goes back to the front (1 P)", "[mutex][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        goro::mutex mu;
        std::string log;
        goro::wait_group wg;
        std::atomic<bool> w_started{false}, x_started{false};
        auto lk = co_await mu.lock();
        wg.add(2);
        goro::go(locker(&mu, &w_started, &log, 'W', &wg, nullptr));
        co_await yield_until(&w_started); // W parked: queue W
        goro::go(locker(&mu, &x_started, &log, 'X', &wg, nullptr));
        co_await yield_until(&x_started); // X parked: queue W X
        lk.unlock();                      // wakes W; it has not run yet
        lk = co_await mu.lock();          // so we barge in ahead of it
        co_await goro::yield();           // W runs, loses, and must queue at the front: W X
        lk.unlock();                      // wakes the front waiter
        co_await wg.wait();
        co_return log;
    };
    CHECK(rt.run(fn()) == "WX");
}

// [policy]: the scenario is built from one P's interleaving, and N only
// competes with W because runnext runs it first.
TEST_CASE("mutex: starvation mode hands the lock to a waiter older than 1 ms (1 P)", "[mutex][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto fn = []() -> goro::task<std::string> {
        goro::mutex mu;
        std::string log;
        goro::wait_group wg;
        goro_test::baton gate;
        std::atomic<bool> w_started{false}, n_started{false};
        auto lk = co_await mu.lock();
        wg.add(2);
        goro::go(locker(&mu, &w_started, &log, 'W', &wg, nullptr));
        co_await yield_until(&w_started); // W parked on the mutex
        // Age W past the 1 ms threshold. This bounds W's wait from below; a
        // slow machine only makes it older.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        lk.unlock();             // wakes W in normal mode; it has not run yet
        lk = co_await mu.lock(); // barge in ahead of it
        co_await goro::yield();  // W runs: held, and waited > 1 ms: starvation mode
        goro::go(locker(&mu, &n_started, &log, 'N', &wg, &gate));
        co_await yield_until(&n_started); // N waits for the gate, not yet for the mutex
        lk.unlock();  // starvation mode: the lock now belongs to W
        gate.give();  // N becomes runnable ahead of W (runnext): in normal mode it would barge in
        co_await wg.wait();
        // The last waiter took the lock out of starvation mode: try_lock works again.
        bool normal = mu.try_lock();
        if (normal)
            mu.unlock();
        co_return log + (normal ? "" : " still starving");
    };
    CHECK(rt.run(fn()) == "WN");
}

TEST_CASE("mutex: many goroutines parked on one mutex all get it (2 Ps)", "[mutex][stress]")
{
    std::atomic<long> progress{0};
    goro_test::watchdog dog(progress, "mutex: a waiter was never woken");
    goro::runtime rt(goro::runtime_config{2});
    auto fn = [](std::atomic<long>* progress) -> goro::task<long> {
        goro::mutex mu;
        long total = 0;
        for (int round = 0; round < 20; ++round) {
            goro::wait_group wg;
            auto lk = co_await mu.lock();
            wg.add(200);
            for (int i = 0; i < 200; ++i)
                goro::go([](goro::mutex* mu, long* total, std::atomic<long>* progress,
                            goro::wait_group* wg) -> goro::task<void> {
                    auto lk = co_await mu->lock();
                    ++*total;
                    lk.unlock();
                    progress->fetch_add(1);
                    wg->done();
                }, &mu, &total, progress, &wg);
            for (int i = 0; i < 20; ++i)
                co_await goro::yield(); // let many of them park
            lk.unlock();
            co_await wg.wait();
        }
        auto lk = co_await mu.lock();
        co_return total;
    };
    CHECK(rt.run(fn(&progress)) == 20 * 200);
}

// # The end of a run
// A goroutine the mutex woke, but that never ran because the run ended, is
// destroyed by the end of the run; so is one still parked on it (after it is
// withdrawn). The next run must find the mutex consistent. On one P, main
// wakes the waiter and returns at once: the woken goroutine is runnable and
// never runs.

// [policy]: W must not run between main's unlock and main's return (one P).
TEST_CASE("mutex: a waiter woken by unlock but destroyed before it ran leaves the mutex usable (1 P)",
          "[mutex][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::mutex mu;
    auto fn = [](goro::mutex* mu) -> goro::task<void> {
        std::atomic<bool> started{false};
        auto lk = co_await mu->lock();
        goro::go(lock_and_hold(mu, &started));
        co_await yield_until(&started); // W parked
        lk.unlock(); // wakes W in normal mode (sets `woken` for it); the run ends before it runs
    };
    rt.run(fn(&mu));
    // A stale `woken` would make the next unlock wake nobody.
    CHECK(rt.run(handoff_round(&mu)));
    REQUIRE(mu.try_lock());
    mu.unlock();
}

// [policy]: the scenario is one P's interleaving (see make_starving).
TEST_CASE("mutex: a waiter handed the lock in starvation mode but destroyed before it ran gives it back (1 P)",
          "[mutex][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::mutex mu;
    auto fn = [](goro::mutex* mu) -> goro::task<void> {
        std::atomic<bool> w_started{false};
        auto lk = co_await mu->lock();
        co_await make_starving(mu, &lk, &w_started);
        lk.unlock(); // starvation mode: the lock now belongs to W, which never runs
    };
    rt.run(fn(&mu));
    // W's lock was given back and it left starvation mode: the lock is free.
    REQUIRE(mu.try_lock());
    mu.unlock();
    CHECK(rt.run(handoff_round(&mu)));
}

// [policy]: the scenario is one P's interleaving (see make_starving).
TEST_CASE("mutex: waiters withdrawn at the end of a run in starvation mode leave it (1 P)",
          "[mutex][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::mutex mu;
    auto fn = [](goro::mutex* mu) -> goro::task<void> {
        std::atomic<bool> w_started{false}, v_started{false};
        auto lk = co_await mu->lock();
        co_await make_starving(mu, &lk, &w_started);
        goro::go(lock_and_hold(mu, &v_started));
        co_await yield_until(&v_started); // V queued behind W
        (void)lk.release(); // the run ends with the lock held and W and V parked
    };
    rt.run(fn(&mu));
    mu.unlock(); // main's hold; W and V were withdrawn, so nobody is woken
    REQUIRE(mu.try_lock());
    mu.unlock();
    CHECK(rt.run(handoff_round(&mu)));
}
