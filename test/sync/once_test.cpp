// goro::once: Go's sync.Once semantics. Under concurrency on several Ps the
// function runs exactly once -- a plain function, and a task that suspends
// several times so that the other callers really park -- and every caller
// sees its effects when its call returns; a throwing function counts as done,
// its exception reaches the first caller only, and it never runs again; a
// function that awaits its own once panics instead of deadlocking; calls on
// a done once spend the cooperative budget.
#include "support/sync_helpers.hpp"
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
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
