// sieve: Go's classic concurrent prime sieve.
//
// A generator goroutine sends 2, 3, 4, ... on an unbuffered channel. Main
// receives the first number on the end of the chain, which is the next prime
// p, makes a new unbuffered channel and starts a filter goroutine between the
// two that passes on what p does not divide; that new channel becomes the end
// of the chain. It stops after the Nth prime (default N = 5,000; argv[1]
// overrides), with N filters in the chain. Prints the wall time from starting
// the generator to receiving the Nth prime, in milliseconds:
//
//   sieve ms <float>
//
// and exits 1 unless that prime is the Nth one (48611 at the default; checked
// against trial division). As in Go, the generator and the filters are left
// blocked when main returns: goro::run then destroys every goroutine still
// parked or runnable, with the values and channel handles their frames hold
// (docs/guide/goroutines.md, "When main returns"), so nothing leaks.
// Go twin: go/sieve/main.go. Bar (docs/performance.md, "Bars"): at least 5x
// faster than Go.
#include "bench_args.hpp"

#include <goro/chan.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>

#include <chrono>
#include <cstdio>

namespace {

long n_primes = 5'000;

goro::task<> generate(goro::send_chan<long> out)
{
    for (long i = 2;; ++i)
        co_await out.send(i);
}

goro::task<> filter(goro::recv_chan<long> in, goro::send_chan<long> out, long prime)
{
    for (;;) {
        auto v = co_await in.recv();
        if (!v) // nothing closes the chain; for completeness
            co_return;
        if (*v % prime != 0)
            co_await out.send(*v);
    }
}

/// The nth prime by trial division, to check the sieve's answer.
long nth_prime(long n)
{
    long found = 0;
    for (long c = 2;; ++c) {
        bool prime = true;
        for (long d = 2; d * d <= c; ++d) {
            if (c % d == 0) {
                prime = false;
                break;
            }
        }
        if (prime && ++found == n)
            return c;
    }
}

goro::task<int> app()
{
    const long n = n_primes;
    goro::chan<long> chain(0);
    long prime = -1;

    const auto start = std::chrono::steady_clock::now();
    goro::go(generate(chain));
    for (long i = 0; i < n; ++i) {
        auto p = co_await chain.recv();
        prime = p ? *p : -1;
        goro::chan<long> next(0);
        goro::go(filter(chain, next, prime));
        chain = next;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;

    const long want = nth_prime(n);
    if (prime != want) {
        std::fprintf(stderr, "sieve: prime number %ld came out as %ld, not %ld\n", n, prime, want);
        co_return 1;
    }
    print_ms("sieve", elapsed);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_primes = count_arg(argc, argv, n_primes, "primes");
    return goro::run(app());
}
