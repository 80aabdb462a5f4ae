// A P's local run queue: Go's runq (proc.go) with atomic slots.
//
// Layout: `Capacity` slots in a ring, `head` and `tail` as free-running 32-bit
// counters, plus the `runnext` slot.
//   - Only the owner P pushes: it writes slot[tail % Capacity] and publishes it
//     with a release store of `tail`.
//   - The owner and thieves pop by CAS on `head`. A thief copies the slots it
//     wants *before* its CAS; if the CAS fails the copy is discarded. The slots
//     are std::atomic (relaxed) because the owner may overwrite a slot a thief is
//     reading — harmless in Go, a data race in C++ without atomics.
//   - `runnext` holds the goroutine most recently readied by this P (new
//     goroutines go to the ring tail instead; see scheduler.cpp); it runs
//     before the ring (it inherits the time slice of the goroutine that
//     readied it, so ping-pong pairs stay on one P). Thieves take it by CAS,
//     rarely (their last steal pass, after the owner left it alone a while).
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
//   - A push into a full ring hands half of it plus the new goroutine to an
//     overflow sink (the scheduler's global queue), so the ring never blocks.
// Rejected: Chase-Lev deques (LIFO owner pops need a seq_cst fence per pop and
// steals take one item; Go's FIFO + runnext gives better fairness), Tokio's
// packed (steal, real) head (solves a concurrent-stealer problem we avoid by
// letting thieves CAS `head` directly, as Go does).
//
// Tests instantiate tiny capacities (4) to reach the overflow and wrap-around
// edges.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/asymmetric_barrier.hpp>

#include "base/barrier.hpp"
#include "base/cpu_relax.hpp"

#include <atomic>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

template <class Item, std::uint32_t Capacity = 256>
class runq {
    static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

public:
    static constexpr std::uint32_t capacity = Capacity;

    /// The most items one overflow hands to the sink.
    static constexpr std::uint32_t overflow_max = Capacity / 2 + 1;

