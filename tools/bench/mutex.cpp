// mutex: 8 goroutines contending on one goro::mutex.
//
// Each goroutine loops M times (default 1,000,000; argv[1] overrides):
// `auto lk = co_await mu.lock(); ++counter;` and the guard unlocks. Prints the
// wall time from starting the goroutines to the last one finishing, divided
// by the 8*M lock/unlock pairs:
//
//   mutex ns_per_op <float>
//
// With one P this is the uncontended fast path plus the cooperative budget's
// yields; with more, the goroutines on different Ps contend for the lock's
// cache line and park when they lose (Go's normal and starvation modes).
// Exits with status 1 if the counter is not exactly 8*M. Go twin:
// go/mutex/main.go. Bar (docs/performance.md, "Bars"): at least 2.5x Go's throughput.
#include "bench_args.hpp"

#include <goro/go.hpp>
#include <goro/mutex.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <chrono>
#include <cstdio>

namespace {

constexpr int n_goroutines = 8;
long n_iterations = 1'000'000;

struct shared {
    goro::mutex mu;
    long counter = 0; // guarded by mu
};

goro::task<> worker(shared* s, long iterations, goro::wait_group* wg)
{
    for (long i = 0; i < iterations; ++i) {
        auto lk = co_await s->mu.lock();
        ++s->counter;
    }
    wg->done();
}

goro::task<int> app()
{
    shared s;
    goro::wait_group wg;
    const long iterations = n_iterations;

    auto start = std::chrono::steady_clock::now();
    wg.add(n_goroutines);
    for (int i = 0; i < n_goroutines; ++i)
        goro::go(worker(&s, iterations, &wg));
    co_await wg.wait();
    auto elapsed = std::chrono::steady_clock::now() - start;

    if (s.counter != n_goroutines * iterations) {
        std::fprintf(stderr, "mutex: counter %ld, expected %ld\n", s.counter, n_goroutines * iterations);
        co_return 1;
    }
    double ns = std::chrono::duration<double, std::nano>(elapsed).count();
    std::printf("mutex ns_per_op %.1f\n", ns / static_cast<double>(n_goroutines * iterations));
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_iterations = count_arg(argc, argv, n_iterations, "iterations per goroutine");
    return goro::run(app());
}
