// detail::futex_lock: mutual exclusion under contention from more threads
// than cores (so holders get preempted and waiters reach the futex sleep),
// checked with a non-atomic counter that any overlap would corrupt;
// try_lock's contract; the spin schedule's test of a quiet lock.
#include <goro/detail/futex_lock.hpp>

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

TEST_CASE("futex_lock: mutual exclusion with sleeping waiters", "[futex_lock][stress]")
{
    goro::detail::futex_lock lock;
    long counter = 0; // guarded by lock; TSan checks it
    constexpr int threads = 6;
    constexpr int per_thread = 50000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                lock.lock();
                long v = counter;
                if (i % 1000 == 0)
                    std::this_thread::yield(); // get preempted while holding it
                counter = v + 1;
                lock.unlock();
            }
        });
    for (auto& t : ts)
        t.join();
    CHECK(counter == long(threads) * per_thread);
}

TEST_CASE("futex_lock: try_lock fails while held", "[futex_lock]")
{
    goro::detail::futex_lock lock;
    CHECK(lock.try_lock());
    CHECK_FALSE(lock.try_lock());
    lock.unlock();
    CHECK(lock.try_lock());
    lock.unlock();
}

TEST_CASE("futex_lock: a waiter's politeness test tells a released lock from a passed-on one", "[futex_lock]")
{
    using goro::detail::futex_lock;
    // The state counts transitions: odd while held, even while free.
    CHECK(futex_lock::free_and_quiet(4, 4));       // free at both looks, untouched
    CHECK(futex_lock::free_and_quiet(5, 6));       // held, then released once
    CHECK_FALSE(futex_lock::free_and_quiet(5, 7)); // still held, by the next taker
    CHECK_FALSE(futex_lock::free_and_quiet(5, 5)); // still held
    CHECK_FALSE(futex_lock::free_and_quiet(5, 8)); // released, taken again, released
    CHECK_FALSE(futex_lock::free_and_quiet(4, 6)); // taken and released in between
    // The counter wraps: only the difference counts.
    CHECK(futex_lock::free_and_quiet(0xffffffffu, 0));
    CHECK_FALSE(futex_lock::free_and_quiet(0xfffffffeu, 2));
}
