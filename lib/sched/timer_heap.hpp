// A P's timers: a 4-ary min-heap of intrusive runtime_timer nodes, ordered
// by deadline (Go's per-P timer heap, runtime/time.go).
//
// Each node stores its own position (`index`), so removing any node is
// O(log n) with no search. The vector holds each node's deadline beside its
// pointer (Go 1.23's timerWhen), so a sift compares within the vector and
// touches a node only to update its index: with the deadline read through
// the pointer, a pop from 100,000 sleepers missed the cache on every child
// of every level (the top of the timers benchmark's profile). Four children
// per node (Go's choice too) halve the depth of a binary heap; a sift-down
// compares four siblings that share a cache line.
//
// Locking: every operation here runs under `mu`, which any thread may take
// (a timer is stopped from wherever its owner runs). `earliest` is the
// deadline at the top, republished by the lock holder after each change
// (publish()) so that others can peek without the lock: a scheduler
// deciding whether the P has expired timers, or how long an idle P may
// sleep. It is INT64_MAX when the heap is empty. The node's `heap` pointer
// is the timer protocol's (lib/sched/timer.cpp), not this class's.
//
// Rejected: a binary heap (deeper: more cache lines touched per sift with
// 100,000 sleepers), a timing wheel (O(1) but coarse, and Go's semantics
// want the exact earliest deadline for the idle wait), one global heap
// (every arm from every P contending on one lock and one cache line).
#pragma once

#include <goro/detail/futex_lock.hpp>
#include <goro/detail/timer.hpp>

#include "base/fatal.hpp"

#include <atomic>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

namespace goro::inline GORO_ABI::detail {

struct timer_heap {
    static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();

    // --- Shared ---
    futex_lock mu;
    /// The top's deadline, or `none`; stored under `mu` by publish(), read
    /// by anyone without it. An insert that lowers it stores seq_cst (the
    /// idle P's timer duty stores its claim and then loads this, while an
    /// arm stores this and then loads the claim, scheduler.cpp, "Timers");
    /// a removal only raises it, and a reader that still sees the lower
    /// value wakes early and finds nothing due, so it stores relaxed (a
    /// seq_cst store there waited for the popped node's cold cache line on
    /// every fire: a quarter of the timers benchmark).
    std::atomic<std::int64_t> earliest{none};

    /// A node and its deadline (== t->when while it is in the heap).
    struct entry {
        std::int64_t when;
        runtime_timer* t;
    };

    // --- Guarded by mu ---
    std::vector<entry> nodes;

    bool empty() const noexcept { return nodes.empty(); }
    std::size_t size() const noexcept { return nodes.size(); }
    runtime_timer* top() const noexcept { return nodes.empty() ? nullptr : nodes.front().t; }

    /// Adds `t` (t.when set). Fatal on out of memory: a timer that cannot
    /// be armed cannot report it (arm is noexcept, like Go's).
    void push(runtime_timer& t) noexcept
    {
        try {
            nodes.push_back({t.when, &t});
        } catch (const std::bad_alloc&) {
            fatal("sched: out of memory growing a timer heap");
        }
        sift_up(nodes.size() - 1);
    }

    /// Removes `t`, which is in this heap.
    void remove(runtime_timer& t) noexcept
    {
        const std::size_t i = t.index;
        const entry last = nodes.back();
        nodes.pop_back();
        if (last.t == &t)
            return;
        place(last, i);
        if (i > 0 && last.when < nodes[parent(i)].when)
            sift_up(i);
        else
            sift_down(i);
    }

    /// Removes and returns the top; the heap is not empty.
    runtime_timer& pop() noexcept
    {
        runtime_timer& t = *nodes.front().t;
        remove(t);
        return t;
    }

    /// Republishes `earliest` after an insert that made a new top.
    void publish_lowered() noexcept
    {
        earliest.store(nodes.front().when, std::memory_order_seq_cst); // seq_cst: see `earliest`
    }
    /// Republishes `earliest` after a removal.
    void publish() noexcept
    {
        earliest.store(nodes.empty() ? none : nodes.front().when, std::memory_order_relaxed); // relaxed: see `earliest`
    }

    /// Checks the heap property and every index (tests).
    bool valid() const noexcept
    {
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (nodes[i].t->index != i || nodes[i].t->when != nodes[i].when)
                return false;
            if (i > 0 && nodes[i].when < nodes[parent(i)].when)
                return false;
        }
        return true;
    }

private:
    static constexpr std::size_t arity = 4;
    static std::size_t parent(std::size_t i) noexcept { return (i - 1) / arity; }

    void place(entry e, std::size_t i) noexcept
    {
        nodes[i] = e;
        e.t->index = std::uint32_t(i);
    }

    void sift_up(std::size_t i) noexcept
    {
        const entry t = nodes[i];
        while (i > 0) {
            const std::size_t up = parent(i);
            if (nodes[up].when <= t.when)
                break;
            place(nodes[up], i);
            i = up;
        }
        place(t, i);
    }

    void sift_down(std::size_t i) noexcept
    {
        const entry t = nodes[i];
        const std::size_t n = nodes.size();
        for (;;) {
            const std::size_t first = i * arity + 1;
            if (first >= n)
                break;
            std::size_t best = first;
            const std::size_t end = first + arity < n ? first + arity : n;
            for (std::size_t c = first + 1; c < end; ++c)
                if (nodes[c].when < nodes[best].when)
                    best = c;
            if (nodes[best].when >= t.when)
                break;
            place(nodes[best], i);
            i = best;
        }
        place(t, i);
    }
};

} // namespace goro::detail
