// An intrusive FIFO of parked goroutines' waiter records, for the wait queues
// of the sync primitives. Each waiter lives in its goroutine's frame and has
// members `W* prev`, `W* next`, `goroutine* g` and `bool queued`; the list
// is guarded by the owner's spinlock. Every unlink (a waker's, or a
// withdraw at the end of a run) clears `queued` under that lock, so a
// withdraw can tell a waiter still queued from one a waker took. Waking is
// two steps: unlink under the lock, then ready_all() after dropping it.
#pragma once

#include <goro/detail/sched.hpp>

namespace goro::inline GORO_ABI::detail {

template <class W>
struct wait_list {
    W* head = nullptr;
    W* tail = nullptr;

    bool empty() const noexcept { return head == nullptr; }

    void push_back(W& w) noexcept
    {
        w.prev = tail;
        w.next = nullptr;
        (tail ? tail->next : head) = &w;
        tail = &w;
        w.queued = true;
    }

    void push_front(W& w) noexcept
    {
        w.prev = nullptr;
        w.next = head;
        (head ? head->prev : tail) = &w;
        head = &w;
        w.queued = true;
    }

    /// Unlinks `w`, which is queued.
    void unlink(W& w) noexcept
    {
        (w.prev ? w.prev->next : head) = w.next;
        (w.next ? w.next->prev : tail) = w.prev;
        w.queued = false;
    }

    /// Unlinks `w` if it is queued; returns whether it was.
    bool remove(W& w) noexcept
    {
        if (!w.queued)
            return false;
        unlink(w);
        return true;
    }

    /// Unlinks the leading waiters for which `take(w)` is true, stopping at the
    /// first for which it is false; returns them as a chain through `next`, in
    /// queue order.
    template <class Take>
    W* pop_front_while(Take take) noexcept
    {
        W* first = head;
        W* last = nullptr;
        while (head && take(*head)) {
            last = head;
            last->queued = false;
            head = head->next;
        }
        if (!last)
            return nullptr;
        last->next = nullptr;
        (head ? head->prev : tail) = nullptr;
        return first;
    }

    /// Unlinks every waiter; returns them as a chain through `next`, in queue
    /// order.
    W* take_all() noexcept
    {
        for (W* w = head; w; w = w->next)
            w->queued = false;
        W* first = head;
        head = tail = nullptr;
        return first;
    }
};

/// Readies the goroutine of every waiter in a chain that pop_front_while or
/// take_all returned (call it without the lock). Each waiter belongs to its
/// goroutine again the moment it is readied, so `next` is read first.
template <class W>
void ready_all(W* w) noexcept
{
    while (w) {
        W* next = w->next;
        ready(*w->g);
        w = next;
    }
}

} // namespace goro::detail
