// A P's local run queue: Go's runq (proc.go) with atomic slots, in two
// rings, one of which its owner pops newest first.
//
// A runq is a runnext slot and two rings (run_ring): `fresh` holds the
// goroutines started on this P, which the owner pops newest first; `queued`
// holds every other runnable goroutine (readied ones, a runnext kicked out,
// a chunk of the global queue, a stolen batch), which it pops oldest first,
// as Go does. The order of a get: runnext (the scheduler caps its streak),
// then the newest fresh goroutine, then the oldest queued one; and on a fair
// turn (every 61st tick, scheduler.cpp) first the oldest queued one if it
// has waited through more than max_wait gets. Why fresh goroutines go
// newest first, and what that does to fairness, is in scheduler.cpp,
// "Submitting work".
//
// # A ring
// `Capacity` slots between `head` (the oldest item) and `tail` (one past
// the newest), free-running 32-bit counters.
//   - Only the owner P pushes: it writes slot[tail % Capacity] and publishes it
//     with a release store of `tail`.
//   - The owner pops at either end; thieves take about half from the head
//     end, oldest first, so the work they move is the oldest (in the fresh
//     ring: the root of the largest subtree not yet started).
//   - `head_` packs the head counter (low 32 bits) with a stamp (high 32
//     bits), and every pop is one CAS on that word: the owner's oldest-first
//     pop and a thief's grab advance the head; the owner's newest-first pop
//     lowers `tail` first, then bumps the stamp. The stamp is what makes a
//     newest-first pop safe against a thief that read the old tail: the
//     thief copies its slots, then CASes the word it read, so any pop that
//     completed in between (which may have let the owner reuse a slot the
//     thief copied) fails its CAS. A thief that reads the stamped word reads
//     the lowered tail too (the CAS publishes the store before it), and an
//     owner whose stamp CAS fails (a thief moved the head) restores the tail
//     and tries again. Either way one locked instruction per pop, as Go's
//     oldest-first pop has. (The stamp wraps after 2^32 pops: a thief would
//     have to stall across all of them between its read and its CAS.)
//   - The slots are std::atomic (relaxed) because the owner may overwrite a
//     slot a thief is reading: harmless (the thief's CAS then fails), but a
//     data race in C++ without atomics.
//   - A push into a full ring hands the older half of it plus the new
//     goroutine to an overflow sink (the scheduler's global queue), so the
//     ring never blocks.
//   - Each slot also records the owner's get count when it was filled
//     (`since`, owner-only), for the fair turn's test.
//
// # runnext
// `runnext` holds the goroutine most recently readied by this P; it runs
// before the rings (it inherits the time slice of the goroutine that
// readied it, so ping-pong pairs stay on one P). Thieves take it by CAS,
// rarely (their last steal pass, after the owner left it alone a while).
//
// # runnext without atomic read-modify-writes on the owner's side
// The owner fills and empties runnext once per channel handoff: with an
// exchange and a CAS there, those two locked instructions were a seventh of
// a hop in a ring of goroutines. So the owner uses plain loads and stores,
// unless a thief is at it, and the two sides exclude each other with the
// asymmetric barriers of base/barrier.hpp (Dekker's flags):
//   owner: owner_in_next = 1 ; light barrier ; if thief_in_next == 0:
//          plain load/store of runnext ; owner_in_next = 0 (release)
//          else: owner_in_next = 0, and exchange/CAS runnext instead
//   thief: thief_in_next 0 -> 1 (CAS: one thief at a time) ; heavy barrier ;
//          wait for owner_in_next == 0 (acquire), giving up after a while ;
//          CAS runnext ; thief_in_next = 0
// The barriers order each side's store before its load, so either the thief
// sees the owner inside (and waits for its release) or the owner sees the
// thief (and uses atomic RMWs, which a CAS orders against). A thief pays a
// membarrier per attempt, so the scheduler tries only when the owner has not
// touched runnext for a while (scheduler.cpp, steal_work).
//
// Rejected: Chase-Lev deques (an owner pop without a locked instruction
// needs a seq_cst fence instead, and thieves take one item at a time; with
// batch steals, a plain tail decrement cannot tell a thief holding a stale
// tail from a finished pop, which the stamp does), Tokio's packed (steal,
// real) head (solves a concurrent-stealer problem we avoid by letting
// thieves CAS the head word directly, as Go does), one ring with the fresh
// goroutines marked in their slots (popped newest first while the newest is
// fresh): a readied goroutine below fresh ones then had no bound on its
// wait but their whole subtree, and a bound on the ring's oldest item,
// whatever its kind, broke the depth-first order (measured in
// docs/performance.md, "The run queue's order").
//
// Tests instantiate tiny capacities (4) and waits (2) to reach the
// overflow, wrap-around and fair-turn edges.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/asymmetric_barrier.hpp>