    /// Owner only. Puts `it` in runnext (`next`) or at the tail. If the ring is
    /// full, calls `overflow(Item* const* items, std::uint32_t n)` with the
    /// older half of the ring plus the item (n <= overflow_max), oldest first;
    /// those items have left the queue. Returns false if the put only filled
    /// an empty runnext, true if an item went to the ring (or the sink).
    template <class Sink>
    bool put(Item* it, bool next, Sink&& overflow)
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
        }
        for (;;) {
            std::uint32_t h = head_.load(std::memory_order_acquire); // acquire: slots below h are free
            std::uint32_t t = tail_.load(std::memory_order_relaxed); // only the owner writes tail
            if (t - h < Capacity) {
                slots_[t % Capacity].store(it, std::memory_order_relaxed);
                tail_.store(t + 1, std::memory_order_release); // release: publishes the slot
                return true;
            }
            if (put_slow(it, h, t, overflow))
                return true;
            // a thief moved head; the ring has room now
        }
    }

    /// Owner only. Appends `n` items at the tail; the ring must have room for
    /// them (it does when it was empty and n <= Capacity).
    void put_many(Item* const* items, std::uint32_t n) noexcept
    {
        std::uint32_t t = tail_.load(std::memory_order_relaxed);
        for (std::uint32_t i = 0; i < n; ++i)
            slots_[(t + i) % Capacity].store(items[i], std::memory_order_relaxed);
        tail_.store(t + n, std::memory_order_release); // release: publishes the slots
    }

    /// Owner only; the free room in the ring (a lower bound: thieves only add room).
    std::uint32_t room() const noexcept
    {
        return Capacity - (tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_acquire));
    }

    /// Owner only. Pops runnext (when `allow_next`) or the head. `from_next`
    /// tells which.
    Item* get(bool allow_next, bool& from_next) noexcept
    {
        from_next = false;
        if (allow_next) {
            if (Item* n = take_next()) {
                from_next = true;
                return n;
            }
        }
        for (;;) {
            std::uint32_t h = head_.load(std::memory_order_acquire); // acquire: pairs with thieves' CAS
            std::uint32_t t = tail_.load(std::memory_order_relaxed);
            if (t == h) {
                if (!allow_next) { // the ring is empty: runnext after all
                    if (Item* n = take_next()) {
                        from_next = true;
                        return n;
                    }
                }
                return nullptr;
            }
            Item* it = slots_[h % Capacity].load(std::memory_order_relaxed);
            if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release)) { // release: the slot may be reused
                // The next item was likely written by another core (a thief's
                // batch, a global chunk): start fetching it while `it` runs.
                if (h + 1 != t)
                    __builtin_prefetch(slots_[(h + 1) % Capacity].load(std::memory_order_relaxed));
                return it;
            }
        }
    }

    /// Any thread. Moves about half of this queue into `into` (the thief's own
    /// queue, which only the calling thread owns) and returns one item to run,
    /// or nullptr. Takes runnext only when `steal_next` and the ring is empty.
    Item* steal_into(runq& into, bool steal_next) noexcept
    {
        std::uint32_t t = into.tail_.load(std::memory_order_relaxed);
        std::uint32_t n = grab(into.slots_, t, steal_next);
        if (n == 0)
            return nullptr;
        --n;
        Item* it = into.slots_[(t + n) % Capacity].load(std::memory_order_relaxed);
        if (n == 0)
            return it;
        into.tail_.store(t + n, std::memory_order_release); // release: publishes the stolen slots
        return it;
    }

    /// Any thread; a snapshot of the ring, runnext not included.
    bool ring_empty() const noexcept
    {
        std::uint32_t h = head_.load(std::memory_order_acquire);
        std::uint32_t t = tail_.load(std::memory_order_acquire);
        return h == t;
    }

    /// Any thread; a snapshot (runnext included).
    std::uint32_t size() const noexcept
    {
        std::uint32_t h = head_.load(std::memory_order_acquire);
        std::uint32_t t = tail_.load(std::memory_order_acquire);
        return (t - h) + (runnext_.load(std::memory_order_acquire) ? 1 : 0);
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

    // Hands half of a full ring plus `it` to `overflow`. Fails if a thief
    // moved head meanwhile.
    template <class Sink>
    bool put_slow(Item* it, std::uint32_t h, std::uint32_t t, Sink& overflow)
    {
        std::uint32_t n = (t - h) / 2;
        Item* taken[overflow_max];
        for (std::uint32_t i = 0; i < n; ++i)
            taken[i] = slots_[(h + i) % Capacity].load(std::memory_order_relaxed);
        if (!head_.compare_exchange_strong(h, h + n, std::memory_order_release)) // release: frees the slots
            return false;
        taken[n] = it;
        overflow(static_cast<Item* const*>(taken), n + 1);
        return true;
    }

    // Copies up to half of the ring into dst[dst_tail...] and claims it by CAS.
    std::uint32_t grab(std::atomic<Item*>* dst, std::uint32_t dst_tail, bool steal_next) noexcept
    {
        for (;;) {
            std::uint32_t h = head_.load(std::memory_order_acquire); // acquire: pairs with other consumers
            std::uint32_t t = tail_.load(std::memory_order_acquire); // acquire: pairs with the owner's publish
            std::uint32_t n = t - h;
            n = n - n / 2;
            if (n == 0) {
                if (steal_next) {
                    if (Item* next = thief_take_next()) {
                        dst[dst_tail % Capacity].store(next, std::memory_order_relaxed);
                        return 1;
                    }
                }
                return 0;
            }
            if (n > Capacity / 2) // h and t read inconsistently; retry
                continue;
            for (std::uint32_t i = 0; i < n; ++i) {
                Item* it = slots_[(h + i) % Capacity].load(std::memory_order_relaxed);
                dst[(dst_tail + i) % Capacity].store(it, std::memory_order_relaxed);
            }
            if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel)) // acq_rel: claims the copied slots
                return n;
        }
    }

    alignas(64) std::atomic<std::uint32_t> head_{0}; // CAS by owner and thieves
    std::atomic<std::uint32_t> tail_{0};             // written by the owner only
    std::atomic<Item*> runnext_{nullptr};            // see "runnext without atomic read-modify-writes"
    std::atomic<std::uint32_t> owner_in_next_{0};    // 1 while the owner uses plain accesses on runnext_
    std::atomic<std::uint32_t> thief_in_next_{0};    // 1 while a thief may CAS runnext_
    std::atomic<Item*> slots_[Capacity] = {};
};

} // namespace goro::detail
