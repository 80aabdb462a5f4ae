// goro::blocking: fn's results of several kinds and its exceptions reach the
// goroutine; many goroutines call it at once (a watchdog turns a lost wake
// into a failure); at most max_blocking_threads fns run at once and queued
// calls still complete; idle threads retire after the keep-alive; the P keeps
// running goroutines while fn blocks (GOMAXPROCS=1); the end of a run drops
// queued calls and waits for a running fn before destroying its frame;
// awaiting outside a goroutine panics; the config is validated.
#include "blocking/pool.hpp"
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

// Bounds the waits inside fns and polling loops; far above anything a loaded
// machine needs, so no test depends on timing to pass.
constexpr auto patience = 60s;

goro::runtime_config config(unsigned procs, std::size_t max_threads = 512,
                            std::chrono::nanoseconds keep_alive = std::chrono::seconds(10))
{
    goro::runtime_config c;
    c.procs = procs;
    c.max_blocking_threads = max_threads;
    c.blocking_keep_alive = keep_alive;
    return c;
}

/// Waits (sleeping, on the calling thread) until pred() or `patience` ran out.
template <class Pred>
bool wait_until(Pred pred)
{
    const auto until = std::chrono::steady_clock::now() + patience;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

struct my_error {
    int code;
};

struct results {
    int i = 0;
    std::string s;
    bool void_ran = false;
    std::unique_ptr<int> p;
    bool ref_is_local = false;
    int local_after = 0;
    bool other_thread = true;
    std::string runtime_error;
    int my_error_code = 0;
};

goro::task<results> kinds()
{
    results r;
    const std::thread::id worker = std::this_thread::get_id(); // 1 P: the test thread

    auto make_int = [] { return 42; };
    r.i = co_await goro::blocking(make_int);

    auto make_string = [] { return std::string(100, 'x'); }; // heap-allocated: a real move
    r.s = co_await goro::blocking(make_string);

    std::thread::id fn_thread;
    auto no_result = [&r, &fn_thread] {
        r.void_ran = true;
        fn_thread = std::this_thread::get_id();
    };
    co_await goro::blocking(no_result);
    r.other_thread = fn_thread != worker;

    auto make_unique = [] { return std::make_unique<int>(7); };
    r.p = co_await goro::blocking(make_unique);

    int local = 1;
    auto ref_to_local = [&local]() -> int& { return local; };
    int& ref = co_await goro::blocking(ref_to_local);
    r.ref_is_local = &ref == &local;
    ref = 5;
    r.local_after = local;

    auto throw_runtime = []() -> int { throw std::runtime_error("boom"); };
    try {
        co_await goro::blocking(throw_runtime);
    } catch (const std::runtime_error& e) {
        r.runtime_error = e.what();
    }
    auto throw_mine = [] { throw my_error{9}; };
    try {
        co_await goro::blocking(throw_mine);
    } catch (const my_error& e) {
        r.my_error_code = e.code;
    }
    co_return r;
}

// # Many goroutines at once

struct crowd {
    static constexpr int goroutines = 64;
    static constexpr int calls = 8;
    std::atomic<long> sum{0};
    std::atomic<long> progress{0};
};

goro::task<void> caller(int id, crowd* c, goro::wait_group* wg)
{
    for (int k = 0; k < crowd::calls; ++k) {
        auto compute = [id, k] {
            std::this_thread::yield(); // give the other calls a chance to overlap
            return long(id) * 1000 + k;
        };
        const long v = co_await goro::blocking(compute);
        c->sum.fetch_add(v);
        c->progress.fetch_add(1);
    }
    wg->done();
}

// # The limit

struct limited {
    static constexpr int calls = 8;
    std::atomic<int> running{0};
    std::atomic<int> max_running{0};
    std::atomic<bool> gate{false};
    std::atomic<long> sum{0};
    // What main saw while the gate was shut.
    bool saw_full = false;
    goro::detail::blocking_counts seen{};
};

goro::task<void> limited_call(int id, limited* l, goro::wait_group* wg)
{
    auto fn = [id, l] {
        const int now = l->running.fetch_add(1) + 1;
        int max = l->max_running.load();
        while (now > max && !l->max_running.compare_exchange_weak(max, now)) {
        }
        const auto until = std::chrono::steady_clock::now() + patience;
        while (!l->gate.load() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(1ms);
        l->running.fetch_sub(1);
        return id;
    };
    const int back = co_await goro::blocking(fn);
    l->sum.fetch_add(back);
    wg->done();
}

goro::task<void> limited_main(limited* l)
{
    goro::wait_group wg;
    wg.add(limited::calls);
    for (int i = 0; i < limited::calls; ++i)
        goro::go(limited_call(i, l, &wg));
    // Every call made: 2 running, 6 queued. Then let them go.
    const auto until = std::chrono::steady_clock::now() + patience;
    for (;;) {
        l->seen = goro::detail::blocking_pool_counts();
        if (l->seen.running == 2 && l->seen.queued == limited::calls - 2) {
            l->saw_full = true;
            break;
        }
        if (std::chrono::steady_clock::now() > until)
            break;
        co_await goro::yield();
    }
    l->gate.store(true);
    co_await wg.wait();
}

// # Retiring

struct crew {
    static constexpr int calls = 4;
    std::atomic<int> arrived{0};
    std::atomic<bool> all_arrived{false};
    goro::detail::blocking_counts at_peak{};
};

goro::task<void> crew_call(int, crew* c, goro::wait_group* wg)
{
    auto fn = [c] {
        if (c->arrived.fetch_add(1) + 1 == crew::calls) {
            c->at_peak = goro::detail::blocking_pool_counts();
            c->all_arrived.store(true);
        }
        const auto until = std::chrono::steady_clock::now() + patience;
        while (!c->all_arrived.load() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(1ms);
    };
    co_await goro::blocking(fn);
    wg->done();
}

// # One P

goro::task<void> set_flag(std::atomic<bool>* flag)
{
    co_await goro::yield(); // still runs only if the P is free
    flag->store(true);
    flag->notify_all();
}

goro::task<bool> wait_for_goroutine()
{
    std::atomic<bool> flag{false};
    goro::go(set_flag(&flag));
    auto wait_flag = [&flag] {
        flag.wait(false); // returns only once set_flag ran on the P
        return flag.load();
    };
    const bool set = co_await goro::blocking(wait_flag);
    co_return set;
}

// # The end of a run

struct ending {
    goro::chan<int> started{1};
    goro::chan<int> never{0};
    std::atomic<int> destroyed{0}; // frames of park_forever and queued_call
    std::atomic<bool> fn_saw_drain{false};
    std::atomic<bool> fn_done{false};
    std::atomic<int> frame_outlived_fn{-1};
    std::atomic<bool> long_call_resumed{false};
    std::atomic<int> queued_ran{0};
    std::size_t queued_at_end = 0;
};

struct count_on_destroy {
    std::atomic<int>* n;
    ~count_on_destroy() { n->fetch_add(1); }
};

struct check_fn_done_on_destroy {
    ending* e;
    ~check_fn_done_on_destroy() { e->frame_outlived_fn.store(e->fn_done.load() ? 1 : 0); }
};

goro::task<void> park_forever(ending* e)
{
    count_on_destroy guard{&e->destroyed};
    co_await e->never.recv();
}

goro::task<void> long_call(ending* e)
{
    check_fn_done_on_destroy check{e};
    char buf[64] = {};
    auto fn = [e, &buf] {
        e->started.try_send(1);
        // The run ends meanwhile: the drain destroys park_forever and the
        // three queued calls while this fn still runs.
        const auto until = std::chrono::steady_clock::now() + patience;
        while (e->destroyed.load() < 4 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(1ms);
        e->fn_saw_drain.store(e->destroyed.load() == 4);
        std::this_thread::sleep_for(20ms); // the drain keeps passing
        std::memcpy(buf, "written by fn", 14); // into the frame: ASan sees a use after free if it is gone
        e->fn_done.store(true);
    };
    co_await goro::blocking(fn);
    e->long_call_resumed.store(true); // never: the run ended
}

goro::task<void> queued_call(ending* e, goro::wait_group* wg)
{
    count_on_destroy guard{&e->destroyed};
    auto fn = [e] { e->queued_ran.fetch_add(1); };
    wg->done();
    co_await goro::blocking(fn);
}

goro::task<void> ending_main(ending* e)
{
    goro::go(park_forever(e));
    goro::go(long_call(e));
    co_await e->started.recv(); // the one blocking thread runs long_call's fn
    goro::wait_group wg;
    wg.add(3);
    for (int i = 0; i < 3; ++i)
        goro::go(queued_call(e, &wg));
    // One P: the last done() readies us, and its goroutine queues its call
    // before we run again.
    co_await wg.wait();
    e->queued_at_end = goro::detail::blocking_pool_counts().queued;
}

} // namespace

TEST_CASE("blocking: values, void, references, move-only values and exceptions reach the goroutine",
          "[blocking]")
{
    goro::runtime rt(config(1));
    const results r = rt.run(kinds());
    CHECK(r.i == 42);
    CHECK(r.s == std::string(100, 'x'));
    CHECK(r.void_ran);
    CHECK(r.other_thread);
    REQUIRE(r.p);
    CHECK(*r.p == 7);
    CHECK(r.ref_is_local);
    CHECK(r.local_after == 5);
    CHECK(r.runtime_error == "boom");
    CHECK(r.my_error_code == 9);
}

TEST_CASE("blocking: many goroutines calling at once all get their results", "[blocking][stress]")
{
    crowd c;
    goro_test::watchdog dog(c.progress, "a blocking call never returned");
    goro::runtime rt(config(2));
    rt.run(goro_test::go_n_and_wait(crowd::goroutines, &caller, &c));
    long want = 0;
    for (int id = 0; id < crowd::goroutines; ++id)
        for (int k = 0; k < crowd::calls; ++k)
            want += long(id) * 1000 + k;
    CHECK(c.progress.load() == long(crowd::goroutines) * crowd::calls);
    CHECK(c.sum.load() == want);
}

TEST_CASE("blocking: at most max_blocking_threads fns run at once; queued calls still complete", "[blocking]")
{
    limited l;
    goro::runtime rt(config(2, 2));
    rt.run(limited_main(&l));
    CHECK(l.saw_full);
    CHECK(l.seen.running == 2);
    CHECK(l.seen.queued == limited::calls - 2);
    CHECK(l.seen.threads <= 2);
    CHECK(l.max_running.load() == 2);
    CHECK(l.sum.load() == limited::calls * (limited::calls - 1) / 2);
}

TEST_CASE("blocking: idle threads retire after the keep-alive", "[blocking]")
{
    crew c;
    goro::runtime rt(config(2, crew::calls, 1ms));
    rt.run(goro_test::go_n_and_wait(crew::calls, &crew_call, &c));
    // At least: a thread of an earlier run may still be on its way back
    // from readying its goroutine.
    CHECK(c.at_peak.running >= crew::calls);
    CHECK(c.at_peak.threads >= crew::calls);
    CHECK(wait_until([] { return goro::detail::blocking_pool_counts().threads == 0; }));
    CHECK(goro::detail::blocking_pool_counts().idle == 0);
}

TEST_CASE("blocking does not stall other goroutines at GOMAXPROCS=1", "[blocking]")
{
    std::atomic<long> progress{0}; // never moves: the watchdog fails a hang after 120 s
    goro_test::watchdog dog(progress, "goro::blocking blocked the only P");
    goro::runtime rt(config(1));
    CHECK(rt.run(wait_for_goroutine()));
}

TEST_CASE("blocking: the end of a run drops queued calls and waits for a running fn", "[blocking][lifetime]")
{
    ending e;
    goro::runtime rt(config(1, 1));
    rt.run(ending_main(&e));
    CHECK(e.queued_at_end == 3);
    CHECK(e.fn_saw_drain.load()); // the drain went on while fn ran
    CHECK(e.fn_done.load());
    CHECK(e.frame_outlived_fn.load() == 1);
    CHECK_FALSE(e.long_call_resumed.load());
    CHECK(e.queued_ran.load() == 0);
    CHECK(e.destroyed.load() == 4);
    CHECK(goro::detail::blocking_pool_counts().queued == 0);
}

TEST_CASE("blocking: awaiting outside a goroutine panics without running fn", "[blocking]")
{
    std::atomic<int> ran{0};
    auto fn = [&ran] { return ran.fetch_add(1); };
    auto aw = goro::blocking(fn);
    CHECK_FALSE(aw.await_ready());
    CHECK_THROWS_AS(aw.await_suspend(std::noop_coroutine()), goro::panic);
    CHECK_THROWS_WITH(aw.await_suspend(std::noop_coroutine()), "goro::blocking outside a goroutine");
    CHECK(ran.load() == 0);
}

TEST_CASE("blocking: runtime_config's blocking settings are validated", "[blocking]")
{
    CHECK_THROWS_AS(goro::runtime(config(1, 0)), std::invalid_argument);
    CHECK_THROWS_WITH(goro::runtime(config(1, 0)), "goro::runtime: max_blocking_threads is 0 (it must be at least 1)");
    CHECK_THROWS_AS(goro::runtime(config(1, 4, -1ns)), std::invalid_argument);
    CHECK_NOTHROW(goro::runtime(config(1, 1, 0ns)));
}
