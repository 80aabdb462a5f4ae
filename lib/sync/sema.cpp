// The runtime semaphore (include/goro/detail/sema.hpp).
//
// Invariant: count_ > 0 implies the waiter list is empty (a release with
// waiters hands the unit straight to the oldest one). A parked goroutine's
// sema_waiter is touched only under lock_, and by the releaser after it
// unlinked it; the releaser reads w->g before readying it, because the moment
// the G is runnable its frame (and the waiter in it) may be freed.

#include <goro/detail/sched.hpp>
#include <goro/detail/sema.hpp>

#include <mutex>

namespace goro::detail {

bool sema::acquire_or_park(sema_waiter& w, std::coroutine_handle<> leaf, wait_reason why)
{
    goroutine& g = require_g("goro: waiting on a sync primitive");
    std::lock_guard lock(lock_);
    if (count_ > 0) {
        --count_;
        return false;
    }
    g.leaf = leaf;
    g.reason = why;
    w.g = &g;
    w.next = nullptr;
    if (tail_)
        tail_->next = &w;
    else
        head_ = &w;
    tail_ = &w;
    return true; // the unlock below publishes w; we never touch it again
}

void sema::release(std::uint32_t n) noexcept
{
    sema_waiter* woken = nullptr; // the first n waiters, still linked in FIFO order
    {
        std::lock_guard lock(lock_);
        sema_waiter* last = nullptr;
        woken = head_;
        while (n > 0 && head_) {
            last = head_;
            head_ = head_->next;
            --n;
        }
        if (last)
            last->next = nullptr;
        else
            woken = nullptr;
        if (!head_)
            tail_ = nullptr;
        count_ += n;
    }
    while (woken) {
        sema_waiter* next = woken->next;
        goroutine* g = woken->g;
        ready(*g);
        woken = next;
    }
}

} // namespace goro::detail
