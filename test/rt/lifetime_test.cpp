// The lifetime contract of a run: when run() returns, every goroutine of that
// run is gone (parked ones withdrawn from what they wait on, every frame
// destroyed with its destructors run), nothing of it is ever resumed by a
// later run, and calls from other threads either reach the running runtime
// or throw goro::panic, at any moment. Under the ASan build LeakSanitizer
// also checks that no frame leaks.
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

// Counts live instances; a frame that holds one and is never destroyed
// leaves the count above zero.
struct counted {
    static inline std::atomic<int> live{0};
    counted() noexcept { live.fetch_add(1); }
    counted(const counted&) noexcept { live.fetch_add(1); }
    counted(counted&&) noexcept { live.fetch_add(1); }
    counted& operator=(const counted&) = default;
    ~counted() { live.fetch_sub(1); }
};

goro::task<void> noop(counted) { co_return; } // the frame holds the argument

goro::task<void> short_main() { co_return; }

} // namespace

TEST_CASE("lifetime: go() from another thread while runs start and end takes effect or throws", "[lifetime]")
{
    // Before: the scheduler was looked up, then used, with nothing keeping it
    // alive (heap-use-after-free in the global queue under ASan).
    goro::runtime rt(goro::runtime_config{1});
    std::atomic<bool> stop{false};
    std::atomic<long> started{0}, refused{0};
    std::thread other([&] {
        while (!stop.load()) {
            try {
                goro::go(noop(counted{}));
                started.fetch_add(1);
            } catch (const goro::panic&) {
                refused.fetch_add(1);
            }
        }
    });
    // Runs come and go until the other thread has tried often enough
    // (bounded, so a stuck thread fails the check below instead of hanging).
    for (int i = 0; i < 1'000'000 && (i < 2000 || started.load() + refused.load() < 2000); ++i)
        rt.run(short_main());
    stop.store(true);
    other.join();
    CHECK(started.load() + refused.load() >= 2000);
    CHECK(counted::live.load() == 0); // every started goroutine ran or was destroyed; refused ones were freed
}

TEST_CASE("lifetime: try_send and num_goroutine from another thread while runs end", "[lifetime]")
{
    goro::chan<int> ch(0);
    goro::runtime rt(goro::runtime_config{2});
    std::atomic<bool> stop{false};
    std::thread other([&] {
        while (!stop.load()) {
            (void)ch.try_send(1); // may hand a value to a receiver of a run that is ending
            (void)goro::num_goroutine();
        }
    });
    std::atomic<long> received{0};
    for (int i = 0; i < 1000; ++i) {
        auto main = [](goro::chan<int> ch, std::atomic<long>* received) -> goro::task<void> {
            goro::go(
                [](goro::chan<int> ch, std::atomic<long>* received) -> goro::task<void> {
                    if (co_await ch.recv())
                        received->fetch_add(1);
                },
                ch, received);
            co_await goro::yield();
        };
        rt.run(main(ch, &received));
    }
    stop.store(true);
    other.join();
    // Nothing of the runs is left parked on the channel: a try_send finds no receiver.
    CHECK_FALSE(ch.try_send(2));
}

TEST_CASE("lifetime: a select readied but not run when main returns leaves no waiter behind", "[lifetime][policy]")
{
    // One P: main readies the select's goroutine (a value on `a`), then
    // returns before it runs. Before: its waiter on `b` stayed linked after
    // its frame was destroyed, and the try_send below walked it.
    goro::chan<std::string> a(0);
    goro::chan<int> b(0);
    goro::chan<int> b1(1);
    goro::runtime rt(goro::runtime_config{1});
    auto main = [](goro::chan<std::string> a, goro::chan<int> b, goro::chan<int> b1) -> goro::task<bool> {
        goro::go(
            [](goro::chan<std::string> a, goro::chan<int> b, goro::chan<int> b1) -> goro::task<void> {
                counted c;
                auto r = co_await goro::select(a.recv(), b.recv(), b1.recv());
                (void)r;
            },
            a, b, b1);
        co_await goro::yield(); // one P: it runs and parks in the select
        // A string on the heap: LSan reports it if the undelivered value leaks.
        co_return a.try_send(std::string(64, 'x'));
    };
    CHECK(rt.run(main(a, b, b1))); // the select was parked and took the value
    CHECK(counted::live.load() == 0);
    CHECK_FALSE(b.try_send(1)); // nobody waits on b any more
    CHECK(b1.try_send(1));      // the buffer takes it: no stale receiver swallows it
    CHECK(b1.size() == 1);
}

