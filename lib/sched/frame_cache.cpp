#include "sched/frame_cache.hpp"

#include "sched/scheduler.hpp"

#include <goro/detail/goroutine.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

namespace {

// How many frames ahead alloc prefetches (see the top of frame_cache.hpp).
constexpr std::uint32_t prefetch_ahead = 4;

// MADV_POPULATE_WRITE (Linux 5.14); older headers lack the name.
#ifdef MADV_POPULATE_WRITE
constexpr int madv_populate_write = MADV_POPULATE_WRITE;
#else
constexpr int madv_populate_write = 23;
#endif

std::atomic<bool> populate_works{true}; // false once the kernel said EINVAL

// Faults in the whole pages inside the malloc'd block [p, p + n) as
// writable, in one call; populating changes no byte. Best effort: any
// failure leaves the pages to be faulted in one by one when touched.
void populate(void* p, std::size_t n) noexcept
{
    if (!populate_works.load(std::memory_order_relaxed))
        return;
    static const std::uintptr_t page = std::uintptr_t(sysconf(_SC_PAGESIZE)); // madvise wants page-aligned bounds
    const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
    const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(page - 1);
    if (hi <= lo)
        return;
    if (madvise(reinterpret_cast<void*>(lo), hi - lo, madv_populate_write) != 0 && errno == EINVAL)
        populate_works.store(false, std::memory_order_relaxed);
}

} // namespace

void* frame_malloc(std::size_t size)
{
    std::size_t bytes = size;
    if (GORO_FRAME_CACHE && size <= frame_classes::max_size)
        bytes = frame_classes::size_of(frame_classes::class_of(size));
    void* p = std::malloc(bytes);
    if (!p)
        throw std::bad_alloc();
    return p;
}

central_frame_cache::~central_frame_cache()
{
    for (auto& batches : batches_)
        for (const batch& b : batches) {
            for (std::uint32_t i = 0; i < b.n; ++i)
                std::free(b.frames[i]);
            std::free(b.frames);
        }
    for (void** block : spare_)
        std::free(block);
}

// The addresses go into a block of their own, not a vector per class: a
// vector that grows by doubling copies every address again and faults in
// fresh pages for each copy (spawn at one P: 1,000,000 frames pass through
// here, 8 MiB of addresses).
void central_frame_cache::put_batch(std::size_t cls, void* const* frames, std::uint32_t n) noexcept
{
    std::unique_lock lock(mu_);
    void** block = nullptr;
    if (!spare_.empty()) {
        block = spare_.back();
        spare_.pop_back();
    } else {
        lock.unlock();
        block = static_cast<void**>(std::malloc(frame_cache::batch * sizeof(void*)));
        lock.lock();
    }
    if (block) {
        std::copy(frames, frames + n, block);
        try {
            batches_[cls].push_back({block, n});
            return;
        } catch (...) { // vector growth failed
            std::free(block);
        }
    }
    for (std::uint32_t i = 0; i < n; ++i) // no memory to keep them: back to malloc
        std::free(frames[i]);
}

std::uint32_t central_frame_cache::take_batch(std::size_t cls, void** into) noexcept
{
    std::lock_guard lock(mu_);
    if (batches_[cls].empty())
        return 0;
    const batch b = batches_[cls].back();
    batches_[cls].pop_back();
    std::copy(b.frames, b.frames + b.n, into);
    try {
        spare_.push_back(b.frames);
    } catch (...) {
        std::free(b.frames);
    }
    return b.n;
}

frame_cache::~frame_cache()
{
    for (std::size_t cls = 0; cls < frame_classes::count; ++cls) {
        for (std::uint32_t i = 0; i < counts_[cls]; ++i)
            std::free(stacks_[cls][i]);
        std::free(stacks_[cls]);
    }
}

void** frame_cache::stack_of(std::size_t cls) noexcept
{
    if (!stacks_[cls])
        stacks_[cls] = static_cast<void**>(std::malloc(capacity * sizeof(void*)));
    return stacks_[cls];
}

