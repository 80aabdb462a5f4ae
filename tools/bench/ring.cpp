// ring: a counter passed around a ring of goroutines over unbuffered
// channels.
//
// 10,000 goroutines stand in a ring; goroutine i receives from channel i and
// sends to channel i + 1 (mod 10,000). Main sends 0 on channel 0; each
// goroutine that receives a count forwards count + 1, so one hop is one
// goroutine-to-goroutine handoff, H hops in all (default 1,000,000; argv[1]
// overrides). The goroutine that receives H records it and closes its right
// channel instead of forwarding; every goroutine that finds its left channel
// closed closes its right one and exits, so the stop goes once round the ring
// and all 10,000 exit. Prints the wall time from the first goro::go to the
// last goroutine's exit, divided by H:
//
//   ring ns_per_op <float>
//
// and exits 1 unless the count H arrived at goroutine H mod 10,000 (every hop
// added exactly one). Go twin: go/ring/main.go. Bar (docs/performance.md,
// "Bars"): at least 10x faster than Go.
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr long ring_size = 10'000;
long n_hops = 1'000'000;

struct outcome {
    long count = -1; // the count that stopped the ring
    long at = -1;    // the goroutine that received it
};

goro::task<> member(long index, goro::recv_chan<long> left, goro::send_chan<long> right, long hops, outcome* out,
                    goro::wait_group* wg)
{
    for (;;) {
        auto v = co_await left.recv();
        if (!v) { // the stop came round: pass it on
            right.close();
            break;
        }
        if (*v == hops) { // the last hop ended here: start the stop
            out->count = *v;
            out->at = index;
            right.close();
            break;
        }
        co_await right.send(*v + 1);
    }
    wg->done();
}

goro::task<int> app()
{
    const long hops = n_hops;
    std::vector<goro::chan<long>> links;
    links.reserve(ring_size);
    for (long i = 0; i < ring_size; ++i)
        links.emplace_back(0);
    outcome out;
    goro::wait_group wg;

    const auto start = std::chrono::steady_clock::now();
    wg.add(static_cast<int>(ring_size));
    for (long i = 0; i < ring_size; ++i)
        goro::go(member(i, links[i], links[(i + 1) % ring_size], hops, &out, &wg));
    co_await links[0].send(0);
    co_await wg.wait();
    const auto elapsed = std::chrono::steady_clock::now() - start;

    if (out.count != hops || out.at != hops % ring_size) {
        std::fprintf(stderr, "ring: the count %ld stopped at goroutine %ld, not %ld at %ld\n", out.count, out.at,
                     hops, hops % ring_size);
        co_return 1;
    }
    print_ns_per_op("ring", elapsed, hops);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_hops = count_arg(argc, argv, n_hops, "hops");
    return goro::run(app());
}
