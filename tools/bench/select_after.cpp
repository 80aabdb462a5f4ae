// select_after: what an after() case that never fires adds to a select
// whose channel is ready.
//
// One goroutine runs M rounds (default 2,000,000; argv[1] overrides) of
// "send i on a buffered channel, then receive it", once with a plain
// receive and once with goro::select(ch.recv(), goro::after(1h)), and
// repeats the pair 5 times. Prints the smallest per-round time of the
// select loop minus the smallest of the plain loop, in ns:
//
//   select_after ns_per_op <float>
//
// Go twin: go/select_after (Go's `select { case v := <-ch: case
// <-time.After(time.Hour): }` against `v := <-ch`). Bar (docs/performance.md,
// "Bars"): at most +20 ns.
#include "bench_args.hpp"

#include <goro/after.hpp>
#include <goro/chan.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/task.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

long n_rounds = 2'000'000;

goro::task<double> plain(goro::chan<long> ch, long n, long* sum)
{
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        co_await ch.send(i);
        *sum += *co_await ch.recv();
    }
    co_return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / double(n);
}

goro::task<double> with_after(goro::chan<long> ch, long n, long* sum)
{
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        co_await ch.send(i);
        auto r = co_await goro::select(ch.recv(), goro::after(1h));
        if (r.index() == 0)
            *sum += *r.get<0>();
    }
    co_return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / double(n);
}

goro::task<int> app()
{
    goro::chan<long> ch(1);
    const long n = n_rounds;
    long sum_plain = 0, sum_after = 0;
    double best_plain = 1e18, best_after = 1e18;
    for (int rep = 0; rep < 5; ++rep) {
        best_plain = std::min(best_plain, co_await plain(ch, n, &sum_plain));
        best_after = std::min(best_after, co_await with_after(ch, n, &sum_after));
    }
    if (sum_plain != sum_after) {
        std::fprintf(stderr, "select_after: the loops received %ld and %ld\n", sum_after, sum_plain);
        co_return 1;
    }
    std::printf("select_after ns_per_op %.1f\n", best_after - best_plain);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_rounds = count_arg(argc, argv, n_rounds, "rounds");
    return goro::run(app());
}
