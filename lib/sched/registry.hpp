// Every live goroutine of a run (Go's allgs), so that shutdown can find the
// parked ones: nothing else points at a goroutine parked on a channel that
// only other parked goroutines can reach, or on a nil channel.
//
// # Slots
// A goroutine holds one slot index from start (scheduler::start_*) to its
// end (goroutine_exit, or its destruction at shutdown). Starting writes the
// goroutine's address into its slot, an atomic<goroutine*> in a chunked
// array that only grows during a run; chunk pointers are written under
// lock_ before any index into the chunk is handed out, and indices travel
// only through lock_ or one thread's own cache, so whoever holds an index
// sees its chunk.
//
// # Free indices, and why ending writes no slot
// An ending goroutine pushes its index on the cache of the thread it ends
// on (owner only: a P's, or the shared one under lock_ for threads without
// a P); the slot keeps its stale address. A slot is live exactly when its
// index is in no cache and not in the central pool, so for_each, which runs
// only while no worker does, first collects every free index. Ending a
// goroutine thus touches no shared cache line: a goroutine started on one P
// and stolen by another would otherwise make the slot array's lines bounce
// between their cores on every start and end (measured: +14% on
// tools/bench/spawn at 2 Ps with the slot cleared at exit).
// A cache above `cache_max` hands `batch` indices to the central pool; an
// empty cache takes a batch from there, or `batch` fresh indices. Starting
// costs one relaxed store and a pop, ending a push: no atomic
// read-modify-write, and a lock once per `batch` goroutines that change P.
// (Rejected: a doubly linked list per P, whose remote unlinks need a lock on
// every exit; a list per P with deferred remote unlinks, which delays
// freeing frames or needs a header in every frame.)
//
// # Reads
// Slot stores are relaxed: the slots are read only by the thread that
// drains a stopped run, after the workers are joined (which orders their
// stores before its reads); a thread without a P that starts a goroutine
// meanwhile stores under lock_, and its slot is read atomically.
#pragma once

#include "base/fatal.hpp"

#include <goro/detail/futex_lock.hpp>
#include <goro/detail/goroutine.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace goro::inline GORO_ABI::detail {

class goroutine_registry {
public:
    static constexpr std::uint32_t batch = 128;
    static constexpr std::uint32_t cache_max = 2 * batch;

    /// Free slot indices owned by one thread: a fixed stack, so add and
    /// remove are a few plain loads and stores.
    struct cache {
        std::uint32_t n = 0;
        std::uint32_t free[cache_max];
    };

    goroutine_registry() { caches_.push_back(&shared_); }
    goroutine_registry(const goroutine_registry&) = delete;
    goroutine_registry& operator=(const goroutine_registry&) = delete;

    /// Registers a P's cache, before the run starts (for_each reads it).
    void attach(cache& c) { caches_.push_back(&c); }

    /// Gives `g` a slot from `c` (owner only). Throws std::bad_alloc.
    void add(cache& c, goroutine& g)
    {
        if (c.n == 0) [[unlikely]] {
            std::lock_guard lock(lock_);
            refill_locked(c);
        }
        take(c, g);
    }

    /// Frees `g`'s slot into `c` (owner only).
    void remove(cache& c, goroutine& g) noexcept
    {
        if (c.n == cache_max) [[unlikely]] {
            std::lock_guard lock(lock_);
            spill_locked(c);
        }
        c.free[c.n++] = g.slot;
    }

    /// add / remove for a thread that owns no P (the shared cache, under lock_).
    void add_shared(goroutine& g)
    {
        std::lock_guard lock(lock_);
        if (shared_.n == 0)
            refill_locked(shared_);
        take(shared_, g);
    }
    void remove_shared(goroutine& g) noexcept
    {
        std::lock_guard lock(lock_);
        if (shared_.n == cache_max)
            spill_locked(shared_);
        shared_.free[shared_.n++] = g.slot;
    }

    /// Calls f(g) for every goroutine that held a slot when the call began,
    /// and returns how many there were. Only while no worker runs (see
    /// "Reads"); `f` may start or end goroutines (the next call sees them).
    template <class F>
    std::size_t for_each(F&& f)
    {
        std::vector<bool> free_now;
        std::uint32_t n;
        {
            std::lock_guard lock(lock_);
            n = next_fresh_;
            free_now = free_set(n);
        }
        std::size_t live = 0;
        for (std::uint32_t i = 0; i < n; ++i)
            if (!free_now[i]) {
                ++live;
                f(*at(i).load(std::memory_order_relaxed));
            }
        return live;
    }

private:
    static constexpr std::uint32_t chunk_bits = 14;
    static constexpr std::uint32_t chunk_size = 1u << chunk_bits;
    static constexpr std::uint32_t max_chunks = 1u << 14; // 2^28 goroutines at once
    static_assert(chunk_size % batch == 0, "a batch of fresh indices must not span two chunks");

    std::atomic<goroutine*>& at(std::uint32_t slot) const noexcept
    {
        return chunks_[slot >> chunk_bits][slot & (chunk_size - 1)];
    }
    void take(cache& c, goroutine& g) noexcept
    {
        const std::uint32_t slot = c.free[--c.n];
        g.slot = slot;
        at(slot).store(&g, std::memory_order_relaxed);
    }
    void refill_locked(cache& c);
    /// Cannot fail: refill_locked keeps room in central_ for every batch of
    /// indices handed out.
    void spill_locked(cache& c) noexcept;
    /// Marks every index below `n` that no goroutine holds. lock_ held.
    std::vector<bool> free_set(std::uint32_t n) const;

    mutable futex_lock lock_;
    cache shared_;                   // guarded by lock_
    std::vector<cache*> caches_;     // the shared one and each P's; fixed once the run starts
    using batch_of_slots = std::array<std::uint32_t, batch>;
    std::vector<batch_of_slots> central_; // guarded by lock_
    std::uint32_t next_fresh_ = 0;        // guarded by lock_
    std::unique_ptr<std::atomic<goroutine*>[]> chunks_[max_chunks]; // written under lock_ (see "Slots")
};

} // namespace goro::detail
