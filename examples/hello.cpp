// hello: counts the primes below two million with one goroutine per block of
// numbers, spread over all Ps by work stealing, and joins the counts.
//
// Shows goro::spawn + join_handle (fan out, fan in), a wait_group used as a
// start gate, goro::gomaxprocs(), goro::num_goroutine(), and goro::yield() in a
// long CPU loop. The output is the same on every run except the P count and
// the time.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr long limit = 2'000'000;
constexpr int blocks = 16;
constexpr long expected_primes = 148'933; // pi(2,000,000)

bool is_prime(long n)
{
    if (n < 2)
        return false;
    for (long d = 2; d * d <= n; ++d)
        if (n % d == 0)
            return false;
    return true;
}

// A goroutine: counts the primes in [lo, hi). Parameters are taken by value (or,
// for `start`, by reference to an object that outlives every worker), so the
// frame holds all the goroutine needs.
goro::task<long> count_primes(long lo, long hi, goro::wait_group& start)
{
    co_await start.wait(); // parked until main opens the gate
    long count = 0;
    for (long n = lo; n < hi; ++n) {
        if (is_prime(n))
            ++count;
        // Stackless goroutines cannot be preempted: a long loop without a
        // co_await would hold its worker. Let the others run now and then.
        if (n % 8192 == 0)
            co_await goro::yield();
    }
    co_return count;
}

goro::task<int> app()
{
    auto t0 = std::chrono::steady_clock::now();
    std::printf("goro %d.%d.%d, GOMAXPROCS=%u (set GORO_MAXPROCS to change)\n",
                GORO_VERSION_MAJOR, GORO_VERSION_MINOR, GORO_VERSION_PATCH, goro::gomaxprocs());

    goro::wait_group start;
    start.add(1);
    std::vector<goro::join_handle<long>> workers;
    for (int b = 0; b < blocks; ++b)
        workers.push_back(goro::spawn(count_primes(limit / blocks * b, limit / blocks * (b + 1), start)));

    // Every worker is parked at the gate, so this count is exact.
    std::printf("goroutines: %ld (main + %d workers)\n", goro::num_goroutine(), blocks);
    start.done(); // open the gate

    long total = 0;
    for (int b = 0; b < blocks; ++b) {
        long count = co_await workers[b];
        std::printf("  [%7ld, %7ld): %5ld primes\n", limit / blocks * b, limit / blocks * (b + 1), count);
        total += count;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    std::printf("primes below %ld: %ld (%s), %lld ms\n", limit, total,
                total == expected_primes ? "correct" : "WRONG", static_cast<long long>(ms.count()));
    std::printf("goroutines after joining: %ld\n", goro::num_goroutine());
    co_return total == expected_primes ? 0 : 1;
}

} // namespace

int main()
{
    return goro::run(app());
}
