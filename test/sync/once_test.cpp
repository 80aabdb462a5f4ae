// goro::once: Go's sync.Once semantics. Under concurrency on several Ps the
// function runs exactly once -- a plain function, and a task that suspends
// several times so that the other callers really park -- and every caller
// sees its effects when its call returns; a throwing function counts as done,
// its exception reaches the first caller only, and it never runs again; a
// function that awaits its own once panics instead of deadlocking; calls on
// a done once spend the cooperative budget. At the end of a run: a first
// call destroyed before its function finished leaves the once to run it
// again, and callers waiting for it retry (one runs it); a caller woken by
// the function's end but never run changes nothing.
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

struct init_state {
    goro::once once;
    int runs = 0;         // written by fn only: a plain field, so TSan checks the happens-before
    long value = 0;       // fn's effect
    std::atomic<long> saw_value{0};
    std::atomic<long> threw{0};
    std::atomic<long> progress{0};
};

goro::task<void> slow_init(init_state* s)
{
    ++s->runs;
    for (int i = 0; i < 20; ++i)
        co_await goro::yield(); // others arrive and park meanwhile
    s->value = 42;
}

goro::task<void> call_task_fn(int, init_state* s, goro::wait_group* wg)
{
    auto fn = [s] { return slow_init(s); }; // returns a task: awaited by the first caller
    co_await s->once.call(fn);
    if (s->value == 42)
        s->saw_value.fetch_add(1);
    s->progress.fetch_add(1);
    wg->done();
}

goro::task<void> call_plain_fn(int, init_state* s, goro::wait_group* wg)
{
    auto fn = [s] {
        ++s->runs;
        s->value = 42;
    };
    co_await s->once.call(fn);
    if (s->value == 42)
        s->saw_value.fetch_add(1);
    s->progress.fetch_add(1);
    wg->done();
}

goro::task<void> throwing_init(init_state* s)
{
    ++s->runs;
    for (int i = 0; i < 20; ++i)
        co_await goro::yield();
    throw std::runtime_error("init failed");
}

goro::task<void> call_throwing(int, init_state* s, goro::wait_group* wg)
{
    auto fn = [s] { return throwing_init(s); };
    try {
        co_await s->once.call(fn);
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "init failed")
            s->threw.fetch_add(1);
    }
    s->progress.fetch_add(1);
    wg->done();
}

goro::task<void> call_nothing(goro::once* o)
{
    auto nothing = [] {};
    co_await o->call(nothing);
}

goro::task<void> recursive_init(goro::once* o)
{
    auto inner = [] {};
    co_await o->call(inner); // the same once, from its own function
}


// A function that never finishes: it waits on a channel nobody sends on.
goro::task<void> stuck_init(int* runs, goro::chan<int>* never)
{
    ++*runs;
    (void)co_await never->recv();
}

// Calls o's once with stuck_init, setting `started` first.
goro::task<void> call_stuck(goro::once* o, int* runs, goro::chan<int>* never, std::atomic<int>* started)
{
    started->fetch_add(1);
    auto fn = [runs, never] { return stuck_init(runs, never); };
    co_await o->call(fn);
}

// Calls o's once with a plain function that counts its runs; counts the
// calls that returned in `returned`.
goro::task<void> call_counting(goro::once* o, int* runs, std::atomic<int>* started, std::atomic<int>* returned)
{
    started->fetch_add(1);
    auto fn = [runs] { ++*runs; };
    co_await o->call(fn);
    returned->fetch_add(1);
}

// Counts a run of fn once `started` shows another caller arrived, and that
// caller had a turn to park.
goro::task<void> init_after(int* runs, std::atomic<int>* started)
{
    for (int i = 0; i < 1000 && started->load() == 0; ++i)
        co_await goro::yield();
    co_await goro::yield();
    ++*runs;
}

goro::task<bool> yield_until_count(std::atomic<int>* n, int want)
{
    for (int i = 0; i < 1000 && n->load() < want; ++i)
        co_await goro::yield();
    co_return n->load() == want;
}
} // namespace

TEST_CASE("once: a task function runs exactly once and every caller sees it", "[once][stress]")
{
    init_state s;
    goro_test::watchdog dog(s.progress, "once: a waiter was never woken");
    goro::runtime rt(goro::runtime_config{4});
    rt.run(goro_test::go_n_and_wait(64, &call_task_fn, &s));
    CHECK(s.runs == 1);
    CHECK(s.saw_value.load() == 64);
    CHECK(s.once.done());
}

TEST_CASE("once: a plain function runs exactly once and every caller sees it", "[once][stress]")
{
    for (int round = 0; round < 50; ++round) {
        init_state s;
        goro::runtime rt(goro::runtime_config{4});
        rt.run(goro_test::go_n_and_wait(16, &call_plain_fn, &s));
        REQUIRE(s.runs == 1);
        REQUIRE(s.saw_value.load() == 16);
    }
}

TEST_CASE("once: a throwing function is done; only the first caller sees the exception", "[once]")
{
    init_state s;
    goro::runtime rt(goro::runtime_config{2});
    auto fn = [](init_state* s) -> goro::task<int> {
        co_await goro_test::go_n_and_wait(8, &call_throwing, s);
        // Done: later calls neither run fn nor throw.
        auto again = [s] { return throwing_init(s); };
        co_await s->once.call(again);
        co_return s->runs;
    };
    CHECK(rt.run(fn(&s)) == 1);
    CHECK(s.threw.load() == 1);
    CHECK(s.once.done());
}

