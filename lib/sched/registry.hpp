// Every live goroutine of a run (Go's allgs), so that shutdown can find the
// parked ones: nothing else points at a goroutine parked on a channel that
// only other parked goroutines can reach, or on a nil channel.
//
// # Slots
// A goroutine holds one slot from start (scheduler::start) to its end
// (goroutine_exit, or its destruction at shutdown). A slot is an
// atomic<goroutine*> in a chunked array that only grows during a run; chunk
// pointers are written under lock_ before any index into the chunk is
// handed out, and indices travel only through lock_ or one thread's own
// cache, so a reader of an index always sees its chunk.
//
// # Free indices
// Freed indices go to the freeing thread's cache (owner only: a P's, or the
// shared one under lock_ for threads without a P). A cache above
// `cache_max` hands `batch` indices to the central pool; an empty cache takes
// a batch from there, or `batch` fresh indices. So starting and finishing a
// goroutine costs two relaxed stores and an owner-only push and pop: no
// atomic read-modify-write, no lock but once per `batch` goroutines that
// change P. (Rejected: a doubly linked list per P, whose remote unlinks need
// a lock on every exit; a list per P with deferred remote unlinks, which
// delays freeing frames or needs a header in every frame.)
//
// # Reads
// slot stores are relaxed: the registry is read only by the thread that
// drains a stopped run (after the workers are joined, which orders their
// stores before its reads), and by nobody else.
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

namespace goro::detail {

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

    goroutine_registry() = default;
    goroutine_registry(const goroutine_registry&) = delete;
    goroutine_registry& operator=(const goroutine_registry&) = delete;

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
            put(c, g, spill_locked(c));
        } else {
            put(c, g, true);
        }
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
        put(shared_, g, shared_.n < cache_max || spill_locked(shared_));
    }

    /// Calls f(g) for every goroutine holding a slot, and returns how many
    /// there were. Only while no worker runs (see "Reads"); `f` may start or
    /// remove goroutines.
    template <class F>
    std::size_t for_each(F&& f)
    {
        std::size_t live = 0;
        for (std::uint32_t i = 0, n = fresh(); i < n; ++i)
            if (goroutine* g = at(i).load(std::memory_order_relaxed)) {
                ++live;
                f(*g);
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
    std::uint32_t fresh() const noexcept
    {
        std::lock_guard lock(lock_);
        return next_fresh_;
    }
    void take(cache& c, goroutine& g) noexcept
    {
        const std::uint32_t slot = c.free[--c.n];
        g.slot = slot;
        at(slot).store(&g, std::memory_order_relaxed);
    }
    // `room`: c has room for one more index (else it is dropped: out of
    // memory, the index is never reused, which costs one null slot).
    void put(cache& c, goroutine& g, bool room) noexcept
    {
        at(g.slot).store(nullptr, std::memory_order_relaxed);
        if (room)
            c.free[c.n++] = g.slot;
    }
    void refill_locked(cache& c);
    bool spill_locked(cache& c) noexcept;

    mutable futex_lock lock_;
    cache shared_;                                       // guarded by lock_
    using batch_of_slots = std::array<std::uint32_t, batch>;
    std::vector<batch_of_slots> central_;                // guarded by lock_
    std::uint32_t next_fresh_ = 0;                       // guarded by lock_
    std::unique_ptr<std::atomic<goroutine*>[]> chunks_[max_chunks]; // written under lock_ (see "Slots")
};

} // namespace goro::detail
