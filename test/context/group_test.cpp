// goro::group (errgroup): wait after all members, the first failure (error
// code, result<void> or exception) cancels the siblings' context and is the
// one returned, set_limit bounds the members running at once (an atomic
// maximum), try_go, misuse panics, and the end of a run with members,
// waiters and limited go() calls pending. No assertion depends on speed.
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

goro::task<std::error_code> succeed(std::atomic<int>* ran)
{
    co_await goro::yield();
    ran->fetch_add(1, std::memory_order_relaxed); // relaxed: read after wait()
    co_return std::error_code{};
}

// Parks until the group's context is cancelled; reports what it saw.
goro::task<std::error_code> until_cancelled(goro::context ctx, std::atomic<int>* saw_cancel)
{
    co_await ctx.done();
    if (ctx.err() == goro::errc::canceled)
        saw_cancel->fetch_add(1, std::memory_order_relaxed); // relaxed: read after wait()
    co_return ctx.err(); // a later failure: dropped
}

goro::task<std::error_code> fail_with(std::error_code e)
{
    co_await goro::yield();
    co_return e;
}

goro::task<std::error_code> fail_after(goro::chan<int> go_ahead, std::error_code e)
{
    auto v = co_await go_ahead.recv();
    (void)v;
    co_return e;
}

goro::task<goro::result<void>> fail_result(std::error_code e)
{
    co_return goro::result<void>(e);
}

goro::task<std::error_code> throw_after(goro::chan<int> go_ahead)
{
    auto v = co_await go_ahead.recv();
    (void)v;
    throw std::runtime_error("member threw");
}

struct outcome {
    std::error_code err;
    int ran = 0;
    int saw_cancel = 0;
    bool ctx_cancelled_after = false;
};

goro::task<outcome> all_succeed()
{
    auto [g, ctx] = goro::with_group(goro::background());
    std::atomic<int> ran{0};
    for (int i = 0; i < 50; ++i)
        co_await g.go(succeed(&ran));
    outcome o;
    o.err = co_await g.wait();
    o.ran = ran.load();
    o.ctx_cancelled_after = ctx.err() == goro::errc::canceled; // wait() cancels, as Go's
    co_return o;
}

goro::task<outcome> first_error_cancels_siblings()
{
    auto [g, ctx] = goro::with_group(goro::background());
    std::atomic<int> saw{0};
    for (int i = 0; i < 20; ++i)
        co_await g.go(until_cancelled(ctx, &saw));
    co_await g.go(fail_with(std::make_error_code(std::errc::io_error)));
    outcome o;
    o.err = co_await g.wait();
    o.saw_cancel = saw.load();
    co_return o;
}

goro::task<outcome> first_of_several()
{
    // The first failure is ordered: `second` fails only after the group's
    // context was cancelled, which only the first failure does.
    auto [g, ctx] = goro::with_group(goro::background());
    goro::chan<int> go_ahead(1);
    co_await g.go(fail_after(go_ahead, std::make_error_code(std::errc::no_such_file_or_directory)));
    co_await g.go([](goro::context c) -> goro::task<std::error_code> {
        co_await c.done();
        co_return std::make_error_code(std::errc::permission_denied);
    }(ctx));
    co_await go_ahead.send(1);
    outcome o;
    o.err = co_await g.wait();
    co_return o;
}

goro::task<outcome> result_member()
{
    goro::group g; // Go's zero Group: no context
    co_await g.go(fail_result(std::make_error_code(std::errc::timed_out)));
    outcome o;
    o.err = co_await g.wait();
    co_return o;
}

goro::task<std::string> exception_first()
{
    auto [g, ctx] = goro::with_group(goro::background());
    std::atomic<int> saw{0};
    goro::chan<int> go_ahead(1);
    co_await g.go(until_cancelled(ctx, &saw));
    co_await g.go(throw_after(go_ahead));
    co_await go_ahead.send(1);
    try {
        auto e = co_await g.wait();
        (void)e;
    } catch (const std::runtime_error& ex) {
        co_return std::string(ex.what()) + (saw.load() == 1 ? " / sibling cancelled" : " / sibling not cancelled");
    }
    co_return "no exception";
}

} // namespace

TEST_CASE("group: wait returns after every member, empty when all succeed, then cancels the context", "[group]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        outcome o = rt.run(all_succeed());
        CHECK(!o.err);
        CHECK(o.ran == 50);
        CHECK(o.ctx_cancelled_after);
    }
}

TEST_CASE("group: the first error cancels the siblings, and wait returns it", "[group]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        outcome o = rt.run(first_error_cancels_siblings());
        CHECK(o.err == std::errc::io_error);
        CHECK(o.saw_cancel == 20);
        outcome f = rt.run(first_of_several());
        CHECK(f.err == std::errc::no_such_file_or_directory);
        outcome r = rt.run(result_member());
        CHECK(r.err == std::errc::timed_out);
    }
}

TEST_CASE("group: an exception is the first failure; wait rethrows it", "[group]")
{
    goro::runtime rt(goro::runtime_config{2});
    CHECK(rt.run(exception_first()) == "member threw / sibling cancelled");
}

