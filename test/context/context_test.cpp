// goro::context: cancellation wakes every waiter (alone and in selects),
// deadlines (never early, deadline_exceeded), the tree (born cancelled,
// a child's cancel stays below it, inherited deadlines), no record of
// finished children left in a long-lived parent, sleep(ctx), cancel from a
// foreign thread, and the end of a run. No assertion depends on speed.
#include "base/clock.hpp"
#include "blocking/pool.hpp"
#include "context/inspect.hpp"

#include <goro/detail/context_hook.hpp>
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using goro::detail::monotonic_ns;

namespace {

struct woke {
    bool after_cancel = false; // the canceller's flag was set when it woke
    std::error_code err;
};

goro::task<> wait_alone(goro::context ctx, const std::atomic<bool>* cancelled, woke* out, goro::wait_group* wg)
{
    co_await ctx.done();
    out->after_cancel = cancelled->load(std::memory_order_acquire);
    out->err = ctx.err();
    wg->done();
}

goro::task<> wait_in_select(goro::context ctx, goro::chan<int> never, const std::atomic<bool>* cancelled, woke* out,
                            goro::wait_group* wg)
{
    auto r = co_await goro::select(never.recv(), ctx.done());
    out->after_cancel = r.index() == 1 && cancelled->load(std::memory_order_acquire);
    out->err = ctx.err();
    wg->done();
}

goro::task<std::vector<woke>> cancel_wakes_all(int n)
{
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::chan<int> never(0);
    std::atomic<bool> cancelled{false};
    std::vector<woke> out(std::size_t(2 * n));
    goro::wait_group wg;
    wg.add(2 * n);
    for (int i = 0; i < n; ++i) {
        goro::go(wait_alone(ctx, &cancelled, &out[std::size_t(2 * i)], &wg));
        goro::go(wait_in_select(ctx, never, &cancelled, &out[std::size_t(2 * i + 1)], &wg));
    }
    co_await goro::sleep(2ms); // most of them park first (either way is correct)
    cancelled.store(true, std::memory_order_release); // release: pairs with the waiters' acquire
    cancel();
    cancel(); // harmless
    co_await wg.wait();
    co_return out;
}

} // namespace

TEST_CASE("errc: canceled and deadline_exceeded compare equal to std::errc", "[context]")
{
    std::error_code c = goro::errc::canceled;
    std::error_code d = goro::errc::deadline_exceeded;
    CHECK(c == std::errc::operation_canceled);
    CHECK(d == std::errc::timed_out);
    CHECK(c != std::errc::timed_out);
    CHECK(c != d);
    CHECK(c.category().name() == std::string("goro"));
    CHECK(c.message() == "context canceled");
    CHECK(d.message() == "context deadline exceeded");
}

TEST_CASE("background: never cancelled, no deadline, done never fires", "[context]")
{
    goro::context bg = goro::background();
    CHECK(!bg.err());
    CHECK(!bg.deadline());
    CHECK(goro::detail::context_children(bg) == 0);
    auto [ctx, cancel] = goro::with_cancel(bg);
    cancel();
    CHECK(!bg.err()); // a child's cancel never reaches its parent
    goro::runtime rt(goro::runtime_config{1});
    auto fired = rt.run([]() -> goro::task<std::size_t> {
        auto r = co_await goro::select(goro::background().done(), goro::after(1ms));
        co_return r.index();
    }());
    CHECK(fired == 1);
}

TEST_CASE("cancel wakes every waiter, alone and in selects, with err() canceled", "[context]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        auto out = rt.run(cancel_wakes_all(100));
        REQUIRE(out.size() == 200);
        for (const woke& w : out) {
            CHECK(w.after_cancel);
            CHECK(w.err == goro::errc::canceled);
        }
    }
}

