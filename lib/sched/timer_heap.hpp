// A P's timers: a 4-ary min-heap of intrusive runtime_timer nodes, ordered
// by deadline (Go's per-P timer heap, runtime/time.go).
//
// The heap vector holds each node's deadline beside a slot number (Go 1.23's
// timerWhen), so a sift compares within the vector. A node's position is
// kept in the heap's slot table, not in the node: each armed node owns a
// slot (`runtime_timer::slot`), and `position[slot]` is where its entry sits,
// so removing any node is O(log n) with no search. A sift moves entries and
// updates their positions in the table, a dense array of 4-byte words that
// stays in cache; with the position in the node, every level of a pop's
// sift-down wrote to the cold frame of a sleeper thousands of deadlines
// away, and the pops of 100,000 sleepers stalled on those stores (half of
// run_timers' samples sat on the heap lock's xchg, draining them). `owner`
// maps a slot back to its node, read once per pop. Free slots form a list
// through `position`, reused last-in first-out, so the table stays as small
// as the largest number of timers armed at once and its hot end stays hot.
// Four children per node (Go's choice too) halve the depth of a binary
// heap; a sift-down compares four siblings that share a cache line.
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
// (every arm from every P contending on one lock and one cache line), Go's
// lazy deletion (a stopped timer stays in the heap until it reaches the
// top: Go's garbage collector keeps the node alive meanwhile, but here the
// node is in a frame that may be freed as soon as disarm returns).
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

    /// A node's deadline (== its `when` while it is in the heap) and slot.
    struct entry {
        std::int64_t when;
        std::uint32_t slot;
    };

    // --- Guarded by mu ---
    std::vector<entry> nodes;
    /// By slot: the index in `nodes` of the slot's entry; for a free slot,
    /// the next free slot (or no_slot).
    std::vector<std::uint32_t> position;
    /// By slot: the node that owns it (stale for a free slot).
    std::vector<runtime_timer*> owner;

    bool empty() const noexcept { return nodes.empty(); }
    std::size_t size() const noexcept { return nodes.size(); }
    runtime_timer* top() const noexcept { return nodes.empty() ? nullptr : owner[nodes.front().slot]; }

    /// Adds `t` (t.when set). Fatal on out of memory: a timer that cannot
    /// be armed cannot report it (arm is noexcept, like Go's).
    void push(runtime_timer& t) noexcept
    {
        try {
            if (free_slot == no_slot) { // every slot taken: a new one
                position.push_back(no_slot);
                owner.push_back(nullptr);
                free_slot = std::uint32_t(position.size() - 1);
            }
            nodes.push_back({t.when, free_slot});
        } catch (const std::bad_alloc&) {
            fatal("sched: out of memory growing a timer heap");
        }
        t.slot = free_slot;
        free_slot = position[t.slot];
        owner[t.slot] = &t;
        sift_up(nodes.size() - 1);
    }

    /// Removes `t`, which is in this heap.
    void remove(runtime_timer& t) noexcept { remove_slot(t.slot); }

    /// Removes and returns the top; the heap is not empty. Reads nothing of
    /// the node (it is usually cold).
    runtime_timer& pop() noexcept
    {
        const std::uint32_t s = nodes.front().slot;
        runtime_timer& t = *owner[s];
        remove_slot(s);
        return t;
    }

    /// Empties the heap; calls f(node) for each node it held first.
    template <class F>
    void clear(F&& f) noexcept
    {
        for (const entry& e : nodes)
            f(*owner[e.slot]);
        nodes.clear();
        position.clear();
        owner.clear();
        free_slot = no_slot;
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

    /// The index in the heap vector of `t`, which is in this heap (0: the top).
    std::size_t position_of(const runtime_timer& t) const noexcept { return position[t.slot]; }

    /// Checks the heap property, every position and every owner, and that
    /// the free list holds exactly the slots no entry uses (tests).
    bool valid() const noexcept
    {
        if (position.size() != owner.size())
            return false;
        std::vector<bool> used(position.size());
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            const std::uint32_t s = nodes[i].slot;
            if (s >= position.size() || used[s] || position[s] != i)
                return false;
            used[s] = true;
            if (owner[s]->slot != s || owner[s]->when != nodes[i].when)
                return false;
            if (i > 0 && nodes[i].when < nodes[parent(i)].when)
                return false;
        }
        std::size_t free = 0;
        for (std::uint32_t s = free_slot; s != no_slot; s = position[s]) {
            if (s >= position.size() || used[s] || ++free > position.size())
                return false;
            used[s] = true;
        }
        return free + nodes.size() == position.size();
    }

private:
    static constexpr std::size_t arity = 4;
    static constexpr std::uint32_t no_slot = UINT32_MAX;
    static std::size_t parent(std::size_t i) noexcept { return (i - 1) / arity; }

    // --- Guarded by mu ---
    std::uint32_t free_slot = no_slot; // head of the free slots' list

    void remove_slot(std::uint32_t s) noexcept
    {
        const std::size_t i = position[s];
        position[s] = free_slot;
        free_slot = s;
        const entry last = nodes.back();
        nodes.pop_back();
        if (last.slot == s)
            return;
        place(last, i);
        if (i > 0 && last.when < nodes[parent(i)].when)
            sift_up(i);
        else
            sift_down(i);
    }

    void place(entry e, std::size_t i) noexcept
    {
        nodes[i] = e;
        position[e.slot] = std::uint32_t(i);
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
