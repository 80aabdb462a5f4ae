// chan_pingpong: two goroutines bounce an int over two unbuffered channels.
//
// The pinger sends i on `ping` and waits for it to come back on `pong`; the
// ponger receives from `ping` and sends what it got on `pong`, until the
// pinger closes `ping`. One round trip is one send and one receive on each
// channel; default 1,000,000 round trips, argv[1] overrides. Prints the wall
// time divided by the number of round trips:
//
//   chan_pingpong ns_per_op <float>
//
// With one P every round trip parks and readies each goroutine once; with
// two the players may sit on different workers and the value crosses cores.
// compare.sh runs it at both. Go twin: go/chan_pingpong/main.go. Bar
// (docs/performance.md, "Bars"): at least 2x Go's throughput.
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

long n_rounds = 1'000'000;

goro::task<> pinger(goro::send_chan<long> ping, goro::recv_chan<long> pong, long rounds, goro::wait_group* wg)
{
    for (long i = 0; i < rounds; ++i) {
        co_await ping.send(i);
        auto v = co_await pong.recv();
        if (!v || *v != i) {
            std::fprintf(stderr, "chan_pingpong: sent %ld, got %ld back\n", i, v ? *v : -1L);
            std::exit(1);
        }
    }
    ping.close();
    wg->done();
}

goro::task<> ponger(goro::recv_chan<long> ping, goro::send_chan<long> pong, goro::wait_group* wg)
{
    while (auto v = co_await ping.recv())
        co_await pong.send(*v);
    wg->done();
}

goro::task<> app()
{
    goro::chan<long> ping(0);
    goro::chan<long> pong(0);
    goro::wait_group wg;
    const long rounds = n_rounds;

    auto start = std::chrono::steady_clock::now();
    wg.add(2);
    goro::go(pinger(ping, pong, rounds, &wg));
    goro::go(ponger(ping, pong, &wg));
    co_await wg.wait();
    print_ns_per_op("chan_pingpong", std::chrono::steady_clock::now() - start, rounds);
}

} // namespace

int main(int argc, char** argv)
{
    n_rounds = count_arg(argc, argv, n_rounds, "round trips");
    return goro::run(app());
}
