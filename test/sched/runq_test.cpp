// The local run queue (lib/sched/runq.hpp) at a tiny capacity, so overflow,
// wrap-around and runnext edges are reached in a few operations, plus a
// randomized multi-thread test: one owner pushes and pops at both ends while
// thieves steal; every item must be taken exactly once. The tests tagged
// [policy] pin the queueing choices (runnext first, the old runnext kicked to
// the tail, fresh items newest first and queued ones oldest first, half the
// ring per overflow and per steal, runnext stolen last), not just the queue's
// correctness.
#include "sched/runq.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace {
struct item {
    int id = 0;
};
using small_q = goro::detail::runq<item, 4>;

// Collects what a put overflows.
struct overflow_log {
    std::vector<item*> items;
    int calls = 0;
    void operator()(item* const* its, std::uint32_t n)
    {
        ++calls;
        items.insert(items.end(), its, its + n);
    }
};

// Returns whether an item went to the ring (what tells the scheduler to
// wake a P).
bool put(small_q& q, item* it, bool next)
{
    return q.put(it, next, [](item* const*, std::uint32_t) { FAIL("unexpected overflow"); });
}

void put_fresh(small_q& q, item* it)
{
    q.put(it, false, [](item* const*, std::uint32_t) { FAIL("unexpected overflow"); }, small_q::entry_kind::fresh);
}

item* pop(small_q& q, bool allow_next = true)
{
    bool from_next;
    return q.get(allow_next, from_next);
}
} // namespace

TEST_CASE("runq: FIFO order in the ring, runnext first", "[runq][policy]")
{
    small_q q;
    item a{1}, b{2}, c{3};
    put(q, &a, false);
    put(q, &b, false);
    put(q, &c, true);
    CHECK(q.size() == 3);
    bool from_next = false;
    CHECK(q.get(true, from_next) == &c);
    CHECK(from_next);
    CHECK(pop(q) == &a);
    CHECK(pop(q) == &b);
    CHECK(pop(q) == nullptr);
    CHECK((q.ring_empty() && !q.has_runnext()));
}

TEST_CASE("runq: fresh items run newest first, ahead of older queued ones", "[runq][policy]")
{
    small_q q;
    item a{1}, b{2}, c{3}, d{4};
    put(q, &a, false);
    put(q, &b, false);
    put_fresh(q, &c);
    put_fresh(q, &d);
    CHECK(pop(q) == &d);
    CHECK(pop(q) == &c);
    CHECK(pop(q) == &a); // the newest is queued now: oldest first
    CHECK(pop(q) == &b);
    CHECK(pop(q) == nullptr);
}

TEST_CASE("runq: fresh items run before queued ones, whichever came first", "[runq][policy]")
{
    small_q q;
    item a{1}, b{2}, c{3};
    put_fresh(q, &a);
    put_fresh(q, &b);
    put(q, &c, false);
    CHECK(pop(q) == &b);
    CHECK(pop(q) == &a);
    CHECK(pop(q) == &c);
}

TEST_CASE("runq: a fair turn takes a queued item that waited too long, ahead of fresh items and runnext",
          "[runq][policy]")
{
    goro::detail::runq<item, 4, 2> q; // max_wait: 2 gets
    auto no_overflow = [](item* const*, std::uint32_t) { FAIL("unexpected overflow"); };
    using kind = decltype(q)::entry_kind;
    item a{1}, b{2}, c{3}, d{4}, e{5};
    q.put(&a, false, no_overflow);
    q.put(&b, false, no_overflow, kind::fresh);
    q.put(&c, false, no_overflow, kind::fresh);
    q.put(&d, false, no_overflow, kind::fresh);
    bool from_next = false;
    CHECK(q.get(true, from_next, true) == &d); // a waited 1 get: not too long
    CHECK(q.get(true, from_next, false) == &c);
    q.put(&e, true, no_overflow);
    CHECK(q.get(true, from_next, false) == &e); // runnext first otherwise
    CHECK(q.get(true, from_next, true) == &a);  // 4 gets: a fair turn takes it
    CHECK_FALSE(from_next);
    CHECK(q.get(true, from_next, true) == &b);
    CHECK(q.get(true, from_next, true) == nullptr);
}

TEST_CASE("runq: a runnext kicked to the tail is queued, not fresh", "[runq][policy]")
{
    small_q q;
    item a{1}, b{2}, c{3};
    put(q, &a, false);
    put(q, &b, true);
    q.put(&c, true, [](item* const*, std::uint32_t) { FAIL("unexpected overflow"); },
          small_q::entry_kind::fresh); // kicks b, which was readied, not started
    CHECK(pop(q) == &c);
    CHECK(pop(q) == &a);
    CHECK(pop(q) == &b);
}

