// timers: N goroutines (default 100,000; argv[1] overrides) each sleep
// 10 ms at once; how long the whole takes and how late the sleepers wake.
//
// Each goroutine reads the clock, sleeps 10 ms, and records how long after
// its deadline (start + 10 ms) it ran again. Prints three lines:
//
//   timers wall_ms <float>        first goro::go to the last wake-up
//   timers late_mean_us <float>   mean lateness
//   timers late_max_us <float>    worst lateness
//
// compare.sh reads each as its own entry (timers_wall, timers_late_mean,
// timers_late_max). Go twin: go/timers. Bars (docs/performance.md, "Bars"):
// mean lateness under 1 ms; wall no worse than Go's.
#include "bench_args.hpp"

#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/sleep.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

long n_goroutines = 100'000;
constexpr auto nap = std::chrono::milliseconds(10);

goro::task<> sleeper(std::int64_t* late, goro::wait_group* wg)
{
    const auto deadline = std::chrono::steady_clock::now() + nap;
    co_await goro::sleep(nap);
    *late = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - deadline).count();
    wg->done();
}

goro::task<> app()
{
    const long n = n_goroutines;
    std::vector<std::int64_t> late(static_cast<std::size_t>(n));
    goro::wait_group wg;
    wg.add(static_cast<int>(n));
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i)
        goro::go(sleeper(&late[static_cast<std::size_t>(i)], &wg));
    co_await wg.wait();
    const auto wall = std::chrono::steady_clock::now() - start;
    double sum = 0;
    std::int64_t worst = 0;
    for (std::int64_t l : late) {
        sum += double(l);
        worst = std::max(worst, l);
    }
    std::printf("timers wall_ms %.3f\n", std::chrono::duration<double, std::milli>(wall).count());
    std::printf("timers late_mean_us %.1f\n", sum / double(n) / 1000.0);
    std::printf("timers late_max_us %.1f\n", double(worst) / 1000.0);
}

} // namespace

int main(int argc, char** argv)
{
    n_goroutines = count_arg(argc, argv, n_goroutines, "goroutines");
    return goro::run(app());
}
