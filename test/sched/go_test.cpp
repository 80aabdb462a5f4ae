// goro::go, goro::spawn and goro::run: goroutines start, run on every P, pass
// results and exceptions through join handles, copy their arguments, and a
// million of them finish. An exception escaping a detached goroutine ends the
// process with status 2 (checked in a forked child).
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

goro::task<void> count_done(std::atomic<long>* n, goro::wait_group* wg)
{
    n->fetch_add(1, std::memory_order_relaxed);
    wg->done();
    co_return;
}

goro::task<long> spawn_many(long n)
{
    std::atomic<long> ran{0};
    goro::wait_group wg;
    wg.add(int(n));
    for (long i = 0; i < n; ++i)
        goro::go(count_done(&ran, &wg));
    co_await wg.wait();
    co_return ran.load();
}

goro::task<int> square(int x)
{
    co_await goro::yield();
    co_return x * x;
}

goro::task<int> fails(std::string msg)
{
    co_await goro::yield();
    throw std::runtime_error(msg);
}

} // namespace

TEST_CASE("go: 1,000,000 goroutines all run and finish", "[go]")
{
    constexpr long n = 1'000'000;
    CHECK(goro::run(spawn_many(n)) == n);
}

TEST_CASE("spawn: join returns values", "[go]")
{
    auto fn = []() -> goro::task<int> {
        std::vector<goro::join_handle<int>> hs;
        for (int i = 0; i < 100; ++i)
            hs.push_back(goro::spawn(square(i)));
        int sum = 0;
        for (auto& h : hs)
            sum += co_await h;
        co_return sum;
    };
    int expect = 0;
    for (int i = 0; i < 100; ++i)
        expect += i * i;
    CHECK(goro::run(fn()) == expect);
}