void* frame_cache::alloc(std::size_t size)
{
    if (size > frame_classes::max_size)
        return frame_malloc(size);
    const std::size_t cls = frame_classes::class_of(size);
    std::uint32_t n = counts_[cls];
    if (n == 0) [[unlikely]]
        return refill(cls);
    void** stack = stacks_[cls];
    void* frame = stack[--n];
    counts_[cls] = n;
    // Frames often arrive from another P's cache: start pulling in one a few
    // spawns ahead, for writing, so that its miss overlaps the work between.
    if (n >= prefetch_ahead)
        __builtin_prefetch(stack[n - prefetch_ahead], 1);
    return frame;
}

void* frame_cache::refill(std::size_t cls)
{
    void** stack = stack_of(cls);
    if (!stack)
        return frame_malloc(frame_classes::size_of(cls)); // no room to cache: one frame, uncached
    const std::uint32_t n = central_.take_batch(cls, stack);
    if (n == 0)
        return alloc_fresh(cls);
    for (std::uint32_t i = n > prefetch_ahead ? n - prefetch_ahead : 0; i + 1 < n; ++i)
        __builtin_prefetch(stack[i], 1);
    counts_[cls] = n - 1;
    return stack[n - 1];
}

void* frame_cache::alloc_fresh(std::size_t cls)
{
    const std::size_t bytes = frame_classes::size_of(cls);
    const std::uint32_t run = fresh_run_[cls] ? fresh_run_[cls] : 1;
    if (run > 1) {
        // malloc writes a header into each block it carves, so populating
        // after the mallocs would find every page already faulted in. Take
        // the run's room as one block first, populate it and give it back:
        // the blocks carved next come from the same, now present, pages (a
        // freed block next to the top of the heap merges back into it; where
        // malloc places them elsewhere, they fault in as before).
        const std::size_t room_bytes = std::size_t(run) * (bytes + 2 * sizeof(void*));
        if (void* room = std::malloc(room_bytes)) {
            populate(room, room_bytes);
            std::free(room);
        }
    }
    void* first = frame_malloc(bytes); // throws: nothing else taken yet
    std::uint32_t got = 1;
    void** stack = stacks_[cls]; // refill made it; empty
    for (; got < run; ++got) {
        void* p = std::malloc(bytes);
        if (!p)
            break; // the frames we have are enough for now
        stack[got - 1] = p;
    }
    counts_[cls] = got - 1;
    fresh_run_[cls] = std::min({2 * run, capacity, std::max<std::uint32_t>(1, max_fresh_bytes / bytes)});
    return first;
}

void frame_cache::free(void* frame, std::size_t size) noexcept
{
    if (size > frame_classes::max_size) {
        std::free(frame);
        return;
    }
    const std::size_t cls = frame_classes::class_of(size);
    void** stack = stacks_[cls];
    if (!stack) [[unlikely]] {
        stack = stack_of(cls);
        if (!stack) { // out of memory for the stack: the frame goes back to malloc
            std::free(frame);
            return;
        }
    }
    std::uint32_t n = counts_[cls];
    if (n == capacity) [[unlikely]] {
        // Hand the oldest `batch` to the central list: the newest stay, their
        // lines still in this P's cache.
        central_.put_batch(cls, stack, batch);
        std::copy(stack + batch, stack + n, stack);
        n -= batch;
    }
    stack[n] = frame;
    counts_[cls] = n + 1;
}

// --- The hooks every promise_type::operator new/delete calls ---

void* frame_alloc(std::size_t size)
{
    if constexpr (GORO_FRAME_CACHE) {
        if (frame_cache* c = current_frame_cache())
            return c->alloc(size);
    }
    return frame_malloc(size);
}

void frame_free(void* frame, std::size_t size) noexcept
{
    if constexpr (GORO_FRAME_CACHE) {
        if (frame_cache* c = current_frame_cache()) {
            c->free(frame, size);
            return;
        }
    }
    std::free(frame);
}

} // namespace goro::detail
