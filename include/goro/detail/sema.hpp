// The runtime semaphore every goro sync primitive parks on (Go's sema.go):
// a count plus a queue of parked goroutines under one spinlock, FIFO except
// for waiters that ask for the front (Go's queueLifo, used by the mutex for
// a woken waiter that lost the race). The waiter record lives in the parked
// goroutine's frame, so waiting allocates nothing.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_list.hpp>

#include <coroutine>
#include <cstdint>
#include <mutex>

namespace goro::inline GORO_ABI::detail {

/// Every field is set before it is read: `parked` by the primitive before it
/// parks (its withdraw undoes what the primitive counted), the others when
/// acquire_or_park queues the waiter, after which they belong to the sema's
/// lock. A waiter embedded in an awaiter's slow-path state is therefore left
/// uninitialized by the fast path.
struct sema_waiter {
    parked_on parked;
    sema_waiter* prev;
    sema_waiter* next;
    goroutine* g;
    bool queued;
};

class sema {
public:
    /// Takes a unit if one is available (returns false: do not suspend);
    /// otherwise parks the running goroutine at `leaf` at the back of the
    /// queue, or at its front if `front` (returns true). `w` must stay alive
    /// until the goroutine resumes, and `w.parked` must name the primitive's
    /// withdraw function. Throws goro::panic outside a goroutine.
    GORO_API bool acquire_or_park(sema_waiter& w, std::coroutine_handle<> leaf, wait_reason why,
                                  bool front = false);
    /// Wakes up to `n` parked goroutines from the front of the queue; units
    /// nobody waits for are kept for later acquirers.
    GORO_API void release(std::uint32_t n) noexcept;
    /// Unlinks `w` if it is still queued (true); false if a release took it.
    /// For the primitives' withdraw functions.
    GORO_API bool withdraw(sema_waiter& w) noexcept;
    /// As withdraw(), but only if `undo()`, called under the sema's lock
    /// while `w` is still queued, agrees (it undoes the primitive's count);
    /// false if it does not: a release is on its way to `w`.
    template <class Undo>
    bool withdraw_if(sema_waiter& w, Undo undo) noexcept
    {
        std::lock_guard lock(lock_);
        if (!w.queued || !undo())
            return false;
        waiters_.unlink(w);
        return true;
    }

private:
    spinlock lock_;
    std::uint32_t count_ = 0;         // guarded by lock_
    wait_list<sema_waiter> waiters_; // guarded by lock_
};

} // namespace goro::detail
