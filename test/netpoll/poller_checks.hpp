// Checks shared by the poller tests of both backends and of every io_uring
// ladder rung. They run on the test thread, which owns the poller; other
// threads only call wake() and record nothing Catch2 sees.
#pragma once

#include "base/clock.hpp"
#include "netpoll/completion.hpp"
#include "netpoll/key.hpp"

#include "../support/watchdog.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <thread>
#include <vector>

namespace goro_test {

using goro::detail::completion;

/// Waits (no deadline) until `count` completions came, through a buffer of
/// `room`; a lost completion trips the watchdog instead of hanging.
template <class Poller>
std::vector<completion> collect(Poller& p, std::size_t count, std::size_t room = 8)
{
    std::atomic<long> progress{0};
    watchdog dog(progress, "lost completion");
    std::vector<completion> got;
    std::vector<completion> out(room);
    while (got.size() < count) {
        std::size_t n = p.wait(-1, out);
        got.insert(got.end(), out.begin(), out.begin() + long(n));
        progress.fetch_add(1);
    }
    return got;
}

/// `count` nops, taken through a buffer of `room`: each key exactly once,
/// each with result 0 and nothing more to come.
template <class Poller>
void check_nops(Poller& p, int count, std::size_t room)
{
    goro::detail::key_table keys;
    std::vector<int> ops(std::size_t(count), 0);
    std::map<std::uint64_t, int> times;
    for (int& op : ops) {
        std::uint64_t k = keys.acquire(&op);
        times[k] = 0;
        p.nop(k);
    }
    int strays = 0, wrong = 0;
    for (const completion& c : collect(p, std::size_t(count), room)) {
        auto it = times.find(c.key);
        if (it == times.end()) {
            ++strays;
            continue;
        }
        ++it->second;
        if (c.result != 0 || c.more)
            ++wrong;
        keys.release(c.key);
    }
    CHECK(strays == 0);
    CHECK(wrong == 0);
    CHECK(std::all_of(times.begin(), times.end(), [](const auto& kv) { return kv.second == 1; }));
    CHECK(keys.live() == 0);
}

/// Another thread wakes the owner `rounds` times, each after writing a plain
/// int; each wake must end one wait() with no completion, and the owner must
/// see the int (ThreadSanitizer checks that wake() orders it). The waker
/// thread calls make_wake() first and then the function it returns for each
/// wake, so it may own something of its own (a poller, for wake_from); by
/// default it calls p.wake().
template <class Poller, class MakeWake>
void check_wakes_across_threads(Poller& p, int rounds, MakeWake make_wake)
{
    int payload = 0; // written by the waker before wake(), read here after wait()
    std::atomic<int> acked{0};
    std::atomic<long> progress{0};
    watchdog dog(progress, "lost wake");
    std::thread waker([&] {
        auto wake = make_wake();
        for (int i = 1; i <= rounds; ++i) {
            payload = i;
            wake();
            while (acked.load(std::memory_order_acquire) != i) // acquire: pairs with the owner's release below
                std::this_thread::yield();
        }
    });
    std::array<completion, 4> out;
    std::size_t completions = 0;
    int wrong = 0;
    for (int i = 1; i <= rounds; ++i) {
        completions += p.wait(-1, out);
        if (payload != i)
            ++wrong;
        acked.store(i, std::memory_order_release); // release: the read of payload is done
        progress.fetch_add(1);
    }
    waker.join();
    CHECK(completions == 0);
    CHECK(wrong == 0);
}

template <class Poller>
void check_wakes_across_threads(Poller& p, int rounds)
{
    check_wakes_across_threads(p, rounds, [&] { return [&] { p.wake(); }; });
}

/// `wakers` threads each wake the owner `per_waker` times, as fast as they
/// can, each wake after counting itself; the owner waits (no deadline) until
/// it has seen every count. A wake lost while the owner sleeps leaves it
/// asleep for good, and the watchdog aborts. Waker i calls make_wake(i)
/// first and then the function it returns for each wake.
template <class Poller, class MakeWake>
void check_no_lost_wake(Poller& p, int wakers, int per_waker, MakeWake make_wake)
{
    std::atomic<long> sent{0};
    std::atomic<long> progress{0};
    watchdog dog(progress, "lost wake");
    std::vector<std::thread> threads;
    for (int w = 0; w < wakers; ++w)
        threads.emplace_back([&, w] {
            auto wake = make_wake(w);
            for (int i = 0; i < per_waker; ++i) {
                sent.fetch_add(1, std::memory_order_relaxed); // relaxed: wake() publishes it
                wake();
                if (i % 64 == 0)
                    std::this_thread::yield(); // let the owner fall asleep now and then
            }
        });
    const long total = long(wakers) * per_waker;
    std::array<completion, 4> out;
    std::size_t completions = 0;
    long waits = 0;
    while (sent.load(std::memory_order_relaxed) < total) { // relaxed: read after a wait, which acquires
        completions += p.wait(-1, out);
        ++waits;
        progress.fetch_add(1);
    }
    for (auto& t : threads)
        t.join();
    CHECK(completions == 0);
    CHECK(waits > 0);
}

/// A wait with a deadline and nothing to report returns 0, and not before
/// the deadline.
template <class Poller>
void check_deadline(Poller& p, std::int64_t after_ns)
{
    std::array<completion, 4> out;
    std::int64_t deadline = goro::detail::monotonic_ns() + after_ns;
    CHECK(p.wait(deadline, out) == 0);
    CHECK(goro::detail::monotonic_ns() >= deadline);
}

} // namespace goro_test
