// Context and group: a search fanned out to replicas under a deadline, Go's
// errgroup.WithContext. One replica fails; the group cancels the others,
// which were waiting in goro::sleep(ctx, d), and wait() reports the first
// error. A second search finishes before its deadline.
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <system_error>

using namespace std::chrono_literals;

namespace {

// A replica that answers after `delay`, or fails with `fail` right away.
goro::task<std::error_code> replica(goro::context ctx, int id, std::chrono::milliseconds delay, std::error_code fail,
                                    std::atomic<int>* answered)
{
    if (fail)
        co_return fail;
    if (std::error_code e = co_await goro::sleep(ctx, delay)) {
        std::printf("replica %d stopped: %s\n", id, e.message().c_str());
        co_return e; // dropped: not the first failure
    }
    answered->fetch_add(1, std::memory_order_relaxed); // relaxed: read after wait()
    co_return std::error_code{};
}

goro::task<std::error_code> search(goro::context parent, bool with_failure, std::atomic<int>* answered)
{
    auto [ctx, cancel] = goro::with_timeout(parent, 10s);
    auto [g, gctx] = goro::with_group(ctx);
    g.set_limit(4);
    for (int id = 0; id < 4; ++id) {
        std::error_code fail;
        if (with_failure && id == 2)
            fail = std::make_error_code(std::errc::connection_refused);
        co_await g.go(replica(gctx, id, with_failure ? 1h : 1ms, fail, answered));
    }
    std::error_code e = co_await g.wait();
    cancel();
    co_return e;
}

goro::task<int> app()
{
    std::atomic<int> answered{0};
    std::error_code e = co_await search(goro::background(), true, &answered);
    std::printf("search with a failing replica: %s\n", e.message().c_str());
    if (e != std::errc::connection_refused || answered.load() != 0)
        co_return 1;
    e = co_await search(goro::background(), false, &answered);
    std::printf("search without failures: %s (%d answers)\n", e ? e.message().c_str() : "ok", answered.load());
    co_return e || answered.load() != 4 ? 1 : 0;
}

} // namespace

int main()
{
    return goro::run(app());
}