namespace {

struct deadline_seen {
    std::int64_t woke_at = 0;
    std::error_code err;
};

goro::task<> wait_deadline(goro::context ctx, bool in_select, deadline_seen* out, goro::wait_group* wg)
{
    if (in_select) {
        goro::chan<int> never(0);
        auto r = co_await goro::select(never.recv(), ctx.done());
        (void)r;
    } else {
        co_await ctx.done();
    }
    out->woke_at = monotonic_ns();
    out->err = ctx.err();
    wg->done();
}

struct deadline_run {
    std::int64_t deadline_ns = 0;
    std::optional<std::chrono::steady_clock::time_point> reported;
    std::vector<deadline_seen> seen;
};

goro::task<deadline_run> deadline_wakes_all()
{
    deadline_run out;
    out.deadline_ns = monotonic_ns() + 20'000'000;
    auto [ctx, cancel] = goro::with_deadline(goro::background(), goro::detail::ns_time_point(out.deadline_ns));
    out.reported = ctx.deadline();
    out.seen.resize(40);
    goro::wait_group wg;
    wg.add(40);
    for (int i = 0; i < 40; ++i)
        goro::go(wait_deadline(ctx, i % 2 == 0, &out.seen[std::size_t(i)], &wg));
    co_await wg.wait();
    cancel(); // after the deadline: no effect
    co_return out;
}

} // namespace

TEST_CASE("a deadline wakes every waiter, never early, with deadline_exceeded", "[context]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        auto out = rt.run(deadline_wakes_all());
        REQUIRE(out.reported);
        CHECK(goro::detail::time_point_ns(*out.reported) == out.deadline_ns);
        for (const auto& s : out.seen) {
            CHECK(s.woke_at >= out.deadline_ns);
            CHECK(s.err == goro::errc::deadline_exceeded);
        }
    }
}

TEST_CASE("the tree: born cancelled, a child's cancel stays below, deadlines inherited", "[context]")
{
    auto [root, cancel_root] = goro::with_cancel(goro::background());
    auto [child, cancel_child] = goro::with_cancel(root);
    auto [grandchild, cancel_grandchild] = goro::with_cancel(child);
    auto [sibling, cancel_sibling] = goro::with_cancel(root);
    CHECK(goro::detail::context_children(root) == 2);

    cancel_child();
    CHECK(child.err() == goro::errc::canceled);
    CHECK(grandchild.err() == goro::errc::canceled);
    CHECK(!root.err());
    CHECK(!sibling.err());
    CHECK(goro::detail::context_children(root) == 1); // the cancelled child left
    CHECK(goro::detail::context_children(child) == 0);

    auto [late, cancel_late] = goro::with_cancel(child); // born cancelled
    CHECK(late.err() == goro::errc::canceled);
    CHECK(goro::detail::context_children(child) == 0);

    // Deadlines: the earlier of the parent's and the child's.
    auto [far, cancel_far] = goro::with_timeout(root, 1h);
    auto [farther, cancel_farther] = goro::with_timeout(far, 2h);
    auto [nearer, cancel_nearer] = goro::with_timeout(far, 30min);
    REQUIRE(far.deadline());
    CHECK(farther.deadline() == far.deadline());
    REQUIRE(nearer.deadline());
    CHECK(*nearer.deadline() < *far.deadline());
    auto [plain, cancel_plain] = goro::with_cancel(far);
    CHECK(plain.deadline() == far.deadline());

    // A deadline already past: cancelled at once, deadline_exceeded, and
    // its descendants born so.
    auto [past, cancel_past] = goro::with_timeout(root, -1s);
    CHECK(past.err() == goro::errc::deadline_exceeded);
    auto [below, cancel_below] = goro::with_cancel(past);
    CHECK(below.err() == goro::errc::deadline_exceeded);

    cancel_root();
    CHECK(sibling.err() == goro::errc::canceled);
    CHECK(far.err() == goro::errc::canceled);
    CHECK(farther.err() == goro::errc::canceled);
    CHECK(nearer.err() == goro::errc::canceled);
    CHECK(goro::detail::context_children(root) == 0);
    CHECK(goro::detail::context_children(far) == 0);
}

TEST_CASE("a cancelled parent's done fires in a select, and a child's done too", "[context]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto idx = rt.run([]() -> goro::task<std::vector<std::size_t>> {
        std::vector<std::size_t> out;
        auto [parent, cancel] = goro::with_cancel(goro::background());
        auto [child, cancel_child] = goro::with_cancel(parent);
        auto early = child.done(); // made before the cancel
        cancel();
        auto late = child.done(); // made after: closed at once
        auto r1 = co_await goro::select(std::move(early), goro::default_case);
        out.push_back(r1.index());
        auto r2 = co_await goro::select(std::move(late), goro::default_case);
        out.push_back(r2.index());
        auto [born, cancel_born] = goro::with_cancel(parent);
        co_await born.done(); // returns at once
        out.push_back(born.err() ? 0 : 1);
        co_return out;
    }());
    CHECK(idx == std::vector<std::size_t>{0, 0, 0});
}

