// An intrusive FIFO of parked goroutines' waiter records, for the wait queues
// of the sync primitives. Each waiter lives in its goroutine's frame and has
// `W* next` and `goroutine* g` members; the list is guarded by the owner's
// spinlock. Waking is two steps: unlink under the lock, then ready_all()
// after dropping it.
#pragma once

#include <goro/detail/sched.hpp>

namespace goro::detail {

template <class W>
struct wait_list {
    W* head = nullptr;
    W* tail = nullptr;

    bool empty() const noexcept { return head == nullptr; }

    void push_back(W& w) noexcept
    {
        w.next = nullptr;
        if (tail)
            tail->next = &w;
        else
            head = &w;
        tail = &w;
    }

    void push_front(W& w) noexcept
    {
        w.next = head;
        head = &w;
        if (!tail)
            tail = &w;
    }

    /// Unlinks `w`, whose predecessor in the list is `prev` (nullptr: the head).
    void unlink(W* prev, W& w) noexcept
    {
        (prev ? prev->next : head) = w.next;
        if (tail == &w)
            tail = prev;
    }

    /// Unlinks the leading waiters for which `take(w)` is true, stopping at the
    /// first for which it is false; returns them as a chain in queue order.
    template <class Take>
    W* pop_front_while(Take take) noexcept
    {
        W* first = head;
        W* last = nullptr;
        while (head && take(*head)) {
            last = head;
            head = head->next;
        }
        if (!last)
            return nullptr;
        last->next = nullptr;
        if (!head)
            tail = nullptr;
        return first;
    }

    /// Unlinks every waiter; returns them as a chain in queue order.
    W* take_all() noexcept
    {
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
