#include "sched/frame_cache.hpp"

#include "sched/scheduler.hpp"

#include <goro/detail/goroutine.hpp>

#include <cstdlib>
#include <new>

namespace goro::inline GORO_ABI::detail {

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
            return frame_malloc(size);
        counts_[cls] = n;
    }
    lists_[cls] = f->next;
    --counts_[cls];
    // Frames often arrive from another P's cache: start pulling in the next
    // one now rather than stall on it at the next spawn.
    __builtin_prefetch(lists_[cls], 1);
    return f;
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