namespace {

goro::task<std::vector<std::size_t>> many_children(goro::context parent)
{
    std::vector<std::size_t> out;
    for (int i = 0; i < 100'000; ++i) {
        auto [c, cancel] = goro::with_cancel(parent);
        if (i % 2 == 0)
            cancel(); // leaves at once
        // else: leaves when its last handle goes, here
    }
    out.push_back(goro::detail::context_children(parent));
    for (int i = 0; i < 10'000; ++i) {
        auto [c, cancel] = goro::with_timeout(parent, 1h);
        auto d = c.done();
        cancel(); // disarms the timer
        co_await std::move(d);
    }
    out.push_back(goro::detail::context_children(parent));
    co_return out;
}

} // namespace

TEST_CASE("100,000 children created and cancelled leave the parent's list empty", "[context]")
{
    auto [parent, cancel] = goro::with_cancel(goro::background());
    goro::runtime rt(goro::runtime_config{2});
    auto out = rt.run(many_children(parent));
    CHECK(out == std::vector<std::size_t>{0, 0});
    CHECK(!parent.err());
    cancel();
}

TEST_CASE("with_timeout in a select with a ready channel: the channel wins", "[context]")
{
    goro::runtime rt(goro::runtime_config{1});
    auto out = rt.run([]() -> goro::task<std::vector<std::size_t>> {
        std::vector<std::size_t> idx;
        goro::chan<int> ch(1);
        for (int i = 0; i < 100; ++i) {
            co_await ch.send(i);
            auto [ctx, cancel] = goro::with_timeout(goro::background(), 1h);
            auto r = co_await goro::select(ctx.done(), ch.recv());
            idx.push_back(r.index());
            cancel();
        }
        co_return idx;
    }());
    CHECK(out == std::vector<std::size_t>(100, 1));
}

namespace {

struct sleep_result {
    std::error_code err;
    std::int64_t started = 0, ended = 0;
};

goro::task<> sleeper(goro::context ctx, std::chrono::nanoseconds d, sleep_result* out, goro::wait_group* wg)
{
    out->started = monotonic_ns();
    out->err = co_await goro::sleep(ctx, d);
    out->ended = monotonic_ns();
    wg->done();
}

goro::task<std::vector<sleep_result>> sleeps()
{
    std::vector<sleep_result> out(4);
    goro::wait_group wg;
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto [short_ctx, cancel_short] = goro::with_timeout(goro::background(), 10ms);
    wg.add(3);
    goro::go(sleeper(ctx, 1h, &out[0], &wg));                   // cancelled mid-sleep
    goro::go(sleeper(goro::background(), 5ms, &out[1], &wg));   // sleeps fully
    goro::go(sleeper(short_ctx, 1h, &out[2], &wg));             // its deadline first
    co_await goro::sleep(2ms);
    cancel();
    co_await wg.wait();
    out[3].started = monotonic_ns();
    out[3].err = co_await goro::sleep(ctx, 1h); // already cancelled: at once
    out[3].ended = monotonic_ns();
    cancel_short();
    co_return out;
}

} // namespace

TEST_CASE("sleep(ctx, d): canceled mid-sleep, full sleep never early, deadline first", "[context][sleep]")
{
    for (unsigned procs : {1u, 2u}) {
        goro::runtime rt(goro::runtime_config{procs});
        auto out = rt.run(sleeps());
        CHECK(out[0].err == goro::errc::canceled);
        CHECK(!out[1].err);
        CHECK(out[1].ended - out[1].started >= 5'000'000);
        CHECK(out[2].err == goro::errc::deadline_exceeded);
        CHECK(out[2].ended - out[2].started >= 0);
        CHECK(out[3].err == goro::errc::canceled);
    }
}

