// goro::context under contention (for ThreadSanitizer): a parent cancelled
// while goroutines create children and grandchildren under it (some with
// deadlines racing the cancel), wait on them, cancel them and drop them,
// and while a thread outside the runtime cancels others. Bounded rounds,
// with a watchdog; every waiter must wake with the right error.
#include "context/inspect.hpp"

#include "../support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::atomic<long> progress{0};

struct tally {
    std::atomic<int> woke{0};
    std::atomic<int> wrong{0};
};

bool expected(std::error_code e)
{
    return e == goro::errc::canceled || e == goro::errc::deadline_exceeded;
}

goro::task<> child_worker(goro::context parent, int seed, tally* t, goro::wait_group* wg)
{
    for (int i = 0; i < 20; ++i) {
        auto [c, cancel] = (seed + i) % 3 == 0 ? goro::with_timeout(parent, std::chrono::microseconds((seed * 7 + i) % 200))
                                               : goro::with_cancel(parent);
        auto [gc, cancel_gc] = goro::with_cancel(c);
        if ((seed + i) % 4 == 0)
            cancel_gc();
        if ((seed + i) % 5 == 0) {
            cancel();
            co_await gc.done();
        } else if (parent.err()) {
            co_await gc.done(); // the parent's cancel reaches the grandchild
        } else {
            auto r = co_await goro::select(gc.done(), goro::after(std::chrono::microseconds(50)));
            (void)r;
        }
        if (gc.err() && !expected(gc.err()))
            t->wrong.fetch_add(1, std::memory_order_relaxed); // relaxed: read after run()
        progress.fetch_add(1, std::memory_order_relaxed);    // relaxed: a watchdog counter
    }
    co_await parent.done();
    if (!expected(parent.err()))
        t->wrong.fetch_add(1, std::memory_order_relaxed); // relaxed: read after run()
    t->woke.fetch_add(1, std::memory_order_relaxed);      // relaxed: read after run()
    wg->done();
}

goro::task<> round(int r, tally* t)
{
    auto [parent, cancel] = goro::with_cancel(goro::background());
    goro::wait_group wg;
    wg.add(8);
    for (int i = 0; i < 8; ++i)
        goro::go(child_worker(parent, r * 8 + i, t, &wg));
    co_await goro::sleep(std::chrono::microseconds(r % 300));
    cancel();
    co_await wg.wait();
    if (goro::detail::context_children(parent) != 0)
        t->wrong.fetch_add(1, std::memory_order_relaxed); // relaxed: read after run()
}

goro::task<> rounds(int n, tally* t, goro::cancel_func* foreign_cancel, std::atomic<bool>* stop)
{
    for (int r = 0; r < n; ++r) {
        co_await round(r, t);
        (*foreign_cancel)(); // harmless repeats, racing the thread's calls
    }
    stop->store(true, std::memory_order_release); // release: pairs with the thread's acquire
}

} // namespace

TEST_CASE("stress: cancel racing new children, deadlines, waiters and a foreign thread", "[context][stress]")
{
    goro_test::watchdog dog(progress);
    tally t;
    auto [shared, shared_cancel] = goro::with_cancel(goro::background());
    std::atomic<bool> stop{false};
    // A thread outside the runtime keeps making and cancelling children of
    // `shared` (and cancels `shared` once), racing the goroutines below.
    std::thread outsider([&stop, shared = shared, shared_cancel = shared_cancel] {
        for (int i = 0; !stop.load(std::memory_order_acquire) && i < 200'000; ++i) {
            auto [c, cancel] = goro::with_cancel(shared);
            if (i == 500)
                shared_cancel();
            cancel();
        }
    });
    goro::runtime rt(goro::runtime_config{2});
    goro::cancel_func fc = shared_cancel;
    rt.run(rounds(40, &t, &fc, &stop));
    outsider.join();
    CHECK(t.woke.load() == 40 * 8);
    CHECK(t.wrong.load() == 0);
    CHECK(shared.err() == goro::errc::canceled);
    CHECK(goro::detail::context_children(shared) == 0);
}