TEST_CASE("once: a plain function that throws is done too", "[once]")
{
    auto fn = []() -> goro::task<int> {
        goro::once o;
        int runs = 0, caught = 0;
        auto bad = [&runs] {
            ++runs;
            throw std::runtime_error("boom");
        };
        for (int i = 0; i < 3; ++i) {
            try {
                co_await o.call(bad);
            } catch (const std::runtime_error&) {
                ++caught;
            }
        }
        co_return runs * 10 + caught;
    };
    CHECK(goro::run(fn()) == 11);
}

TEST_CASE("once: a function awaiting its own once panics instead of deadlocking", "[once]")
{
    auto fn = []() -> goro::task<std::string> {
        goro::once o;
        auto f = [&o] { return recursive_init(&o); };
        std::string what;
        try {
            co_await o.call(f);
        } catch (const goro::panic& e) {
            what = e.what();
        }
        co_return what + (o.done() ? " (done)" : "");
    };
    CHECK(goro::run(fn()) ==
          "goro::once::call: called from inside its own function (it would wait for itself forever) (done)");
}

TEST_CASE("once: calls on a done once spend the cooperative budget (1 P)", "[once][fairness][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::once o;
    rt.run(call_nothing(&o)); // done from now on
    CHECK(rt.run(goro_test::iterations_before_others_run(&call_nothing, &o)) <= 256);
}

// # The end of a run
// A first call whose function had not finished when its run ended leaves
// the once as if that call had never been made: the next call runs the
// function again, and callers waiting for it do not return as if it had
// finished, but retry.

TEST_CASE("once: a function unfinished at the end of a run runs again in the next (1 P)", "[once][lifetime]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::once o;
    goro::chan<int> never(0);
    int stuck_runs = 0, runs = 0;
    auto first = [](goro::once* o, int* stuck_runs, goro::chan<int>* never, int* runs) -> goro::task<bool> {
        std::atomic<int> started{0}, returned{0};
        goro::go(call_stuck(o, stuck_runs, never, &started));
        bool running = co_await yield_until_count(&started, 1); // the once is running
        goro::go(call_counting(o, runs, &started, &returned)); // parks: the once is running
        bool parked = co_await yield_until_count(&started, 2);
        co_return running && parked && returned.load() == 0;
    };
    REQUIRE(rt.run(first(&o, &stuck_runs, &never, &runs)));
    CHECK(stuck_runs == 1);
    CHECK_FALSE(o.done());
    // Bounded: a once left running would park the caller forever.
    auto second = [](goro::once* o, int* runs) -> goro::task<int> {
        std::atomic<int> started{0}, returned{0};
        goro::go(call_counting(o, runs, &started, &returned));
        bool finished = co_await yield_until_count(&returned, 1);
        co_return finished ? 1 : 0;
    };
    CHECK(rt.run(second(&o, &runs)) == 1);
    CHECK(runs == 1);
    CHECK(o.done());
}

// The first caller's goroutine is joinable, so its frame outlives its run
// until the handle goes; a caller of the next run waits for it meanwhile.
TEST_CASE("once: callers waiting for an unfinished function retry when its frame is destroyed (1 P)",
          "[once][lifetime]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::once o;
    goro::chan<int> never(0);
    int stuck_runs = 0, runs = 0;
    std::optional<goro::join_handle<void>> first_caller;
    auto first = [](goro::once* o, int* stuck_runs, goro::chan<int>* never,
                    std::optional<goro::join_handle<void>>* h) -> goro::task<bool> {
        std::atomic<int> started{0};
        h->emplace(goro::spawn(call_stuck(o, stuck_runs, never, &started)));
        bool running = co_await yield_until_count(&started, 1);
        co_return running; // the run ends with fn parked: its frame stays with the handle
    };
    REQUIRE(rt.run(first(&o, &stuck_runs, &never, &first_caller)));
    auto second = [](goro::once* o, int* runs, std::optional<goro::join_handle<void>>* h) -> goro::task<int> {
        std::atomic<int> started{0}, returned{0};
        goro::go(call_counting(o, runs, &started, &returned));
        bool parked = co_await yield_until_count(&started, 1);
        for (int i = 0; i < 10; ++i)
            co_await goro::yield();
        if (!parked || returned.load() != 0)
            co_return -1; // the caller did not wait for the unfinished function
        h->reset(); // destroys the first caller's frame: the once is idle again
        bool finished = co_await yield_until_count(&returned, 1);
        co_return finished ? 1 : 0;
    };
    CHECK(rt.run(second(&o, &runs, &first_caller)) == 1);
    CHECK(stuck_runs == 1);
    CHECK(runs == 1); // the waiting caller ran fn itself
    CHECK(o.done());
}

// [policy]: W must park during fn's yields and not run between fn's end and
// main's return (one P).
TEST_CASE("once: a caller woken by the function's end but destroyed before it ran changes nothing (1 P)",
          "[once][lifetime][policy]")
{
    goro::runtime rt(goro::runtime_config{1});
    goro::once o;
    int runs = 0, other_runs = 0;
    std::atomic<int> returned{0};
    auto fn = [](goro::once* o, int* runs, int* other_runs, std::atomic<int>* returned) -> goro::task<void> {
        std::atomic<int> started{0};
        goro::go(call_counting(o, other_runs, &started, returned)); // W: waits for main's call
        auto init = [runs, &started] { return init_after(runs, &started); };
        co_await o->call(init); // readies W when init ends; the run ends before W runs
    };
    rt.run(fn(&o, &runs, &other_runs, &returned));
    CHECK(returned.load() == 0);
    CHECK(runs == 1);
    CHECK(o.done());
    auto again = [](goro::once* o, int* other_runs, std::atomic<int>* returned) -> goro::task<void> {
        std::atomic<int> started{0};
        co_await call_counting(o, other_runs, &started, returned);
    };
    rt.run(again(&o, &other_runs, &returned));
    CHECK(returned.load() == 1);
    CHECK(other_runs == 0);
}