TEST_CASE("cancel from a thread outside the runtime wakes the waiters", "[context]")
{
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::runtime rt(goro::runtime_config{2});
    std::thread canceller;
    auto errs = rt.run([](goro::context c, goro::cancel_func cf,
                          std::thread* t) -> goro::task<std::vector<std::error_code>> {
        std::vector<std::error_code> out(20);
        goro::wait_group wg;
        std::atomic<bool> flag{false};
        std::vector<woke> seen(20);
        wg.add(20);
        for (int i = 0; i < 20; ++i)
            goro::go(wait_alone(c, &flag, &seen[std::size_t(i)], &wg));
        *t = std::thread([cf, &flag] {
            flag.store(true, std::memory_order_release); // release: pairs with the waiters' acquire
            cf();
        });
        co_await wg.wait();
        for (std::size_t i = 0; i < seen.size(); ++i)
            out[i] = seen[i].after_cancel ? seen[i].err : std::error_code{};
        co_return out;
    }(ctx, cancel, &canceller));
    canceller.join();
    for (const auto& e : errs)
        CHECK(e == goro::errc::canceled);
}

namespace {

goro::task<> park_on(goro::context ctx)
{
    co_await ctx.done();
}

goro::task<> sleep_on(goro::context ctx)
{
    auto e = co_await goro::sleep(ctx, 1h);
    (void)e;
}

goro::task<goro::cancellable> leave_contexts_behind()
{
    auto [root, cancel_root] = goro::with_cancel(goro::background());
    for (int i = 0; i < 20; ++i) {
        auto [c, cancel] = goro::with_timeout(root, 1h); // dropped uncancelled: freed with its last handle
        goro::go(park_on(c));
        goro::go(sleep_on(c));
        goro::chan<int> never(0);
        goro::go([](goro::context c2, goro::chan<int> n) -> goro::task<> {
            auto r = co_await goro::select(n.recv(), c2.done());
            (void)r;
        }(c, never));
    }
    auto kept = goro::with_timeout(root, 1h); // outlives the run with its timer pending
    goro::go(park_on(kept.ctx));
    co_await goro::sleep(2ms);
    co_return kept;
}

goro::task<std::error_code> later_run(goro::cancellable k)
{
    goro::wait_group wg;
    std::atomic<bool> flag{false};
    woke w;
    wg.add(1);
    goro::go(wait_alone(k.ctx, &flag, &w, &wg));
    co_await goro::sleep(1ms);
    flag.store(true, std::memory_order_release); // release: pairs with the waiter's acquire
    k.cancel();
    co_await wg.wait();
    co_return w.after_cancel ? w.err : std::error_code{};
}

} // namespace

TEST_CASE("the end of a run: waiters destroyed, a pending deadline dropped, the context usable later",
          "[context][shutdown]")
{
    goro::runtime rt(goro::runtime_config{2});
    goro::cancellable kept = rt.run(leave_contexts_behind());
    CHECK(!kept.ctx.err()); // its deadline never fires now
    CHECK(goro::detail::context_children(kept.ctx) == 0);
    CHECK(rt.run(later_run(kept)) == goro::errc::canceled);
    CHECK(kept.ctx.err() == goro::errc::canceled);
}

TEST_CASE("a deadline made outside a run never fires", "[context][shutdown]")
{
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 1ms);
    std::this_thread::sleep_for(5ms);
    CHECK(!ctx.err());
    cancel();
    CHECK(ctx.err() == goro::errc::canceled);
}

