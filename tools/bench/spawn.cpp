// spawn: the cost of starting and finishing a goroutine.
//
// The main goroutine calls wg.add(N), starts N goroutines (default 1,000,000;
// argv[1] overrides), each of which only calls wg.done(), and awaits
// wg.wait(). Prints the wall time from the first goro::go to the return of
// wg.wait(), divided by N:
//
//   spawn ns_per_op <float>
//
// Go twin: go/spawn/main.go. Bar (docs/performance.md, "Bars"): at least 5x
// faster than Go.
#include "bench_args.hpp"

#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace {

long n_goroutines = 1'000'000;

goro::task<> worker(goro::wait_group* wg)
{
    wg->done();
    co_return;
}

goro::task<> app()
{
    goro::wait_group wg;
    const long n = n_goroutines;

    auto start = std::chrono::steady_clock::now();
    wg.add(static_cast<int>(n));
    for (long i = 0; i < n; ++i)
        goro::go(worker(&wg));
    co_await wg.wait();
    auto elapsed = std::chrono::steady_clock::now() - start;

    double ns = std::chrono::duration<double, std::nano>(elapsed).count();
    std::printf("spawn ns_per_op %.1f\n", ns / static_cast<double>(n));
}

} // namespace

int main(int argc, char** argv)
{
    n_goroutines = count_arg(argc, argv, n_goroutines, "goroutines");
    return goro::run(app());
}
