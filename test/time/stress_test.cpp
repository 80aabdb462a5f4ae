// A bounded stress for ThreadSanitizer: goroutines on several Ps mix
// channel traffic, selects with short afters, sleeps, and timers stopped
// and reset by one goroutine while another receives. Checks that every
// message arrives exactly once and that the counts of the timers add up.
#include "support/watchdog.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

using namespace std::chrono_literals;

namespace {

constexpr int producers = 4;
constexpr int per_producer = 2000;

goro::task<> producer(goro::chan<long> ch, int id, std::atomic<long>* progress)
{
    for (int i = 0; i < per_producer; ++i) {
        if (i % 64 == 0)
            co_await goro::sleep(std::chrono::microseconds(i % 5 * 10));
        co_await ch.send(long(id) * per_producer + i);
        progress->fetch_add(1);
    }
}

// Receives with a timeout case that sometimes fires (an idle moment) and
// sometimes loses; counts timeouts only to make the loop do something.
goro::task<long> consumer(goro::chan<long> ch, long expect, std::atomic<long>* timeouts)
{
    long sum = 0;
    for (long got = 0; got < expect;) {
        auto r = co_await goro::select(ch.recv(), goro::after(std::chrono::microseconds(20 + got % 50)));
        if (r.index() == 0) {
            sum += *r.get<0>();
            ++got;
        } else {
            timeouts->fetch_add(1);
        }
    }
    co_return sum;
}

goro::task<> timer_fiddler(goro::timer* t, int rounds, long* falses, std::atomic<long>* progress)
{
    for (int i = 0; i < rounds; ++i) {
        t->reset(std::chrono::microseconds(i % 20));
        if (i % 3 == 0)
            co_await goro::sleep(std::chrono::microseconds(i % 7));
        if (!t->stop())
            ++*falses;
        progress->fetch_add(1);
    }
}

goro::task<> timer_receiver(goro::recv_chan<goro::timer::clock::time_point> c, goro::chan<int> quit,
                            long* received)
{
    for (;;) {
        auto r = co_await goro::select(c.recv(), quit.recv());
        if (r.index() == 1)
            co_return;
        ++*received;
    }
}

goro::task<bool> mix(std::atomic<long>* progress)
{
    goro::chan<long> ch(0);
    std::atomic<long> timeouts{0};
    for (int p = 0; p < producers; ++p)
        goro::go(producer(ch, p, progress));
    auto cons = goro::spawn(consumer(ch, long(producers) * per_producer, &timeouts));

    goro::timer t(1h);
    t.stop();
    goro::chan<int> quit(0);
    long falses = 0, received = 0;
    goro::go(timer_receiver(t.c(), quit, &received));
    auto fid = goro::spawn(timer_fiddler(&t, 2000, &falses, progress));
    co_await fid;
    co_await quit.send(1);

    const long n = long(producers) * per_producer;
    const long sum = co_await cons;
    co_return sum == n * (n - 1) / 2 && falses == received;
}

} // namespace

TEST_CASE("stress: channels, select with after, sleep and timers on several Ps", "[stress]")
{
    std::atomic<long> progress{0};
    goro_test::watchdog dog(progress, "time stress stalled");
    for (unsigned procs : {2u, 4u}) {
        goro::runtime rt(goro::runtime_config{procs});
        CHECK(rt.run(mix(&progress)));
    }
}