namespace {

// What a blocking fn shares with the test: by shared ownership, never by
// reference to a goroutine's locals (fn may outlive the wait).
struct gate {
    std::atomic<bool> open{false};
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
};

// Waits (bounded: 60 s) until the gate opens; returns a heap-owning value
// so that a discarded result is destroyed by the record (ASan, LSan).
std::string hold(const std::shared_ptr<gate>& g)
{
    g->started.store(true, std::memory_order_release); // release: pairs with the test's acquire
    for (int i = 0; i < 60'000 && !g->open.load(std::memory_order_acquire); ++i)
        std::this_thread::sleep_for(1ms);
    g->finished.store(true, std::memory_order_release); // release: pairs with the test's acquire
    return std::string(100, 'x');
}

// Until fn returned and its pool thread is done with the record (it counts
// the call as running until after invoke freed it).
void wait_finished(const gate& g)
{
    for (int i = 0; i < 60'000 && !g.finished.load(std::memory_order_acquire); ++i)
        std::this_thread::sleep_for(1ms);
    for (int i = 0; i < 60'000 && goro::detail::blocking_pool_counts().running != 0; ++i)
        std::this_thread::sleep_for(1ms);
}

goro::task<> cancel_when_started(std::shared_ptr<gate> g, goro::cancel_func cancel)
{
    for (int i = 0; i < 60'000 && !g->started.load(std::memory_order_acquire); ++i)
        co_await goro::sleep(1ms);
    cancel();
}

struct blocking_outcome {
    std::error_code err;
    bool finished_at_resume = true;
    std::string value;
};

goro::task<blocking_outcome> blocking_cancelled(std::shared_ptr<gate> g)
{
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::go(cancel_when_started(g, cancel));
    auto fn = [g] { return hold(g); };
    goro::result<std::string> r = co_await goro::blocking(ctx, fn);
    blocking_outcome o;
    o.finished_at_resume = g->finished.load(std::memory_order_acquire);
    o.err = r.error();
    co_return o;
}

goro::task<blocking_outcome> blocking_deadline(std::shared_ptr<gate> g)
{
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 5ms);
    auto fn = [g] { return hold(g); };
    goro::result<std::string> r = co_await goro::blocking(ctx, fn);
    blocking_outcome o;
    o.finished_at_resume = g->finished.load(std::memory_order_acquire);
    o.err = r.error();
    co_return o;
}

goro::task<std::vector<blocking_outcome>> blocking_plain()
{
    std::vector<blocking_outcome> out;
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    // fn first: its value.
    auto fn = [] { return std::string("done"); };
    goro::result<std::string> r = co_await goro::blocking(ctx, fn);
    out.push_back({r.error(), true, r ? *r : std::string()});
    // void fn.
    auto ran = std::make_shared<std::atomic<bool>>(false);
    auto vfn = [ran] { ran->store(true); };
    goro::result<void> v = co_await goro::blocking(ctx, vfn);
    out.push_back({v.error(), ran->load(), ""});
    // An exception from fn.
    auto thrower = []() -> int { throw std::runtime_error("fn threw"); };
    try {
        auto t = co_await goro::blocking(ctx, thrower);
        (void)t;
        out.push_back({{}, true, "no exception"});
    } catch (const std::runtime_error& e) {
        out.push_back({{}, true, e.what()});
    }
    // Cancelled already: fn never runs.
    cancel();
    auto never = std::make_shared<std::atomic<bool>>(false);
    auto nfn = [never] { never->store(true); };
    goro::result<void> n = co_await goro::blocking(ctx, nfn);
    out.push_back({n.error(), never->load(), ""});
    co_return out;
}

} // namespace

TEST_CASE("blocking(ctx, fn): fn's value, void, its exception; a cancelled context never runs fn",
          "[context][blocking]")
{
    goro::runtime rt(goro::runtime_config{2});
    auto out = rt.run(blocking_plain());
    REQUIRE(out.size() == 4);
    CHECK(!out[0].err);
    CHECK(out[0].value == "done");
    CHECK(!out[1].err);
    CHECK(out[1].finished_at_resume);
    CHECK(out[2].value == "fn threw");
    CHECK(out[3].err == goro::errc::canceled);
    CHECK(!out[3].finished_at_resume); // fn never ran
}

TEST_CASE("blocking(ctx, fn): canceled while fn runs; fn completes later on its own record",
          "[context][blocking]")
{
    for (unsigned procs : {1u, 2u}) {
        auto g = std::make_shared<gate>();
        goro::runtime rt(goro::runtime_config{procs});
        blocking_outcome o = rt.run(blocking_cancelled(g));
        CHECK(o.err == goro::errc::canceled);
        CHECK(!o.finished_at_resume); // the goroutine left while fn ran
        g->open.store(true, std::memory_order_release); // release: pairs with hold's acquire
        wait_finished(*g);
        CHECK(g->finished.load(std::memory_order_acquire));
    }
    auto g = std::make_shared<gate>();
    goro::runtime rt(goro::runtime_config{2});
    blocking_outcome o = rt.run(blocking_deadline(g));
    CHECK(o.err == goro::errc::deadline_exceeded);
    CHECK(!o.finished_at_resume);
    g->open.store(true, std::memory_order_release); // release: pairs with hold's acquire
    wait_finished(*g);
}

namespace {

goro::task<> blocked_forever(std::shared_ptr<gate> g, goro::context ctx)
{
    auto fn = [g] { return hold(g); };
    auto r = co_await goro::blocking(ctx, fn);
    (void)r;
}

goro::task<int> leave_blocking_behind(std::shared_ptr<gate> g)
{
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::go(blocked_forever(g, ctx));
    for (int i = 0; i < 60'000 && !g->started.load(std::memory_order_acquire); ++i)
        co_await goro::sleep(1ms);
    co_return 0;
}

} // namespace

TEST_CASE("blocking(ctx, fn): the run ends while fn runs; fn finishes after it", "[context][blocking][shutdown]")
{
    auto g = std::make_shared<gate>();
    goro::runtime rt(goro::runtime_config{2});
    CHECK(rt.run(leave_blocking_behind(g)) == 0); // returns without waiting for fn
    CHECK(!g->finished.load(std::memory_order_acquire));
    g->open.store(true, std::memory_order_release); // release: pairs with hold's acquire
    wait_finished(*g);
    CHECK(g->finished.load(std::memory_order_acquire));
}

// ---------------------------------------------------------------------------
// Hooks (goro/detail/context_hook.hpp): goro::fs's way to hear of a cancel.

namespace {

struct counted_hook : goro::detail::context_hook {
    std::atomic<int> calls{0};
    static void run(goro::detail::context_hook& h) noexcept
    {
        static_cast<counted_hook&>(h).calls.fetch_add(1, std::memory_order_relaxed); // relaxed: read after remove, which orders it
    }
    counted_hook() { fn = &run; }
};

} // namespace

TEST_CASE("a context hook runs once when its context (or an ancestor) is cancelled, never once removed",
          "[context]")
{
    using goro::detail::context_access;
    goro::cancellable parent = goro::with_cancel(goro::background());
    goro::cancellable child = goro::with_cancel(parent.ctx);
    counted_hook a, b, c;
    REQUIRE(goro::detail::context_hook_add(context_access::state(child.ctx), a) == 0);
    REQUIRE(goro::detail::context_hook_add(context_access::state(child.ctx), b) == 0);
    REQUIRE(goro::detail::context_hook_add(context_access::state(child.ctx), c) == 0);
    goro::detail::context_hook_remove(context_access::state(child.ctx), b); // the middle one
    CHECK(!b.fired);
    parent.cancel();
    CHECK(a.calls.load() == 1);
    CHECK(c.calls.load() == 1);
    CHECK(b.calls.load() == 0);
    goro::detail::context_hook_remove(context_access::state(child.ctx), a);
    goro::detail::context_hook_remove(context_access::state(child.ctx), c);
    CHECK(a.fired);
    CHECK(c.fired);
    child.cancel(); // cancelled already: nothing runs again
    CHECK(a.calls.load() == 1);

    counted_hook late;
    CHECK(goro::detail::context_hook_add(context_access::state(child.ctx), late) == int(goro::errc::canceled));
    CHECK(late.calls.load() == 0);
}

TEST_CASE("a context hook removed while another thread cancels runs at most once, and fired says whether",
          "[context]")
{
    using goro::detail::context_access;
    int ran = 0, not_ran = 0, bad = 0;
    for (int i = 0; i < 2000; ++i) {
        goro::cancellable c = goro::with_cancel(goro::background());
        auto h = std::make_unique<counted_hook>();
        REQUIRE(goro::detail::context_hook_add(context_access::state(c.ctx), *h) == 0);
        std::thread canceller([cancel = c.cancel] { cancel(); });
        goro::detail::context_hook_remove(context_access::state(c.ctx), *h);
        const int calls = h->calls.load();
        if (calls != (h->fired ? 1 : 0))
            ++bad;
        (h->fired ? ran : not_ran)++;
        h.reset(); // gone: a late call would be a use after free (ASan)
        canceller.join();
    }
    INFO("ran " << ran << ", not ran " << not_ran);
    CHECK(bad == 0);
    CHECK(ran + not_ran == 2000);
}
