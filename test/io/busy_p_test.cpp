// I/O readiness is not stranded behind a P that never suspends. The main
// goroutine registers socketpairs (on epoll, fd_register runs on its P),
// starts ping-pong goroutines on them, then spins without suspending: its P
// never schedules again, so only the other P runs the pairs, and their
// readiness must reach it. With an epoll per P the events sat in the
// spinning P's epoll, which only that P harvests, and the pairs stalled for
// as long as it spun; with the scheduler's shared epoll, the idle P blocks
// in it and harvests them (lib/netpoll/epoll_poller.hpp, "The shared
// epoll"). On io_uring each operation goes to the ring of the P its
// goroutine runs on, here always the other P, so the pairs complete there
// too.
//
// Not timing-dependent: the spin ends as soon as every round is done, and
// gives up after 60 s so a stranded event fails the test instead of hanging
// it.
#include "io_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <vector>

using namespace goro_test;

namespace {

constexpr int pairs = 4;
constexpr int rounds = 500;

goro::task<> bounce(sock* s, bool starts, std::atomic<long>* rounds_done, goro::wait_group* wg)
{
    co_await ping_pong(*s, starts, rounds, *rounds_done);
    wg->done();
}

struct spin_result {
    long rounds_done_while_spinning = -1; // every side's rounds, counted before main suspended
};

goro::task<spin_result> register_then_spin()
{
    std::vector<sock> socks = socket_pairs(pairs); // on this P: with per-P epolls, in its epoll
    std::atomic<long> rounds_done{0};
    goro::wait_group wg;
    wg.add(2 * pairs);
    for (std::size_t i = 0; i < socks.size(); ++i)
        goro::go(bounce(&socks[i], i % 2 == 0, &rounds_done, &wg));
    // Never suspends: this P runs nothing else until the loop ends.
    constexpr long all_rounds = 2 * pairs * rounds;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    // relaxed: only the count matters; the wait_group orders the rest.
    while (rounds_done.load(std::memory_order_relaxed) < all_rounds && std::chrono::steady_clock::now() < give_up) {
    }
    spin_result r;
    r.rounds_done_while_spinning = rounds_done.load(std::memory_order_relaxed);
    co_await wg.wait(); // after a give-up, this P's own poll lets stranded pairs finish
    for (sock& s : socks)
        s.close();
    co_return r;
}

} // namespace

TEST_CASE("readiness of fds registered on a P that never suspends reaches the other P", "[io]")
{
    goro::runtime rt(goro::runtime_config{2});
    // Checked here, on the test thread: the main goroutine may have ended on
    // the other worker, and Catch2's assertions are not thread-safe.
    const spin_result r = rt.run(register_then_spin());
    INFO("backend " << d::backend_name(d::io_backend()));
    CHECK(r.rounds_done_while_spinning == 2 * pairs * rounds);
}
