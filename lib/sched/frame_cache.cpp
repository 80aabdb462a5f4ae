#include "sched/frame_cache.hpp"

#include "sched/scheduler.hpp"

#include <goro/detail/goroutine.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#include <sys/mman.h>

namespace goro::inline GORO_ABI::detail {

namespace {

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
    const std::uintptr_t page = 4096;
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
    for (auto& list : lists_)
        for (batch& b : list)
            while (b.head) {
                free_frame* next = b.head->next;
                std::free(b.head);
                b.head = next;
            }
}

void central_frame_cache::put_batch(std::size_t cls, free_frame* head, free_frame* tail, std::uint32_t n) noexcept
{
    (void)tail;
    std::lock_guard lock(mu_);
    try {
        lists_[cls].push_back({head, n});
    } catch (...) { // vector growth failed: give the frames back to malloc
        while (head) {
            free_frame* next = head->next;
            std::free(head);
            head = next;
        }
    }
}

std::uint32_t central_frame_cache::take_batch(std::size_t cls, free_frame*& head) noexcept
{
    std::lock_guard lock(mu_);
    if (lists_[cls].empty())
        return 0;
    batch b = lists_[cls].back();
    lists_[cls].pop_back();
    head = b.head;
    return b.n;
}

frame_cache::~frame_cache()
{
    for (free_frame* f : lists_)
        while (f) {
            free_frame* next = f->next;
            std::free(f);
            f = next;
        }
}

void* frame_cache::alloc(std::size_t size)
{
    if (size > frame_classes::max_size)
        return frame_malloc(size);
    std::size_t cls = frame_classes::class_of(size);
    free_frame* f = lists_[cls];
    if (!f) {
        std::uint32_t n = central_.take_batch(cls, f);
        if (n == 0)
            return alloc_fresh(cls);
        counts_[cls] = n;
    }
    lists_[cls] = f->next;
    --counts_[cls];
    // Frames often arrive from another P's cache: start pulling in the next
    // one now rather than stall on it at the next spawn.
    __builtin_prefetch(lists_[cls], 1);
    return f;
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
    for (; got < run; ++got) {
        void* p = std::malloc(bytes);
        if (!p)
            break; // the frames we have are enough for now
        auto* f = static_cast<free_frame*>(p);
        f->next = lists_[cls];
        lists_[cls] = f;
    }
    counts_[cls] += got - 1;
    fresh_run_[cls] = std::min<std::uint32_t>(2 * run, std::max<std::uint32_t>(1, max_fresh_bytes / bytes));
    return first;
}

void frame_cache::free(void* frame, std::size_t size) noexcept
{
    if (size > frame_classes::max_size) {
        std::free(frame);
        return;
    }
    std::size_t cls = frame_classes::class_of(size);
    auto* f = static_cast<free_frame*>(frame);
    f->next = lists_[cls];
    lists_[cls] = f;
    if (++counts_[cls] <= max_cached)
        return;
    // Hand the `batch` most recently freed frames to the central list.
    free_frame* head = lists_[cls];
    free_frame* tail = head;
    for (std::uint32_t i = 1; i < batch; ++i)
        tail = tail->next;
    lists_[cls] = tail->next;
    tail->next = nullptr;
    counts_[cls] -= batch;
    central_.put_batch(cls, head, tail, batch);
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
