// yield_ping: two goroutines hand a turn back and forth through goro::yield.
//
// Each player loops `while (turn != me) co_await goro::yield();` and then
// gives the turn to the other. One round is a turn for each side
// (A -> B -> A); default 1,000,000 rounds, argv[1] overrides. Prints the wall
// time divided by the number of rounds:
//
//   yield_ping ns_per_op <float>
//
// With one P this is the cost of two yields (park, requeue, pick, resume);
// with more Ps the players may sit on different workers and the figure also
// includes the cross-core hand-off of `turn`. Go twin: go/yield_ping/main.go.
#include "bench_args.hpp"

#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>
#include <goro/yield.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace {

long n_rounds = 1'000'000;

goro::task<> player(std::atomic<int>* turn, int me, int other, long rounds, goro::wait_group* wg)
{
    for (long i = 0; i < rounds; ++i) {
        while (turn->load(std::memory_order_acquire) != me)
            co_await goro::yield();
        turn->store(other, std::memory_order_release);
    }
    wg->done();
}

goro::task<> app()
{
    std::atomic<int> turn{0};
    goro::wait_group wg;
    const long rounds = n_rounds;

    auto start = std::chrono::steady_clock::now();
    wg.add(2);
    goro::go(player(&turn, 0, 1, rounds, &wg));
    goro::go(player(&turn, 1, 0, rounds, &wg));
    co_await wg.wait();
    auto elapsed = std::chrono::steady_clock::now() - start;

    double ns = std::chrono::duration<double, std::nano>(elapsed).count();
    std::printf("yield_ping ns_per_op %.1f\n", ns / static_cast<double>(rounds));
}

} // namespace

int main(int argc, char** argv)
{
    n_rounds = count_arg(argc, argv, n_rounds, "rounds");
    return goro::run(app());
}
