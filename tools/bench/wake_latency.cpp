// wake_latency: how long a goroutine readied on one P takes to run on
// another P that was parked (idle in its poller, past the spin window).
//
// Two Ps (run it with GORO_MAXPROCS=2; compare.sh does). The waker busy-waits
// 200us between rounds, so the other P finds nothing, spins out its 20us
// window and its steal back-off, and parks in its poller. Then the waker
// stamps t0 and sends it to the sleeper, a goroutine parked in a receive:
// the send readies the sleeper into the waker's runnext and wakes the parked
// P through its doorbell. A second send readies a decoy into runnext, which
// moves the sleeper to the ring's tail, where the woken P steals it at once
// (a runnext it would leave to the busy victim for ~3us first; Go does the
// same, so the twin does the same). The sleeper records now - t0. The waker
// never suspends while it waits, so the sleeper can only run on the other
// P. Default 2,000 rounds (argv[1] overrides), the first 20 not counted.
// Prints the median of the latencies:
//
//   wake_latency median_ns_per_wake <float>
//
// and, on stderr, the percentiles, the waker's cost (the median time its
// send takes, which includes ringing the doorbell) and the doorbell
// (GORO_DOORBELL, see
// lib/netpoll/probe.hpp): the same binary measures eventfd and msg_ring
// when run alternately with GORO_DOORBELL=eventfd and =msg_ring. Go twin:
// go/wake_latency. No bar: informational (docs/performance.md).
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

long n_rounds = 2'000;
constexpr long warmup = 20;
constexpr std::int64_t pause_ns = 200'000;

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

goro::task<> sleeper(goro::recv_chan<std::int64_t> in, std::vector<std::int64_t>* latencies, goro::wait_group* wg)
{
    while (auto t0 = co_await in.recv())
        latencies->push_back(now_ns() - *t0);
    wg->done();
}

goro::task<> decoy(goro::recv_chan<long> in, goro::wait_group* wg)
{
    // A declaration, not `while (co_await in.recv())`: GCC 12 miscompiles
    // a bare co_await as a loop condition (the program hangs or traps).
    while (auto v = co_await in.recv()) {
    }
    wg->done();
}

double percentile(const std::vector<std::int64_t>& sorted, double q)
{
    return double(sorted[std::size_t(q * double(sorted.size() - 1) + 0.5)]);
}

goro::task<> app()
{
    goro::chan<std::int64_t> wake(0);
    goro::chan<long> kick(0);
    goro::wait_group wg;
    std::vector<std::int64_t> latencies;
    std::vector<std::int64_t> send_costs; // the waker's side: the send that rings the doorbell
    latencies.reserve(std::size_t(n_rounds + warmup));
    send_costs.reserve(std::size_t(n_rounds + warmup));

    wg.add(2);
    goro::go(sleeper(wake, &latencies, &wg));
    goro::go(decoy(kick, &wg));
    for (long i = 0; i < n_rounds + warmup; ++i) {
        for (std::int64_t until = now_ns() + pause_ns; now_ns() < until;) {
        }
        const std::int64_t t0 = now_ns();
        co_await wake.send(t0);
        send_costs.push_back(now_ns() - t0);
        co_await kick.send(i);
    }
    wake.close();
    kick.close();
    co_await wg.wait();

    for (auto* v : {&latencies, &send_costs}) {
        v->erase(v->begin(), v->begin() + warmup);
        std::sort(v->begin(), v->end());
    }
    const char* doorbell = std::getenv("GORO_DOORBELL");
    std::fprintf(stderr,
                 "wake_latency: %zu wakes (GORO_DOORBELL=%s): min %.0f p50 %.0f p90 %.0f p99 %.0f ns; "
                 "the waker's send p50 %.0f ns\n",
                 latencies.size(), doorbell && *doorbell ? doorbell : "(default)", percentile(latencies, 0),
                 percentile(latencies, 0.5), percentile(latencies, 0.9), percentile(latencies, 0.99),
                 percentile(send_costs, 0.5));
    std::printf("wake_latency median_ns_per_wake %.1f\n", percentile(latencies, 0.5));
}

} // namespace

int main(int argc, char** argv)
{
    n_rounds = count_arg(argc, argv, n_rounds, "rounds");
    return goro::run(app());
}