#include "base/barrier.hpp"
#include "base/cpu_relax.hpp"

#include <atomic>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// One ring of a run queue: `Capacity` atomic slots between `head` (the
/// oldest item) and `tail` (one past the newest), with the protocol at the
/// top of this file. The owner pushes at the tail and pops at either end;
/// thieves take about half from the head.
template <class Item, std::uint32_t Capacity>
class run_ring {
    static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

public:
    /// The most items one overflow hands to the sink.
    static constexpr std::uint32_t overflow_max = Capacity / 2 + 1;

    /// Owner only. Puts `it` at the tail, stamped with the owner's `clock`.
    /// If the ring is full, calls `overflow(Item* const* items, std::uint32_t
    /// n)` with its older half plus `it` (n <= overflow_max), oldest first;
    /// those items have left the queue.
    template <class Sink>
    void push(Item* it, std::uint32_t clock, Sink& overflow)
    {
        for (;;) {
            std::uint32_t h = head_of(head_.load(std::memory_order_acquire)); // acquire: slots below h are free
            std::uint32_t t = tail_.load(std::memory_order_relaxed); // only the owner writes tail
            if (t - h < Capacity) {
                slots_[t % Capacity].store(it, std::memory_order_relaxed);
                since_[t % Capacity] = clock;
                tail_.store(t + 1, std::memory_order_release); // release: publishes the slot
                return;
            }
            if (overflow_half(it, t, overflow))
                return;
            // a thief moved head; the ring has room now
        }
    }

    /// Owner only. Appends `n` items at the tail, stamped with `clock`; the
    /// ring must have room for them (it does when it was empty and n <=
    /// Capacity).
    void push_many(Item* const* items, std::uint32_t n, std::uint32_t clock) noexcept
    {
        std::uint32_t t = tail_.load(std::memory_order_relaxed);
        for (std::uint32_t i = 0; i < n; ++i) {
            slots_[(t + i) % Capacity].store(items[i], std::memory_order_relaxed);
            since_[(t + i) % Capacity] = clock;
        }
        tail_.store(t + n, std::memory_order_release); // release: publishes the slots
    }

    /// Owner only; the free room (a lower bound: thieves only add room).
    std::uint32_t room() const noexcept
    {
        return Capacity - (tail_.load(std::memory_order_relaxed) - head_of(head_.load(std::memory_order_acquire)));
    }

    /// Owner only: the newest item, or nullptr if the ring is empty. Lowers
    /// tail, then claims the slot by bumping the stamp (see the top of the
    /// file); a thief that moved the head meanwhile makes it start over.
    Item* pop_newest() noexcept
    {
        for (;;) {
            std::uint64_t word = head_.load(std::memory_order_acquire); // acquire: pairs with thieves' CAS
            std::uint32_t h = head_of(word);
            std::uint32_t t = tail_.load(std::memory_order_relaxed);
            if (t == h)
                return nullptr;
            Item* it = slots_[(t - 1) % Capacity].load(std::memory_order_relaxed);
            // release: a thief that reads the lowered tail still sees the slots below it
            tail_.store(t - 1, std::memory_order_release);
            // acq_rel: publishes the lowered tail to a thief that reads the new stamp
            if (head_.compare_exchange_strong(word, word + stamp_one, std::memory_order_acq_rel)) {
                // The next pop's item was written a while ago: start fetching it.
                if (t - 1 != h)
                    __builtin_prefetch(slots_[(t - 2) % Capacity].load(std::memory_order_relaxed));
                return it;
            }
            tail_.store(t, std::memory_order_release); // a thief took from the head: look again
        }
    }