TEST_CASE("runq: stolen fresh items stay fresh; overflowed ones leave as plain items", "[runq][policy]")
{
    item it[5];
    small_q q;
    overflow_log log;
    for (int i = 0; i < 4; ++i)
        q.put(&it[i], false, log, small_q::entry_kind::fresh);
    q.put(&it[4], false, log, small_q::entry_kind::fresh);
    REQUIRE(log.items.size() == 3);
    CHECK(log.items[0] == &it[0]); // untagged addresses
    CHECK(log.items[1] == &it[1]);
    CHECK(log.items[2] == &it[4]);
    CHECK(pop(q) == &it[3]);
    CHECK(pop(q) == &it[2]);

    small_q v, t;
    for (int i = 0; i < 4; ++i)
        put_fresh(v, &it[i]);
    CHECK(v.steal_into(t, false) == &it[1]); // the oldest half, it[0] and it[1]; runs the newer
    put(t, &it[4], false);
    CHECK(pop(t) == &it[0]); // still fresh on the thief: ahead of the queued it[4]
    CHECK(pop(t) == &it[4]);
    CHECK(pop(v) == &it[3]);
    CHECK(pop(v) == &it[2]);
    CHECK(pop(v) == nullptr);
}

TEST_CASE("runq: a new runnext kicks the old one to the tail", "[runq][policy]")
{
    small_q q;
    item a{1}, b{2}, c{3};
    CHECK(put(q, &a, false));
    CHECK_FALSE(put(q, &b, true)); // only filled runnext
    CHECK(put(q, &c, true));       // b goes behind a
    CHECK(pop(q) == &c);
    CHECK(pop(q) == &a);
    CHECK(pop(q) == &b);
}

TEST_CASE("runq: skipping runnext takes the ring, and runnext when the ring is empty", "[runq][policy]")
{
    small_q q;
    item a{1}, b{2};
    put(q, &a, false);
    put(q, &b, true);
    bool from_next = true;
    CHECK(q.get(false, from_next) == &a);
    CHECK_FALSE(from_next);
    CHECK(q.get(false, from_next) == &b);
    CHECK(from_next);
}

TEST_CASE("runq: a full ring overflows half of itself plus the new item", "[runq][policy]")
{
    small_q q;
    item it[6];
    for (int i = 0; i < 6; ++i)
        it[i].id = i;
    for (int i = 0; i < 4; ++i)
        put(q, &it[i], false);
    overflow_log log;
    q.put(&it[4], false, log);
    REQUIRE(log.calls == 1);
    REQUIRE(log.items.size() == 3); // two oldest + the new one, oldest first
    CHECK(log.items[0] == &it[0]);
    CHECK(log.items[1] == &it[1]);
    CHECK(log.items[2] == &it[4]);
    CHECK(q.size() == 2);
    CHECK(pop(q) == &it[2]);
    CHECK(pop(q) == &it[3]);
}

TEST_CASE("runq: indices wrap around the ring", "[runq]")
{
    small_q q;
    item it[3];
    for (int round = 0; round < 1000; ++round) {
        for (auto& i : it)
            put(q, &i, false);
        for (auto& i : it)
            REQUIRE(pop(q) == &i);
    }
    CHECK((q.ring_empty() && !q.has_runnext()));
}

TEST_CASE("runq: put_many appends in order", "[runq]")
{
    small_q q;
    item it[3];
    item* arr[3] = {&it[0], &it[1], &it[2]};
    CHECK(q.room() == 4);
    q.put_many(arr, 3);
    CHECK(q.room() == 1);
    CHECK(pop(q) == &it[0]);
    CHECK(pop(q) == &it[1]);
    CHECK(pop(q) == &it[2]);
}

TEST_CASE("runq: steal takes half, rounding up, and returns one to run", "[runq][policy]")
{
    small_q victim, thief;
    item it[4];
    for (auto& i : it)
        put(victim, &i, false);
    item* got = victim.steal_into(thief, false);
    CHECK(got == &it[1]); // stole it[0], it[1]; runs the last one stolen
    CHECK(thief.size() == 1);
    CHECK(pop(thief) == &it[0]);
    CHECK(victim.size() == 2);
    CHECK(pop(victim) == &it[2]);
}

TEST_CASE("runq: runnext is stolen only when asked and the ring is empty", "[runq][policy]")
{
    small_q victim, thief;
    item a;
    put(victim, &a, true);
    CHECK(victim.steal_into(thief, false) == nullptr);
    CHECK(victim.steal_into(thief, true) == &a);
    CHECK((victim.ring_empty() && !victim.has_runnext()));
    CHECK((thief.ring_empty() && !thief.has_runnext()));
}

namespace {
// `n` items numbered 0..n-1, and how many times each was taken.
struct numbered_items {
    explicit numbered_items(int n) : all(std::size_t(n)), taken(std::size_t(n))
    {
        for (int i = 0; i < n; ++i)
            all[std::size_t(i)].id = i;
    }
    item& operator[](int i) { return all[std::size_t(i)]; }
    std::vector<item> all;
    std::vector<std::atomic<int>> taken; // value-initialized: zero
};
} // namespace