namespace {

goro::task<void> park_forever_on(goro::chan<int> ch, [[maybe_unused]] counted c, goro::wait_group* parked)
{
    parked->done();
    (void)co_await ch.recv();
}

goro::task<void> park_on_nil([[maybe_unused]] counted c, goro::wait_group* parked)
{
    goro::chan<int> nil;
    parked->done();
    (void)co_await nil.recv();
}

goro::task<void> send_forever(goro::chan<std::string> ch, [[maybe_unused]] counted c, goro::wait_group* parked)
{
    parked->done();
    co_await ch.send(std::string(100, 's'));
}

goro::task<int> never_finishes(goro::chan<int> ch, [[maybe_unused]] counted c)
{
    (void)co_await ch.recv();
    co_return 1;
}

goro::task<void> join_forever(goro::chan<int> ch, [[maybe_unused]] counted c, goro::wait_group* parked)
{
    auto h = goro::spawn(never_finishes(ch, counted{}));
    parked->done();
    co_await h;
}

goro::task<void> wait_forever(goro::wait_group* never, [[maybe_unused]] counted c, goro::wait_group* parked)
{
    parked->done();
    co_await never->wait();
}

goro::task<void> main_leaves_goroutines_parked(goro::chan<int> ch, goro::chan<std::string> sch,
                                               goro::wait_group* never)
{
    goro::wait_group parked;
    parked.add(6);
    goro::go(park_forever_on(ch, counted{}, &parked));
    goro::go(park_on_nil(counted{}, &parked));
    goro::go(send_forever(sch, counted{}, &parked));
    goro::go(join_forever(ch, counted{}, &parked));
    goro::go(wait_forever(never, counted{}, &parked));
    auto h = goro::spawn(park_forever_on(ch, counted{}, &parked)); // joinable; the handle dies with main
    co_await parked.wait();
    for (int i = 0; i < 10; ++i)
        co_await goro::yield(); // let each reach its wait
}

} // namespace

TEST_CASE("lifetime: goroutines parked when main returns are destroyed, on every kind of wait", "[lifetime]")
{
    goro::chan<int> ch(0);
    goro::chan<std::string> sch(0);
    goro::wait_group never;
    never.add(1);
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        rt.run(main_leaves_goroutines_parked(ch, sch, &never));
        CHECK(counted::live.load() == 0);
        // The objects they waited on are consistent: nothing is parked on them.
        CHECK_FALSE(ch.try_send(1));
        CHECK_FALSE(sch.try_recv().has_value());
    }
    // The wait_group counts no stale waiter: done() releases no semaphore
    // unit for the destroyed ones, so a waiter of the next round parks until
    // its own done().
    never.done();
    never.add(1);
    goro::runtime rt(goro::runtime_config{1});
    auto check = [](goro::wait_group* wg) -> goro::task<int> {
        std::atomic<int> woke{0};
        goro::wait_group finished;
        finished.add(1);
        goro::go(
            [](goro::wait_group* wg, std::atomic<int>* woke, goro::wait_group* finished) -> goro::task<void> {
                co_await wg->wait();
                woke->store(1);
                finished->done();
            },
            wg, &woke, &finished);
        for (int i = 0; i < 5; ++i)
            co_await goro::yield();
        const int before = woke.load();
        wg->done();
        co_await finished.wait();
        co_return before * 10 + woke.load();
    };
    CHECK(rt.run(check(&never)) == 1); // not woken before done(), woken after
}

namespace {

goro::task<int> counts_resumes(goro::chan<int> ch, std::atomic<int>* resumed)
{
    (void)co_await ch.recv();
    resumed->fetch_add(1);
    co_return 0;
}

} // namespace

TEST_CASE("lifetime: a goroutine parked when run 1 ended never runs in run 2", "[lifetime]")
{
    // Before: it stayed on the channel's queue, and a send in run 2 woke it
    // there, in a runtime that never started it (num_goroutine then read 0).
    goro::chan<int> ch(0);
    std::atomic<int> resumed{0};
    goro::runtime rt(goro::runtime_config{1});
    auto first = [](goro::chan<int> ch, std::atomic<int>* resumed) -> goro::task<void> {
        goro::go(counts_resumes(ch, resumed));
        co_await goro::yield(); // it parks on ch
    };
    rt.run(first(ch, &resumed));
    auto second = [](goro::chan<int> ch) -> goro::task<long> {
        bool taken = ch.try_send(1);
        co_await goro::yield();
        co_return taken ? -1 : goro::num_goroutine();
    };
    CHECK(rt.run(second(ch)) == 1); // only main; nobody took the value
    CHECK(resumed.load() == 0);
}

TEST_CASE("lifetime: a runnable spawned goroutine whose handle was dropped is destroyed", "[lifetime]")
{
    // Before: its frame was abandoned (never run, never destroyed: LSan).
    goro::runtime rt(goro::runtime_config{1});
    auto main = []() -> goro::task<void> {
        for (int i = 0; i < 10; ++i) {
            auto h = goro::spawn(noop(counted{}));
            h.detach();
        }
        co_return; // they are queued behind main and never run
    };
    rt.run(main());
    CHECK(counted::live.load() == 0);
}

TEST_CASE("lifetime: a join handle that outlives its run owns the unfinished goroutine", "[lifetime]")
{
    goro::chan<int> ch(0);
    goro::runtime rt(goro::runtime_config{1});
    auto first = [](goro::chan<int> ch) -> goro::task<goro::join_handle<int>> {
        auto h = goro::spawn(never_finishes(ch, counted{}));
        co_await goro::yield(); // it parks on ch
        co_return std::move(h);
    };
    goro::join_handle<int> h = rt.run(first(ch));
    CHECK(counted::live.load() == 1); // the frame waits for its handle
    CHECK_FALSE(h.done());
    auto second = [](goro::join_handle<int>* h) -> goro::task<std::string> {
        try {
            co_await *h;
        } catch (const goro::panic& e) {
            co_return e.what();
        }
        co_return "joined";
    };
    CHECK(rt.run(second(&h)) == "goro::join_handle: the goroutine was destroyed unfinished when its runtime stopped");
    h = {}; // the last owner destroys the frame
    CHECK(counted::live.load() == 0);
}
