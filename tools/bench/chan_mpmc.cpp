// chan_mpmc_buffered, chan_mpmc_unbuffered: 4 producers and 4 consumers on
// one channel.
//
// One source, built twice: BENCH_MPMC_CAP (set by meson.build) is the
// channel's capacity, 1024 for chan_mpmc_buffered and 0 for
// chan_mpmc_unbuffered. Producer p sends the values p, p + 4, p + 8, ... below
// M, so M messages in all (default 4,000,000 buffered, 1,000,000 unbuffered;
// argv[1] overrides). The consumers receive until the channel is closed and
// add up what they got; main closes the channel once every producer is done.
// Prints the wall time from the first goro::go to the last consumer's exit,
// divided by M:
//
//   chan_mpmc_buffered ns_per_op <float>
//
// and exits 1 if the values received do not add up to 0 + 1 + ... + (M - 1).
// Go twins: go/chan_mpmc_buffered and go/chan_mpmc_unbuffered (one package,
// go/mpmc). Bar (docs/performance.md, "Bars"): at least 2x Go's throughput.
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>

#ifndef BENCH_MPMC_CAP
#error "BENCH_MPMC_CAP (the channel capacity) must be defined"
#endif

namespace {

constexpr std::size_t capacity = BENCH_MPMC_CAP;
constexpr const char* name = capacity ? "chan_mpmc_buffered" : "chan_mpmc_unbuffered";
constexpr int producers = 4;
constexpr int consumers = 4;

long n_messages = capacity ? 4'000'000 : 1'000'000;

goro::task<> producer(goro::send_chan<long> ch, long first, long total, goro::wait_group* wg)
{
    for (long v = first; v < total; v += producers)
        co_await ch.send(v);
    wg->done();
}

goro::task<> consumer(goro::recv_chan<long> ch, std::atomic<long>* sum, goro::wait_group* wg)
{
    long local = 0;
    while (auto v = co_await ch.recv())
        local += *v;
    sum->fetch_add(local, std::memory_order_relaxed);
    wg->done();
}

goro::task<int> app()
{
    goro::chan<long> ch(capacity);
    goro::wait_group sent;
    goro::wait_group received;
    std::atomic<long> sum{0};
    const long total = n_messages;

    auto start = std::chrono::steady_clock::now();
    sent.add(producers);
    received.add(consumers);
    for (int p = 0; p < producers; ++p)
        goro::go(producer(ch, p, total, &sent));
    for (int c = 0; c < consumers; ++c)
        goro::go(consumer(ch, &sum, &received));
    co_await sent.wait();
    ch.close();
    co_await received.wait();
    auto elapsed = std::chrono::steady_clock::now() - start;

    if (sum.load() != total * (total - 1) / 2) {
        std::fprintf(stderr, "%s: received values add up to %ld, not %ld\n", name, sum.load(),
                     total * (total - 1) / 2);
        co_return 1;
    }
    print_ns_per_op(name, elapsed, total);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_messages = count_arg(argc, argv, n_messages, "messages");
    return goro::run(app());
}