    /// Owner only: the oldest item, or nullptr if the ring is empty.
    Item* pop_oldest() noexcept
    {
        for (;;) {
            std::uint64_t word = head_.load(std::memory_order_acquire); // acquire: pairs with thieves' CAS
            std::uint32_t h = head_of(word);
            std::uint32_t t = tail_.load(std::memory_order_relaxed);
            if (t == h)
                return nullptr;
            Item* it = slots_[h % Capacity].load(std::memory_order_relaxed);
            if (head_.compare_exchange_weak(word, with_head(word, h + 1), std::memory_order_release)) { // release: the slot may be reused
                // The next item was likely written by another core (a thief's
                // batch, a global chunk): start fetching it while `it` runs.
                if (h + 1 != t)
                    __builtin_prefetch(slots_[(h + 1) % Capacity].load(std::memory_order_relaxed));
                return it;
            }
        }
    }

    /// Owner only: whether the oldest item was pushed more than `max_wait`
    /// ticks of `clock` ago (false when the ring is empty). A thief may take
    /// that item meanwhile: then the answer is about an item that is gone,
    /// which costs at most one pop from the other end.
    bool oldest_waited(std::uint32_t clock, std::uint32_t max_wait) const noexcept
    {
        std::uint32_t h = head_of(head_.load(std::memory_order_relaxed));
        return h != tail_.load(std::memory_order_relaxed) && clock - since_[h % Capacity] > max_wait;
    }

    /// Any thread. Moves about half of this ring (oldest first) into `into`,
    /// the thief's own ring of the same kind, stamped with `clock`, and
    /// returns the newest of them to run, or nullptr if there was nothing.
    Item* steal_into(run_ring& into, std::uint32_t clock) noexcept
    {
        std::uint32_t t = into.tail_.load(std::memory_order_relaxed);
        std::uint32_t n = grab(into, t);
        if (n == 0)
            return nullptr;
        --n;
        Item* it = into.slots_[(t + n) % Capacity].load(std::memory_order_relaxed);
        if (n == 0)
            return it;
        for (std::uint32_t i = 0; i < n; ++i)
            into.since_[(t + i) % Capacity] = clock;
        into.tail_.store(t + n, std::memory_order_release); // release: publishes the stolen slots
        return it;
    }

    /// Any thread; snapshots.
    bool empty() const noexcept
    {
        std::uint32_t h = head_of(head_.load(std::memory_order_acquire));
        std::uint32_t t = tail_.load(std::memory_order_acquire);
        return h == t;
    }
    std::uint32_t size() const noexcept
    {
        std::uint32_t h = head_of(head_.load(std::memory_order_acquire));
        std::uint32_t t = tail_.load(std::memory_order_acquire);
        return t - h;
    }

private:
    // The head word: the head counter in the low half, the stamp in the high.
    static constexpr std::uint64_t stamp_one = std::uint64_t(1) << 32;
    static std::uint32_t head_of(std::uint64_t word) noexcept { return std::uint32_t(word); }
    static std::uint64_t with_head(std::uint64_t word, std::uint32_t h) noexcept
    {
        return (word & ~std::uint64_t(0xffffffffu)) | h;
    }

    // Hands the older half of a full ring plus `it` to `overflow`. Fails if
    // a thief moved head meanwhile.
    template <class Sink>
    bool overflow_half(Item* it, std::uint32_t t, Sink& overflow)
    {
        std::uint64_t word = head_.load(std::memory_order_acquire); // acquire: pairs with thieves' CAS
        std::uint32_t h = head_of(word);
        if (t - h < Capacity) // a thief made room since the caller looked
            return false;
        std::uint32_t n = (t - h) / 2;
        Item* taken[overflow_max];
        for (std::uint32_t i = 0; i < n; ++i)
            taken[i] = slots_[(h + i) % Capacity].load(std::memory_order_relaxed);
        if (!head_.compare_exchange_strong(word, with_head(word, h + n), std::memory_order_release)) // release: frees the slots
            return false;
        taken[n] = it;
        overflow(static_cast<Item* const*>(taken), n + 1);
        return true;
    }

