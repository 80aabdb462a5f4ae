// prime_sieve: Go's classic concurrent prime sieve (the one on go.dev), a
// daisy chain of filter goroutines joined by unbuffered channels.
//
//   generate -> 2,3,4,5,... -> filter(2) -> 3,5,7,9,... -> filter(3) -> 5,7,11,...
//
// main receives a prime from the end of the chain, prints it, and appends a
// filter that drops its multiples. Prints the first N primes (default 100;
// argv[1] sets N, up to 10000), then checks them against a serial sieve of
// Eratosthenes and exits 1 if they differ.
//
// Go's version generates forever and leaves the chain blocked when main
// returns. Here the generator stops at a bound on the Nth prime and closes its
// channel; each filter closes its output when its input is closed; main drains
// the end of the chain, so every goroutine ends before main does.
#include <goro/goro.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

// Sends 2, 3, ..., limit, then closes.
goro::task<void> generate(goro::send_chan<int> out, int limit, goro::wait_group& wg)
{
    for (int i = 2; i <= limit; ++i)
        co_await out.send(i);
    out.close();
    wg.done();
}

// Copies what is not a multiple of `prime` from `in` to `out`, until `in` is closed.
goro::task<void> filter(goro::recv_chan<int> in, goro::send_chan<int> out, int prime, goro::wait_group& wg)
{
    while (auto i = co_await in.recv())
        if (*i % prime != 0)
            co_await out.send(*i);
    out.close();
    wg.done();
}

// An upper bound on the nth prime: n (ln n + ln ln n) for n >= 6 (Rosser).
int nth_prime_bound(int n)
{
    if (n < 6)
        return 13;
    double x = n;
    return static_cast<int>(x * (std::log(x) + std::log(std::log(x)))) + 1;
}

std::vector<int> first_primes_serial(int n, int limit)
{
    std::vector<bool> composite(static_cast<std::size_t>(limit) + 1);
    std::vector<int> primes;
    for (int i = 2; i <= limit && static_cast<int>(primes.size()) < n; ++i) {
        if (composite[i])
            continue;
        primes.push_back(i);
        for (long m = static_cast<long>(i) * i; m <= limit; m += i)
            composite[m] = true;
    }
    return primes;
}

goro::task<int> app(int n)
{
    const int limit = nth_prime_bound(n);
    goro::wait_group wg; // every goroutine of the chain; main waits for all
    goro::chan<int> ch(0);
    wg.add(1);
    goro::go(generate(ch, limit, wg));

    std::vector<int> primes;
    for (int i = 0; i < n; ++i) {
        auto prime = co_await ch.recv();
        if (!prime)
            break; // the bound was too low: caught by the check below
        primes.push_back(*prime);
        std::printf("%5d%s", *prime, (i + 1) % 10 == 0 || i + 1 == n ? "\n" : " ");
        goro::chan<int> next(0);
        wg.add(1);
        goro::go(filter(ch, next, *prime, wg));
        ch = next; // the end of the chain is now the new filter's output
    }
    // What passes the last filter are primes above the Nth: drain them, so
    // the generator and every filter can run to the close.
    while (auto rest = co_await ch.recv())
        ;
    co_await wg.wait();

    bool ok = primes == first_primes_serial(n, limit);
    std::printf("%d primes, the last %d; against a serial sieve: %s\n", static_cast<int>(primes.size()),
                primes.empty() ? 0 : primes.back(), ok ? "correct" : "WRONG");
    co_return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    int n = 100;
    if (argc > 1) {
        char* end = nullptr;
        long v = std::strtol(argv[1], &end, 10);
        if (argc > 2 || end == argv[1] || *end != '\0' || v < 1 || v > 10'000) {
            std::fprintf(stderr, "usage: %s [N, 1..10000]\n", argv[0]);
            return 2;
        }
        n = static_cast<int>(v);
    }
    return goro::run(app(n));
}