TEST_CASE("runq: randomized owner at both ends vs thieves, every item taken exactly once", "[runq][stress]")
{
    constexpr int total = 200000;
    constexpr int thieves = 3;
    numbered_items items(total);
    auto& taken = items.taken;
    small_q owner_q;
    std::atomic<bool> done{false};
    std::atomic<long> count{0};
    auto take = [&](item* it) {
        taken[it->id].fetch_add(1, std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
    };

    std::vector<std::thread> ts;
    for (int t = 0; t < thieves; ++t)
        ts.emplace_back([&, t] {
            small_q mine;
            std::mt19937 rng(t);
            while (!done.load(std::memory_order_acquire)) {
                if (item* it = owner_q.steal_into(mine, rng() % 2 == 0)) {
                    take(it);
                    // Bounded: a corrupt queue must fail the checks, not spin.
                    for (std::uint32_t k = 0; k < small_q::capacity; ++k)
                        if (item* more = pop(mine))
                            take(more);
                } else {
                    std::this_thread::yield();
                }
            }
        });

    std::mt19937 rng(42);
    overflow_log overflow;
    for (int i = 0; i < total; ++i) {
        // Both kinds, so the owner pops at both ends: the newest-first pop's
        // stamp against thieves holding an older head word.
        const auto kind = rng() % 2 == 0 ? small_q::entry_kind::fresh : small_q::entry_kind::queued;
        owner_q.put(&items[i], rng() % 3 == 0, overflow, kind);
        if (rng() % 2 == 0) {
            bool from_next = false;
            if (item* it = owner_q.get(rng() % 2 == 0, from_next, rng() % 8 == 0))
                take(it);
        }
    }
    for (std::uint32_t k = 0; k <= small_q::capacity; ++k)
        if (item* it = pop(owner_q))
            take(it);
    for (item* it : overflow.items)
        take(it);
    // Thieves may still hold items they stole; wait until all are accounted
    // (a lost item fails the checks below after the deadline, not a hang).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (count.load() < total && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    done.store(true, std::memory_order_release);
    for (auto& t : ts)
        t.join();

    CHECK(count.load() == total);
    int bad = 0;
    for (auto& t : taken)
        bad += t.load() != 1;
    CHECK(bad == 0);
}

TEST_CASE("runq: runnext passed between the owner's plain accesses and thieves' CAS, every item taken once",
          "[runq][stress]")
{
    // The ring stays empty: every item goes through runnext, which the owner
    // fills and empties with plain loads and stores unless a thief is at it
    // (runq.hpp, "runnext without atomic read-modify-writes"). Thieves try
    // to take it all the time; an item taken twice or never fails the check.
    constexpr int total = 100000;
    constexpr int thieves = 2;
    numbered_items items(total);
    auto& taken = items.taken;
    small_q owner_q;
    std::atomic<bool> done{false};
    std::atomic<long> stolen{0};

    std::vector<std::thread> ts;
    for (int t = 0; t < thieves; ++t)
        ts.emplace_back([&] {
            small_q mine;
            while (!done.load(std::memory_order_acquire))
                if (item* it = owner_q.steal_into(mine, true)) {
                    taken[it->id].fetch_add(1, std::memory_order_relaxed);
                    stolen.fetch_add(1, std::memory_order_relaxed);
                }
        });

    std::mt19937 rng(7);
    int wrong_source = 0;
    for (int i = 0; i < total; ++i) {
        put(owner_q, &items[i], true); // never kicks: runnext is emptied below
        if (i % 100 == 0) { // leave it to the thieves (bounded, so a broken steal fails instead of hanging)
            auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (owner_q.has_runnext() && std::chrono::steady_clock::now() < give_up)
                std::this_thread::yield();
        }
        bool from_next = false;
        if (item* it = owner_q.get(rng() % 4 != 0, from_next)) {
            wrong_source += !from_next;
            taken[it->id].fetch_add(1, std::memory_order_relaxed);
        }
    }
    done.store(true, std::memory_order_release);
    for (auto& t : ts)
        t.join();

    int bad = 0;
    for (auto& t : taken)
        bad += t.load() != 1;
    CHECK(bad == 0);
    CHECK(wrong_source == 0);
    CHECK(stolen.load() >= total / 100); // at least the items left to them
}

#include "sched/global_queue.hpp"

TEST_CASE("global_queue: FIFO across chunks, whole-chunk pops, chunk reuse", "[runq]")
{
    goro::detail::global_queue<item, 3> q;
    item it[8];
    for (auto& i : it)
        q.push(&i); // chunks of 3, 3, 2
    CHECK(q.size() == 8);
    CHECK(q.pop() == &it[0]);
    auto* c = q.pop_chunk(); // the rest of the first chunk
    REQUIRE(c != nullptr);
    REQUIRE(c->size() == 2);
    CHECK(c->items[c->begin] == &it[1]);
    CHECK(c->items[c->begin + 1] == &it[2]);
    q.recycle(c);
    item* many[2] = {&it[0], &it[1]};
    q.push_many(many, 2); // a chunk of its own, after the open tail chunk
    std::vector<item*> order;
    while (item* x = q.pop())
        order.push_back(x);
    REQUIRE(order.size() == 7);
    CHECK(order[0] == &it[3]);
    CHECK(order[4] == &it[7]);
    CHECK(order[5] == &it[0]);
    CHECK(order[6] == &it[1]);
    CHECK(q.size() == 0);
    CHECK(q.pop_chunk() == nullptr);
}
