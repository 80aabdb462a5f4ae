// park_mem: resident memory per parked goroutine.
//
// Reads the resident set size from /proc/self/statm, starts N goroutines
// (default 1,000,000; argv[1] overrides) that each call parked.done() and then
// park in gate.wait() on a wait_group whose count is 1, awaits parked.wait()
// so every goroutine has checked in, reads RSS again and prints the
// difference divided by N:
//
//   park_mem bytes_per_goroutine <float>
//
// Then it opens the gate and awaits a third wait_group until every goroutine
// has exited: the line is printed only once all N have finished, so a run
// that prints it also shows that a million parked goroutines all complete.
// Go twin: go/park_mem/main.go (same RSS source, no GC call). Bar
// (docs/performance.md, "Bars"): at most 1/10 of Go's bytes per goroutine.
#include "bench_args.hpp"

#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace {

long n_goroutines = 1'000'000;

/// The resident set size: the second field of /proc/self/statm, in pages.
long rss_bytes()
{
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    long size = 0;
    long resident = 0;
    if (!f || std::fscanf(f, "%ld %ld", &size, &resident) != 2) {
        std::fprintf(stderr, "park_mem: cannot read /proc/self/statm\n");
        std::exit(1);
    }
    std::fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

goro::task<> parker(goro::wait_group* parked, goro::wait_group* gate, goro::wait_group* exited)
{
    parked->done();
    co_await gate->wait();
    exited->done();
}

goro::task<> app()
{
    goro::wait_group parked;
    goro::wait_group gate;
    goro::wait_group exited;
    const long n = n_goroutines;

    gate.add(1);
    parked.add(static_cast<int>(n));
    exited.add(static_cast<int>(n));

    const long before = rss_bytes();
    for (long i = 0; i < n; ++i)
        goro::go(parker(&parked, &gate, &exited));
    co_await parked.wait();
    const long after = rss_bytes();

    gate.done();
    co_await exited.wait();

    std::printf("park_mem bytes_per_goroutine %.1f\n",
                static_cast<double>(after - before) / static_cast<double>(n));
}

} // namespace

int main(int argc, char** argv)
{
    n_goroutines = count_arg(argc, argv, n_goroutines, "goroutines");
    return goro::run(app());
}