    // Copies up to half of the ring into into's slots from dst_tail on and
    // claims them by CAS.
    std::uint32_t grab(run_ring& into, std::uint32_t dst_tail) noexcept
    {
        for (;;) {
            std::uint64_t word = head_.load(std::memory_order_acquire); // acquire: pairs with other consumers
            std::uint32_t h = head_of(word);
            std::uint32_t t = tail_.load(std::memory_order_acquire); // acquire: pairs with the owner's publish
            std::uint32_t n = t - h;
            n = n - n / 2;
            if (n == 0)
                return 0;
            if (n > Capacity / 2) // h and t read inconsistently (or mid-pop); retry
                continue;
            for (std::uint32_t i = 0; i < n; ++i)
                into.slots_[(dst_tail + i) % Capacity].store(slots_[(h + i) % Capacity].load(std::memory_order_relaxed),
                                                             std::memory_order_relaxed);
            // acq_rel: claims the copied slots; fails if any pop completed since `word`
            if (head_.compare_exchange_weak(word, with_head(word, h + n), std::memory_order_acq_rel))
                return n;
        }
    }

    alignas(64) std::atomic<std::uint64_t> head_{0}; // head counter and stamp; CAS by owner and thieves
    std::atomic<std::uint32_t> tail_{0};             // written by the owner only
    std::atomic<Item*> slots_[Capacity] = {};
    std::uint32_t since_[Capacity] = {}; // owner only: the clock when each slot was filled
};

template <class Item, std::uint32_t Capacity, std::uint32_t MaxWait = 1024>
class runq {
public:
    static constexpr std::uint32_t capacity = Capacity;
    /// How many of the owner's gets a queued item may wait before a fair
    /// turn takes it ahead of fresh items and runnext (see get).
    static constexpr std::uint32_t max_wait = MaxWait;
    /// The most items one overflow hands to the sink.
    static constexpr std::uint32_t overflow_max = run_ring<Item, Capacity>::overflow_max;

    /// How an item enters: `fresh` (a goroutine just started here) goes to
    /// the ring the owner pops newest first; `queued` (anything else) to the
    /// one it pops oldest first.
    enum class entry_kind : bool { queued, fresh };

    /// Owner only. Puts `it` in runnext (`next`) or in the ring `kind` names;
    /// a runnext kicked out goes to the queued ring. If that ring is full,
    /// calls `overflow(Item* const* items, std::uint32_t n)` with its older
    /// half plus the item (n <= overflow_max), oldest first; those items have
    /// left the queue. Returns false if the put only filled an empty runnext,
    /// true if an item went to a ring (or the sink).
    template <class Sink>
    bool put(Item* it, bool next, Sink&& overflow, entry_kind kind = entry_kind::queued)
    {
        if (next) {
            Item* old;
            if (owner_enter()) {
                old = runnext_.load(std::memory_order_relaxed);
                runnext_.store(it, std::memory_order_release); // release: publishes `it` to thieves
                owner_leave();
            } else {
                old = runnext_.exchange(it, std::memory_order_acq_rel); // acq_rel: against the thief's CAS
            }
            if (!old)
                return false;
            it = old; // kick the old runnext to the tail
            kind = entry_kind::queued;
        }
        (kind == entry_kind::fresh ? fresh_ : queued_).push(it, clock_, overflow);
        return true;
    }

    /// Owner only. Appends `n` queued items; the queued ring must have room
    /// for them (it does when it was empty and n <= Capacity).
    void put_many(Item* const* items, std::uint32_t n) noexcept { queued_.push_many(items, n, clock_); }

    /// Owner only; the free room in the queued ring, which put_many fills.
    std::uint32_t room() const noexcept { return queued_.room(); }

    /// Owner only. Pops, in this order: on a `fair_turn`, the oldest queued
    /// item if it has waited through more than max_wait gets; runnext (when
    /// `allow_next`); the newest fresh item; the oldest queued item; runnext
    /// (when not `allow_next`). `from_next` tells whether it was runnext.
    Item* get(bool allow_next, bool& from_next, bool fair_turn = false) noexcept
    {
        from_next = false;
        ++clock_;
        if (fair_turn && queued_.oldest_waited(clock_, MaxWait))
            if (Item* it = queued_.pop_oldest())
                return it;
        if (allow_next) {
            if (Item* n = take_next()) {
                from_next = true;
                return n;
            }
        }
        if (Item* it = fresh_.pop_newest())
            return it;
        if (Item* it = queued_.pop_oldest())
            return it;
        if (!allow_next) { // the rings are empty: runnext after all
            if (Item* n = take_next()) {
                from_next = true;
                return n;
            }
        }
        return nullptr;
    }

