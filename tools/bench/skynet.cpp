// skynet: a 10-ary tree of goroutines, one leaf per number, that adds up its
// leaves' numbers.
//
// The classic skynet benchmark: the root covers the numbers 0..N-1 (default
// N = 1,000,000, 6 levels; argv[1] overrides, and must be a power of 10).
// A node covering `size` numbers from `num` makes its own unbuffered channel,
// starts 10 children on it, each covering a tenth of its range, receives
// their 10 sums and sends its own up to its parent; a leaf (size 1) sends its
// number. That is N leaves and (N - 1) / 9 inner nodes, 1,111,111 goroutines
// at the default. Prints the wall time from starting the root to receiving
// its sum, in milliseconds:
//
//   skynet ms <float>
//
// and exits 1 if the sum is not 0 + 1 + ... + (N - 1) (499999500000 at the
// default). Go twin: go/skynet/main.go. Bar (docs/performance.md, "Bars"): at
// least 10x faster than Go.
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr long fanout = 10;
long n_leaves = 1'000'000;

goro::task<> skynet(goro::send_chan<long> parent, long num, long size)
{
    if (size == 1) {
        co_await parent.send(num);
        co_return;
    }
    goro::chan<long> children(0);
    const long sub = size / fanout;
    for (long i = 0; i < fanout; ++i)
        goro::go(skynet(children, num + i * sub, sub));
    long sum = 0;
    for (long i = 0; i < fanout; ++i) {
        auto v = co_await children.recv();
        sum += *v;
    }
    co_await parent.send(sum);
}

goro::task<int> app()
{
    const long n = n_leaves;
    goro::chan<long> root(0);

    const auto start = std::chrono::steady_clock::now();
    goro::go(skynet(root, 0, n));
    auto sum = co_await root.recv();
    const auto elapsed = std::chrono::steady_clock::now() - start;

    const long want = n * (n - 1) / 2;
    if (!sum || *sum != want) {
        std::fprintf(stderr, "skynet: the sum is %ld, not %ld\n", sum ? *sum : -1L, want);
        co_return 1;
    }
    print_ms("skynet", elapsed);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_leaves = count_arg(argc, argv, n_leaves, "leaves, a power of 10");
    long p = 1;
    while (p < n_leaves)
        p *= fanout;
    if (p != n_leaves) {
        std::fprintf(stderr, "usage: %s [leaves, a power of 10]\n", argv[0]);
        return 2;
    }
    return goro::run(app());
}
