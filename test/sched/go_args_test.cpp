// go(fn, args...): the forms it accepts bind fn's parameters to the copies in
// the goroutine's frame (or convert them into by-value parameters), so each
// goroutine sees its arguments after the caller's objects are gone. The forms
// it refuses (a reference parameter bound to a temporary) are compile-failure
// tests: test/sched/go_reject/.
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

// What each goroutine saw, in one string per goroutine; shared through std::ref.
struct seen {
    std::mutex mu; // goroutines on several Ps record at once
    std::vector<std::string> values;
    goro::wait_group wg;

    void record(std::string v)
    {
        {
            std::lock_guard lock(mu);
            values.push_back(std::move(v));
        }
        wg.done();
    }
};

goro::task<void> by_value(std::string s, seen& out)
{
    co_await goro::yield(); // the caller's arguments are gone by now
    out.record("by_value:" + s);
}

goro::task<void> by_cref(const std::string& s, seen& out)
{
    co_await goro::yield();
    out.record("by_cref:" + s);
}

goro::task<void> by_rref(std::string&& s, seen& out)
{
    co_await goro::yield();
    out.record("by_rref:" + s);
}

goro::task<void> move_only(std::unique_ptr<std::string> p, const std::string& suffix, seen& out)
{
    co_await goro::yield();
    out.record("move_only:" + *p + suffix);
}

goro::task<void> long_ref(const long& n, seen& out)
{
    co_await goro::yield();
    out.record("long_ref:" + std::to_string(n));
}

struct base {
    std::string name;
};
struct derived : base {};

goro::task<void> base_ref(const base& b, seen& out)
{
    co_await goro::yield();
    out.record("base_ref:" + b.name);
}

struct greeter {
    std::string greeting;
    goro::task<void> greet(const std::string& who, seen& out) const
    {
        co_await goro::yield();
        out.record("member:" + greeting + who);
    }
};

struct functor {
    std::string tag;
    goro::task<void> operator()(const std::string& s, seen& out) const
    {
        co_await goro::yield();
        out.record("functor:" + tag + s);
    }
};

void sync_cref(const std::string& s, seen& out)
{
    out.record("sync:" + s); // runs before the goroutine's frame goes away
}

goro::task<std::vector<std::string>> start_all()
{
    seen out;
    std::string shared = "shared";
    out.wg.add(13);
    {
        std::string temp = "temp";
        std::string moved = "moved";
        goro::go(&by_value, "literal", std::ref(out));               // converts into a by-value parameter
        goro::go(&by_cref, temp, std::ref(out));                     // binds to the frame's copy of temp
        goro::go(&by_cref, std::cref(shared), std::ref(out));        // binds to `shared` itself
        goro::go(&by_rref, std::move(moved), std::ref(out));         // binds to the frame's copy, as an xvalue
        goro::go(&move_only, std::make_unique<std::string>("box"), std::string("+s"), std::ref(out));
        goro::go(&long_ref, 7L, std::ref(out));
        derived d;
        d.name = "derived";
        goro::go(&base_ref, d, std::ref(out));                       // a base reference to the frame's copy
        greeter g{"hello "};
        goro::go(&greeter::greet, g, std::string("copy"), std::ref(out));   // the object copied too
        goro::go(&greeter::greet, &g, std::string("ptr"), std::ref(out));   // g itself: awaited below
        goro::go(functor{"f:"}, temp, std::ref(out));
        goro::go([](const std::string& s, seen& o) -> goro::task<void> {
            co_await goro::yield();
            o.record("lambda:" + s);
        }, temp, std::ref(out));
        goro::go([](auto n, const auto& s, seen& o) -> goro::task<void> { // deduced: binds the frame's copies
            co_await goro::yield();
            o.record("generic:" + std::to_string(n) + s);
        }, 3, "lit", std::ref(out));
        goro::go(&sync_cref, "sync literal", std::ref(out));         // no task result: nothing outlives the call
        co_await out.wg.wait(); // before g and d go away
    }
    std::sort(out.values.begin(), out.values.end());
    co_return out.values;
}

} // namespace

TEST_CASE("go(fn, args...): accepted forms see their arguments after the caller's are gone", "[go]")
{
    std::vector<std::string> expect{
        "base_ref:derived", "by_cref:shared",   "by_cref:temp",   "by_rref:moved",  "by_value:literal",
        "functor:f:temp",   "generic:3lit",     "lambda:temp",    "long_ref:7",     "member:hello copy",
        "member:hello ptr", "move_only:box+s",  "sync:sync literal",
    };
    for (int procs : {1, 2}) {
        goro::runtime rt(goro::runtime_config{unsigned(procs)});
        CHECK(rt.run(start_all()) == expect);
    }
}
