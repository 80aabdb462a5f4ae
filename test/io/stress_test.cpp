// No lost wakeups with I/O in the mix: goroutine pairs bounce a byte through
// socketpairs while others bounce values through channels, on 2 Ps, so Ps
// park in their pollers and are woken both by completions (or readiness) and
// by doorbells. A lost wakeup stalls a pair; the watchdog turns that into a
// failure instead of a hang. Bounded in rounds; runs under TSan in CI.
#include "io_support.hpp"

#include "support/watchdog.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <vector>

using namespace goro_test;

namespace {

std::atomic<long> progress{0};

goro::task<> bounce_bytes(sock* s, bool starts, int rounds, int* done, goro::wait_group* wg)
{
    *done = co_await ping_pong(*s, starts, rounds, progress);
    wg->done();
}

goro::task<> bounce_values(goro::chan<int> in, goro::chan<int> out, bool starts, int rounds, int* done,
                           goro::wait_group* wg)
{
    int ok = 0;
    for (int i = 0; i < rounds; ++i) {
        if (starts)
            co_await out.send(i);
        auto v = co_await in.recv();
        if (!v)
            break;
        if (!starts)
            co_await out.send(*v);
        ++ok;
        progress.fetch_add(1, std::memory_order_relaxed);
    }
    *done = ok;
    wg->done();
}

struct stress_result {
    std::vector<int> byte_rounds;
    std::vector<int> value_rounds;
};

goro::task<> stress_main(int pairs, int rounds, stress_result* r)
{
    r->byte_rounds.assign(std::size_t(2 * pairs), -1);
    r->value_rounds.assign(std::size_t(2 * pairs), -1);
    std::vector<sock> socks = socket_pairs(pairs);
    goro::wait_group wg;
    wg.add(4 * pairs);
    for (int i = 0; i < pairs; ++i) {
        const auto a = std::size_t(2 * i), b = a + 1;
        goro::go(bounce_bytes(&socks[a], true, rounds, &r->byte_rounds[a], &wg));
        goro::go(bounce_bytes(&socks[b], false, rounds, &r->byte_rounds[b], &wg));
        goro::chan<int> ab(0), ba(0);
        goro::go(bounce_values(ba, ab, true, rounds, &r->value_rounds[a], &wg));
        goro::go(bounce_values(ab, ba, false, rounds, &r->value_rounds[b], &wg));
    }
    co_await wg.wait();
    for (sock& s : socks)
        s.close();
}

} // namespace

TEST_CASE("byte and value ping-pongs on 2 Ps lose no wakeup", "[io][stress]")
{
    constexpr int pairs = 8, rounds = 2000;
    goro_test::watchdog dog(progress, "lost wakeup with I/O");
    for (unsigned procs : {2u, 1u}) {
        stress_result r;
        goro::runtime rt(goro::runtime_config{procs});
        rt.run(stress_main(pairs, rounds, &r));
        INFO("procs " << procs << ", backend " << d::backend_name(d::io_backend()));
        for (int n : r.byte_rounds)
            CHECK(n == rounds);
        for (int n : r.value_rounds)
            CHECK(n == rounds);
    }
}
