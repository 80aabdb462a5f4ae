// select: one goroutine selects over 4 unbuffered channels, each fed by its
// own producer goroutine, until all 4 are closed.
//
// Producer p sends the values p, p + 4, p + 8, ... below M (default
// 1,000,000; argv[1] overrides), then closes its channel. The consumer
// receives with goro::select over the 4 channels, switching a closed channel
// off by replacing it with a nil one (Go's idiom), and adds up what it got.
// Prints the wall time from the first goro::go to the consumer's end, divided
// by M:
//
//   select ns_per_op <float>
//
// and exits 1 if the sum is not 0 + 1 + ... + (M - 1). Go twin: go/select.
// Bar (docs/performance.md, "Bars"): at least 2x Go's throughput.
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/task.hpp>

#include <array>
#include <chrono>
#include <cstdio>

namespace {

constexpr int producers = 4;
long n_messages = 1'000'000;

goro::task<> producer(goro::chan<long> ch, long first, long total)
{
    for (long v = first; v < total; v += producers)
        co_await ch.send(v);
    ch.close();
}

goro::task<long> consume(std::array<goro::chan<long>, producers> chans)
{
    long sum = 0;
    int open = producers;
    while (open > 0) {
        auto r = co_await goro::select(chans[0].recv(), chans[1].recv(), chans[2].recv(), chans[3].recv());
        std::optional<long> v;
        switch (r.index()) {
        case 0: v = r.get<0>(); break;
        case 1: v = r.get<1>(); break;
        case 2: v = r.get<2>(); break;
        default: v = r.get<3>(); break;
        }
        if (v) {
            sum += *v;
        } else {
            chans[r.index()] = goro::chan<long>(); // closed: switch the case off
            --open;
        }
    }
    co_return sum;
}

goro::task<int> app()
{
    const long total = n_messages;
    std::array<goro::chan<long>, producers> chans{goro::chan<long>(0), goro::chan<long>(0), goro::chan<long>(0),
                                                   goro::chan<long>(0)};
    auto start = std::chrono::steady_clock::now();
    for (int p = 0; p < producers; ++p)
        goro::go(producer(chans[p], p, total));
    long sum = co_await consume(chans);
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (sum != total * (total - 1) / 2) {
        std::fprintf(stderr, "select: received values add up to %ld, not %ld\n", sum, total * (total - 1) / 2);
        co_return 1;
    }
    print_ns_per_op("select", elapsed, total);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_messages = count_arg(argc, argv, n_messages, "messages");
    return goro::run(app());
}