namespace {

struct concurrency {
    std::atomic<int> now{0};
    std::atomic<int> max{0};
    std::atomic<int> done{0};
};

goro::task<std::error_code> counted(concurrency* c)
{
    // relaxed: only the counts matter, read after wait()
    const int n = c->now.fetch_add(1, std::memory_order_relaxed) + 1;
    int m = c->max.load(std::memory_order_relaxed);
    while (n > m && !c->max.compare_exchange_weak(m, n, std::memory_order_relaxed))
        ;
    co_await goro::sleep(100us);
    co_await goro::yield();
    c->now.fetch_sub(1, std::memory_order_relaxed);
    c->done.fetch_add(1, std::memory_order_relaxed);
    co_return std::error_code{};
}

goro::task<std::vector<int>> limited(int limit, int members)
{
    goro::group g;
    g.set_limit(limit);
    concurrency c;
    for (int i = 0; i < members; ++i)
        co_await g.go(counted(&c));
    auto e = co_await g.wait();
    co_return std::vector<int>{c.max.load(), c.done.load(), e ? 1 : 0};
}

goro::task<std::error_code> blocked(goro::chan<int> release)
{
    auto v = co_await release.recv();
    (void)v;
    co_return std::error_code{};
}

goro::task<std::vector<bool>> try_go_at_the_limit()
{
    std::vector<bool> out;
    goro::group g;
    g.set_limit(2);
    goro::chan<int> release(0);
    out.push_back(g.try_go(blocked(release)));
    out.push_back(g.try_go(blocked(release)));
    out.push_back(g.try_go(blocked(release))); // at the limit: false
    co_await release.send(1);
    co_await release.send(2);
    co_await g.wait();
    goro::group h;
    h.set_limit(0);
    out.push_back(h.try_go(blocked(release))); // a limit of 0: never
    h.set_limit(-1);
    out.push_back(h.try_go(fail_with({}))); // no limit
    co_await h.wait();
    co_return out;
}

} // namespace

TEST_CASE("group: set_limit bounds the members running at once; try_go refuses at the limit", "[group]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        auto v = rt.run(limited(3, 40));
        CHECK(v[0] >= 1);
        CHECK(v[0] <= 3);
        CHECK(v[1] == 40);
        CHECK(v[2] == 0);
        auto one = rt.run(limited(1, 10));
        CHECK(one[0] == 1);
        CHECK(one[1] == 10);
    }
    goro::runtime rt(goro::runtime_config{2});
    CHECK(rt.run(try_go_at_the_limit()) == std::vector<bool>{true, true, false, false, true});
}

namespace {

goro::task<std::vector<std::string>> misuse()
{
    std::vector<std::string> out;
    goro::group g;
    goro::chan<int> release(0);
    co_await g.go(blocked(release));
    try {
        g.set_limit(1);
        out.push_back("set_limit accepted");
    } catch (const goro::panic& p) {
        out.push_back(p.what());
    }
    co_await release.send(1);
    co_await g.wait();
    try {
        auto w = g.wait();
        out.push_back("second wait accepted");
    } catch (const goro::panic& p) {
        out.push_back(p.what());
    }
    goro::group z;
    z.set_limit(0);
    try {
        co_await z.go(fail_with({}));
        out.push_back("go at limit 0 accepted");
    } catch (const goro::panic& p) {
        out.push_back(p.what());
    }
    co_return out;
}

} // namespace

TEST_CASE("group: misuse panics naming it", "[group]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto out = rt.run(misuse());
    REQUIRE(out.size() == 3);
    CHECK(out[0] == "goro::group: set_limit while goroutines of the group run");
    CHECK(out[1] == "goro::group: wait called twice");
    CHECK(out[2].find("goro::group: go with a limit of 0") == 0);
}

namespace {

goro::task<> wait_forever(goro::group* g)
{
    auto e = co_await g->wait();
    (void)e;
}

goro::task<> go_at_limit(goro::group* g, goro::chan<int> never)
{
    co_await g->go(blocked(never)); // parks: the limit is taken
}

goro::task<std::error_code> until_cancelled_forever(goro::context ctx)
{
    co_await ctx.done();
    co_return std::error_code{};
}

goro::task<int> leave_groups_behind()
{
    goro::chan<int> never(0);
    auto [g, ctx] = goro::with_group(goro::background());
    g.set_limit(2);
    co_await g.go(blocked(never));
    co_await g.go(until_cancelled_forever(ctx));
    goro::go(go_at_limit(&g, never));
    goro::go(wait_forever(&g));
    // A group dropped with a member still running.
    {
        goro::group dropped;
        co_await dropped.go(blocked(never));
    }
    co_await goro::sleep(2ms);
    co_return 0;
}

} // namespace

TEST_CASE("group: the end of a run with members, a waiter and a limited go pending", "[group][shutdown]")
{
    goro::runtime rt(goro::runtime_config{2});
    CHECK(rt.run(leave_groups_behind()) == 0); // ASan and LSan check the rest
}
