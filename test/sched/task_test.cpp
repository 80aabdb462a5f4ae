// goro::task: laziness, values, move-only results, exceptions through nested
// awaits, and 10 million synchronously completing co_awaits that must not
// overflow the stack in any build (symmetric transfer where the compiler makes
// it a tail call, the stack guard where it does not: lib/sched/stack_guard.hpp).
// The guard's park path is forced with a zero budget, and its budget shrinks
// to fit a thread with a small stack.
#include "sched/stack_guard.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <memory>
#include <pthread.h>
#include <stdexcept>
#include <string>

namespace {

goro::task<int> answer() { co_return 42; }

goro::task<int> add(int a, int b)
{
    int x = co_await answer();
    co_return a + b + x - 42;
}

goro::task<std::unique_ptr<std::string>> boxed(std::string s) { co_return std::make_unique<std::string>(s); }

goro::task<void> thrower() { throw std::runtime_error("boom"); co_return; }

goro::task<int> rethrow_through()
{
    co_await thrower();
    co_return 1;
}

goro::task<void> mark(bool* started)
{
    *started = true;
    co_return;
}

goro::task<long> sum_sync(long n)
{
    long total = 0;
    for (long i = 0; i < n; ++i)
        total += co_await answer();
    co_return total;
}

goro::task<int> deep(int depth)
{
    if (depth == 0)
        co_return 0;
    co_return 1 + co_await deep(depth - 1);
}

goro::task<int> read_flag(const bool* flag) { co_return *flag ? 1 : 0; }

void set_flag(bool* flag) { *flag = true; }

// A chain of synchronous co_awaits; counts the awaits that saw another
// goroutine's write, which needs the chain to pass through the scheduler.
goro::task<int> chain_lets_others_run(int n)
{
    bool flag = false;
    goro::go(&set_flag, &flag); // runs only when this goroutine parks
    int seen = 0;
    for (int i = 0; i < n; ++i)
        seen += co_await read_flag(&flag);
    co_return seen;
}

struct budget_override {
    std::size_t old;
    explicit budget_override(std::size_t bytes) : old(goro::detail::set_stack_guard_budget(bytes)) {}
    ~budget_override() { goro::detail::set_stack_guard_budget(old); }
};

} // namespace

TEST_CASE("task: lazy until awaited", "[task]")
{
    bool started = false;
    {
        auto t = mark(&started);
        CHECK_FALSE(started);
    } // destroyed without running
    CHECK_FALSE(started);
    // Observed inside the goroutine, checked here: the main goroutine may run
    // on another worker, and Catch2's assertions are not thread-safe.
    auto fn = [](bool* s) -> goro::task<std::string> {
        auto t = mark(s);
        std::string seen = *s ? "ran when created" : "lazy";
        co_await std::move(t);
        co_return seen + (*s ? ", ran when awaited" : ", never ran");
    };
    CHECK(goro::run(fn(&started)) == "lazy, ran when awaited");
}

TEST_CASE("task: values and move-only results", "[task]")
{
    CHECK(goro::run(add(1, 2)) == 3);
    auto fn = []() -> goro::task<int> {
        auto p = co_await boxed("hello");
        co_return int(p->size());
    };
    CHECK(goro::run(fn()) == 5);
}

TEST_CASE("task: exceptions propagate through nested awaits and out of run", "[task]")
{
    auto fn = []() -> goro::task<int> {
        try {
            co_await rethrow_through();
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what()) == "boom" ? 7 : -1;
        }
        co_return -2;
    };
    CHECK(goro::run(fn()) == 7);
    CHECK_THROWS_WITH(goro::run(rethrow_through()), "boom");
}

TEST_CASE("task: awaiting an empty or already awaited task panics", "[task]")
{
    auto fn = []() -> goro::task<int> {
        auto t = answer();
        int v = co_await t;
        int panics = 0;
        try {
            co_await t;
        } catch (const goro::panic&) {
            ++panics;
        }
        goro::task<int> empty;
        try {
            co_await empty;
        } catch (const goro::panic&) {
            ++panics;
        }
        co_return v + panics;
    };
    CHECK(goro::run(fn()) == 44);
}

TEST_CASE("task: 10 million synchronous co_awaits do not overflow the stack", "[task]")
{
    constexpr long n = 10'000'000;
    CHECK(goro::run(sum_sync(n)) == 42 * n);
}

TEST_CASE("task: deep recursion of awaits", "[task]")
{
    // Each level is a frame on the heap, not the stack.
    CHECK(goro::run(deep(100'000)) == 100'000);
}

TEST_CASE("task: with a zero stack budget every transfer goes through the scheduler", "[task]")
{
    budget_override zero(0);
    goro::runtime one(goro::runtime_config{1});
    CHECK(one.run(chain_lets_others_run(100)) > 0); // without a park, no await could see the flag
    goro::runtime two(goro::runtime_config{2}); // parked chains continue on either P
    CHECK(two.run(sum_sync(100'000)) == 42 * 100'000);
    CHECK(two.run(deep(10'000)) == 10'000);
    CHECK_THROWS_WITH(two.run(rethrow_through()), "boom");
}

TEST_CASE("task: the stack budget fits a small thread stack", "[task]")
{
    // run() on a thread with 256 KiB of stack: where transfers grow the stack,
    // the default budget alone (256 KiB) would overflow it.
    struct arg {
        long result = 0;
    } a;
    pthread_attr_t attr;
    REQUIRE(pthread_attr_init(&attr) == 0);
    REQUIRE(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
    pthread_t thread;
    REQUIRE(pthread_create(
                &thread, &attr,
                [](void* p) -> void* {
                    goro::runtime rt(goro::runtime_config{1});
                    static_cast<arg*>(p)->result = rt.run(sum_sync(1'000'000));
                    return nullptr;
                },
                &a) == 0);
    pthread_attr_destroy(&attr);
    REQUIRE(pthread_join(thread, nullptr) == 0);
    CHECK(a.result == 42 * 1'000'000L);
}
