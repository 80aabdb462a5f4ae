// The per-P timer heap (lib/sched/timer_heap.hpp) against a reference
// (std::multiset), with random operations at tiny and large sizes.
#include "sched/timer_heap.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

using goro::detail::runtime_timer;
using goro::detail::timer_heap;

namespace {

void no_fire(runtime_timer&) noexcept {}

// Random pushes, removals of arbitrary members and pops, keeping at most
// `cap` nodes; after every operation the heap's top and its published
// earliest deadline match the reference, and every slot and position is
// right.
void run_random(std::uint32_t seed, std::size_t cap, int ops, std::int64_t when_range)
{
    std::mt19937_64 rng(seed);
    std::vector<std::unique_ptr<runtime_timer>> pool;
    for (std::size_t i = 0; i < cap; ++i)
        pool.push_back(std::make_unique<runtime_timer>(&no_fire));
    std::vector<runtime_timer*> out(pool.size());
    for (std::size_t i = 0; i < pool.size(); ++i)
        out[i] = pool[i].get();
    std::vector<runtime_timer*> in;
    std::multiset<std::pair<std::int64_t, runtime_timer*>> ref;
    timer_heap h;

    for (int op = 0; op < ops; ++op) {
        const auto kind = rng() % 3;
        if (kind == 0 && !out.empty()) { // push
            std::size_t k = rng() % out.size();
            runtime_timer* t = out[k];
            out[k] = out.back();
            out.pop_back();
            t->when = std::int64_t(rng() % std::uint64_t(when_range));
            h.push(*t);
            in.push_back(t);
            ref.emplace(t->when, t);
        } else if (kind == 1 && !in.empty()) { // remove any
            std::size_t k = rng() % in.size();
            runtime_timer* t = in[k];
            in[k] = in.back();
            in.pop_back();
            h.remove(*t);
            ref.erase(ref.find({t->when, t}));
            out.push_back(t);
        } else if (kind == 2 && !in.empty()) { // pop the earliest
            runtime_timer& t = h.pop();
            REQUIRE(t.when == ref.begin()->first);
            ref.erase(ref.find({t.when, &t}));
            in.erase(std::find(in.begin(), in.end(), &t));
            out.push_back(&t);
        }
        h.publish();
        REQUIRE(h.size() == ref.size());
        REQUIRE(h.valid());
        if (ref.empty()) {
            REQUIRE(h.top() == nullptr);
            REQUIRE(h.earliest.load() == timer_heap::none);
        } else {
            REQUIRE(h.top()->when == ref.begin()->first);
            REQUIRE(h.earliest.load() == ref.begin()->first);
        }
    }
    // Drain in order: the deadlines come out sorted, as in the reference.
    while (!ref.empty()) {
        REQUIRE(h.pop().when == ref.begin()->first);
        ref.erase(ref.begin());
    }
    REQUIRE(h.empty());
}

} // namespace

TEST_CASE("timer heap: tiny sizes against a multiset", "[timer_heap]")
{
    for (std::size_t cap : {1u, 2u, 3u, 4u, 5u, 6u, 9u, 17u})
        for (std::uint32_t seed = 1; seed <= 50; ++seed)
            run_random(seed * 7919 + std::uint32_t(cap), cap, 400, 8); // many equal deadlines
}

TEST_CASE("timer heap: large sizes against a multiset", "[timer_heap]")
{
    run_random(42, 5000, 40000, 1'000'000);
    run_random(43, 5000, 40000, 50); // mostly ties
}

TEST_CASE("timer heap: ascending and descending pushes pop in order", "[timer_heap]")
{
    std::vector<std::unique_ptr<runtime_timer>> pool;
    timer_heap h;
    for (int i = 0; i < 1000; ++i) {
        pool.push_back(std::make_unique<runtime_timer>(&no_fire));
        pool.back()->when = (i % 2) ? i : 2000 - i;
        h.push(*pool.back());
    }
    REQUIRE(h.valid());
    std::int64_t last = -1;
    while (!h.empty()) {
        std::int64_t w = h.pop().when;
        REQUIRE(w >= last);
        last = w;
    }
}