TEST_CASE("spawn: exceptions propagate to the joiner", "[go]")
{
    auto fn = []() -> goro::task<std::string> {
        auto h = goro::spawn(fails("bad thing"));
        try {
            co_await h;
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    };
    CHECK(goro::run(fn()) == "bad thing");
}

TEST_CASE("spawn: joining after the goroutine finished, and a second join panics", "[go]")
{
    auto fn = []() -> goro::task<int> {
        auto h = goro::spawn(square(3));
        while (!h.done())
            co_await goro::yield();
        int v = co_await h;
        try {
            co_await h;
        } catch (const goro::panic&) {
            co_return v;
        }
        co_return -1;
    };
    CHECK(goro::run(fn()) == 9);
}

TEST_CASE("spawn: dropping the handle detaches; the goroutine still runs", "[go]")
{
    auto fn = []() -> goro::task<int> {
        std::atomic<long> ran{0};
        goro::wait_group wg;
        wg.add(2);
        { auto h = goro::spawn(count_done(&ran, &wg)); } // dropped before it runs
        auto h2 = goro::spawn(count_done(&ran, &wg));
        co_await wg.wait();
        h2.detach(); // dropped after it finished: frees the frame
        co_return int(ran.load());
    };
    CHECK(goro::run(fn()) == 2);
}

TEST_CASE("go(fn, args...): fn and args are copied into the goroutine's frame", "[go]")
{
    auto fn = []() -> goro::task<std::string> {
        std::string result;
        goro::wait_group wg;
        wg.add(2);
        {
            std::string temp = "copied";
            goro::go(
                [](std::string s, std::string* out, goro::wait_group* w) -> goro::task<void> {
                    co_await goro::yield(); // the caller's `temp` is gone by now
                    *out = s;
                    w->done();
                },
                temp, &result, &wg);
        }
        std::atomic<int> plain{0};
        goro::go([](std::atomic<int>* p, goro::wait_group* w) { p->store(5); w->done(); }, &plain, &wg);
        co_await wg.wait();
        // Move-only arguments are moved into the frame, then into fn.
        std::string moved;
        wg.add(1);
        goro::go([](std::unique_ptr<std::string> s, std::string* out, goro::wait_group* w) -> goro::task<void> {
            co_await goro::yield();
            *out = *s;
            w->done();
        }, std::make_unique<std::string>("+moved"), &moved, &wg);
        co_await wg.wait();
        co_return result + std::to_string(plain.load()) + moved;
    };
    CHECK(goro::run(fn()) == "copied5+moved");
}

namespace {
// What the main goroutine saw; checked on the test thread after run().
struct runtime_view {
    unsigned procs = 0;
    long at_start = 0; // goroutines alive when main began
    long during = 0;   // with ten more parked
};

goro::task<long> goroutines_at_start() { co_return goro::num_goroutine(); }
} // namespace

TEST_CASE("run: gomaxprocs, num_goroutine and runtime_config", "[go]")
{
    CHECK(goro::num_goroutine() == 0); // no runtime is running
    goro::runtime rt(goro::runtime_config{3});
    CHECK(rt.procs() == 3);
    auto fn = []() -> goro::task<runtime_view> {
        runtime_view view;
        view.procs = goro::gomaxprocs();
        view.at_start = goro::num_goroutine();
        goro::wait_group gate, started;
        gate.add(1);
        started.add(10);
        for (int i = 0; i < 10; ++i)
            goro::go([](goro::wait_group* g, goro::wait_group* s) -> goro::task<void> {
                s->done();
                co_await g->wait();
            }, &gate, &started);
        co_await started.wait();
        view.during = goro::num_goroutine();
        gate.done();
        while (goro::num_goroutine() > 1)
            co_await goro::yield();
        co_return view;
    };
    runtime_view view = rt.run(fn());
    CHECK(view.procs == 3);
    CHECK(view.at_start == 1); // main
    CHECK(view.during == 11);
    // A runtime runs again, counting only its own goroutines.
    CHECK(rt.run(goroutines_at_start()) == 1);
    CHECK(rt.run(square(4)) == 16);
}

TEST_CASE("run: misuse panics", "[go]")
{
    CHECK_THROWS_AS(goro::go(square(1)), goro::panic); // no runtime
    // Each entry point names itself.
    CHECK_THROWS_WITH(goro::go(square(1)), Catch::StartsWith("goro::go: no goro runtime is running"));
    CHECK_THROWS_WITH(goro::spawn(square(1)), Catch::StartsWith("goro::spawn: no goro runtime is running"));
    CHECK_THROWS_WITH(goro::go(&square, 1), Catch::StartsWith("goro::go: no goro runtime is running"));
    auto nested = []() -> goro::task<int> {
        try {
            goro::run(square(2));
        } catch (const goro::panic&) {
            co_return 1;
        }
        co_return 0;
    };
    CHECK(goro::run(nested()) == 1);
    auto outside = []() -> goro::task<int> {
        goro::task<int> empty;
        try {
            goro::go(std::move(empty));
        } catch (const goro::panic&) {
            co_return 1;
        }
        co_return 0;
    };
    CHECK(goro::run(outside()) == 1);
}

namespace {
goro::task<void> detached_panics()
{
    co_await goro::yield();
    throw std::runtime_error("escaped the goroutine");
}
goro::task<void> main_waits_forever_for_panic()
{
    goro::go(detached_panics());
    goro::wait_group never;
    never.add(1);
    co_await never.wait();
}
} // namespace

TEST_CASE("go: an exception escaping a detached goroutine exits with status 2", "[go]")
{
    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        goro::run(main_waits_forever_for_panic());
        _exit(0); // not reached
    }
    close(pipefd[1]);
    std::string err;
    char buf[256];
    for (ssize_t r; (r = read(pipefd[0], buf, sizeof buf)) > 0;)
        err.append(buf, std::size_t(r));
    close(pipefd[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(err.find("panic: escaped the goroutine") != std::string::npos);
    CHECK(err.find("go_test.cpp") != std::string::npos); // the spawn site
}
