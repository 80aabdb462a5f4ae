// The global run queue: goroutines that overflowed a P's ring or were started
// or readied from a thread that owns no P.
//
// A FIFO of chunks, each an array of up to `chunk_capacity` goroutine
// pointers. Moving half a ring in or out is one chunk: a memcpy of pointers,
// O(1) work under the scheduler's lock, and no goroutine frame is touched.
// Rejected: Go's intrusive list of Gs (taking a batch walks the list under the
// lock, one cache miss per G that another core just wrote: measured as the top
// cost of the spawn benchmark), a std::deque (allocates on the hot path).
// Emptied chunks are kept in a small free pool, so a steady producer/consumer
// pair allocates nothing.
//
// Not thread-safe: every member is guarded by the owner's lock (scheduler::mu_).
#pragma once

#include <goro/config.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace goro::inline GORO_ABI::detail {

template <class Item, std::uint32_t ChunkCapacity>
class global_queue {
public:
    static constexpr std::uint32_t chunk_capacity = ChunkCapacity;

    struct chunk {
        chunk* next = nullptr;
        std::uint32_t begin = 0; // first live item
        std::uint32_t end = 0;   // one past the last
        Item* items[ChunkCapacity];

        std::uint32_t size() const noexcept { return end - begin; }
    };

    global_queue() = default;
    global_queue(const global_queue&) = delete;
    global_queue& operator=(const global_queue&) = delete;
    ~global_queue()
    {
        while (head_)
            release(pop_chunk_raw());
        while (pool_) {
            chunk* c = pool_;
            pool_ = c->next;
            delete c;
        }
    }

    std::uint32_t size() const noexcept { return size_; }

    /// Appends one item. Throws std::bad_alloc only if a new chunk is needed
    /// and none can be allocated.
    void push(Item* it)
    {
        if (!tail_ || tail_->end == ChunkCapacity)
            link(acquire());
        tail_->items[tail_->end++] = it;
        ++size_;
    }

    /// Appends `n` items as one chunk (n <= chunk_capacity).
    void push_many(Item* const* items, std::uint32_t n)
    {
        chunk* c = acquire();
        std::memcpy(c->items, items, n * sizeof(Item*));
        c->end = n;
        link(c);
        size_ += n;
    }

    /// Removes the oldest item, or returns nullptr.
    Item* pop() noexcept
    {
        if (!head_)
            return nullptr;
        Item* it = head_->items[head_->begin++];
        --size_;
        if (head_->begin == head_->end)
            release(pop_chunk_raw());
        return it;
    }

    /// Removes the oldest chunk (all of its items) and returns it; give it back
    /// with recycle() after copying its items out. nullptr when empty.
    chunk* pop_chunk() noexcept
    {
        if (!head_)
            return nullptr;
        chunk* c = pop_chunk_raw();
        size_ -= c->size();
        return c;
    }

    void recycle(chunk* c) noexcept { release(c); }

private:
    static constexpr std::uint32_t max_pooled = 32;

    chunk* acquire()
    {
        if (chunk* c = pool_) {
            pool_ = c->next;
            --pooled_;
            c->next = nullptr;
            c->begin = c->end = 0;
            return c;
        }
        return new chunk;
    }

    void release(chunk* c) noexcept
    {
        if (pooled_ >= max_pooled) {
            delete c;
            return;
        }
        c->next = pool_;
        pool_ = c;
        ++pooled_;
    }

    void link(chunk* c) noexcept
    {
        if (tail_)
            tail_->next = c;
        else
            head_ = c;
        tail_ = c;
    }

    chunk* pop_chunk_raw() noexcept
    {
        chunk* c = head_;
        head_ = c->next;
        if (!head_)
            tail_ = nullptr;
        c->next = nullptr;
        return c;
    }

    chunk* head_ = nullptr;
    chunk* tail_ = nullptr;
    chunk* pool_ = nullptr;
    std::uint32_t pooled_ = 0;
    std::uint32_t size_ = 0;
};

} // namespace goro::detail
