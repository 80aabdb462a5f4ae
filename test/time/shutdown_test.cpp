// The end of a run drops timers: sleeping goroutines are withdrawn (their
// timers disarmed) and destroyed, pending afters are disarmed with their
// selects, and timers that belong to no goroutine are unlinked from the
// heaps, so a goro::timer stopped, reset or destroyed after run() returned
// touches nothing freed (ASan and LSan check this build).
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

using namespace std::chrono_literals;

namespace {

goro::task<> sleep_long()
{
    co_await goro::sleep(1h);
}

goro::task<> select_long(goro::chan<int> ch)
{
    auto r = co_await goro::select(ch.recv(), goro::after(1h), goro::after(2h));
    (void)r;
}

goro::task<> wait_on_timer()
{
    goro::timer t(1h);
    auto v = co_await t.c().recv();
    (void)v;
}

goro::task<> tick_forever()
{
    goro::ticker t(1ms);
    for (;;)
        co_await t.c().recv();
}

goro::task<std::unique_ptr<goro::timer>> leave_timers_behind(goro::chan<int> ch)
{
    for (int i = 0; i < 50; ++i) {
        goro::go(sleep_long());
        goro::go(select_long(ch));
        goro::go(wait_on_timer());
    }
    goro::go(tick_forever());
    co_await goro::sleep(5ms); // let them all park (not needed for correctness)
    auto kept = std::make_unique<goro::timer>(1h); // outlives the run, still armed
    co_return kept;
}

goro::task<bool> reuse(goro::timer* t)
{
    t->reset(1ms);
    auto v = co_await t->c().recv();
    co_return v.has_value();
}

} // namespace

TEST_CASE("end of a run: sleepers, afters, tickers and timers are dropped cleanly", "[shutdown]")
{
    for (unsigned procs : {1u, 2u}) {
        std::unique_ptr<goro::timer> kept;
        goro::chan<int> ch(0);
        {
            goro::runtime rt(goro::runtime_config{procs});
            kept = rt.run(leave_timers_behind(ch));
            // The run dropped it: nothing to stop, nothing to receive.
            CHECK_FALSE(kept->stop());
            CHECK_FALSE(kept->c().try_recv());
            // A later run arms it again.
            CHECK(rt.run(reuse(kept.get())));
            CHECK_FALSE(kept->reset(1h)); // no runtime runs: not armed
        }
        // The runtime is gone; the timer touches none of its heaps.
        CHECK_FALSE(kept->stop());
        CHECK_FALSE(kept->reset(1ms));
        kept.reset();
    }
}