    /// Any thread. Moves about half of one of this queue's rings (the queued
    /// one first) into the same ring of `into` (the thief's own queue, which
    /// only the calling thread owns) and returns one item to run, or nullptr.
    /// Takes runnext only when `steal_next` and both rings are empty.
    Item* steal_into(runq& into, bool steal_next) noexcept
    {
        if (Item* it = queued_.steal_into(into.queued_, into.clock_))
            return it;
        if (Item* it = fresh_.steal_into(into.fresh_, into.clock_))
            return it;
        return steal_next ? thief_take_next() : nullptr;
    }

    /// Any thread; a snapshot of the rings, runnext not included.
    bool ring_empty() const noexcept { return queued_.empty() && fresh_.empty(); }

    /// Any thread; a snapshot (runnext included).
    std::uint32_t size() const noexcept
    {
        return queued_.size() + fresh_.size() + (runnext_.load(std::memory_order_acquire) ? 1 : 0);
    }

    bool has_runnext() const noexcept { return runnext_.load(std::memory_order_acquire) != nullptr; }
    /// Any thread; what runnext holds (a snapshot, to compare, never to run).
    const Item* peek_next() const noexcept { return runnext_.load(std::memory_order_relaxed); }

private:
    // The owner's side of the runnext protocol (see the top of the file):
    // true if it may use plain accesses until owner_leave().
    bool owner_enter() noexcept
    {
        owner_in_next_.store(1, std::memory_order_relaxed);
        asymmetric_light_barrier(); // StoreLoad: pairs with the thief's heavy barrier
        if (thief_in_next_.load(std::memory_order_relaxed) == 0)
            return true;
        owner_in_next_.store(0, std::memory_order_release); // release: as in owner_leave
        return false;
    }
    void owner_leave() noexcept
    {
        owner_in_next_.store(0, std::memory_order_release); // release: publishes runnext to the waiting thief
    }

    // Owner: empties runnext; returns what it held.
    Item* take_next() noexcept
    {
        Item* n = runnext_.load(std::memory_order_relaxed);
        if (!n)
            return nullptr;
        if (owner_enter()) {
            n = runnext_.load(std::memory_order_relaxed); // no thief since the enter: still ours
            if (n)
                runnext_.store(nullptr, std::memory_order_relaxed);
            owner_leave();
            return n;
        }
        return runnext_.compare_exchange_strong(n, nullptr, std::memory_order_acquire) ? n : nullptr;
    }

    // A thief's side: takes runnext by CAS, or nothing (another thief is at
    // it, or the owner stayed inside longer than a thief waits).
    Item* thief_take_next() noexcept
    {
        if (!runnext_.load(std::memory_order_relaxed))
            return nullptr;
        std::uint32_t no_thief = 0;
        if (!thief_in_next_.compare_exchange_strong(no_thief, 1, std::memory_order_acquire))
            return nullptr;
        asymmetric_heavy_barrier(); // StoreLoad: pairs with the owner's light barrier
        Item* next = nullptr;
        for (int spins = 0; owner_in_next_.load(std::memory_order_acquire) != 0; ++spins) { // acquire: pairs with owner_leave
            if (spins == 1000) { // the owner's thread was preempted inside: not worth waiting for
                thief_in_next_.store(0, std::memory_order_release);
                return nullptr;
            }
            cpu_relax();
        }
        next = runnext_.load(std::memory_order_acquire); // acquire: pairs with the put's release
        if (next && !runnext_.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel))
            next = nullptr;
        thief_in_next_.store(0, std::memory_order_release); // release: the owner's RMWs after it see the CAS
        return next;
    }

    run_ring<Item, Capacity> fresh_;  // newest first for the owner
    run_ring<Item, Capacity> queued_; // oldest first
    std::uint32_t clock_ = 0;         // owner only: its gets so far
    alignas(64) std::atomic<Item*> runnext_{nullptr}; // see "runnext without atomic read-modify-writes"
    std::atomic<std::uint32_t> owner_in_next_{0};     // 1 while the owner uses plain accesses on runnext_
    std::atomic<std::uint32_t> thief_in_next_{0};     // 1 while a thief may CAS runnext_
};

} // namespace goro::detail
