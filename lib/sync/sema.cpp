// The runtime semaphore (include/goro/detail/sema.hpp), and the destroy
// entry of resume hooks (include/goro/detail/resume_hook.hpp).
//
// Invariant: count_ > 0 implies the waiter list is empty (a release with
// waiters hands the unit straight to the one at the front: the oldest, unless
// a waiter asked for the front). A parked goroutine's
// sema_waiter is touched only under lock_, and by the releaser after it
// unlinked it; the releaser reads w->g before readying it, because the moment
// the G is runnable its frame (and the waiter in it) may be freed.

#include "base/fatal.hpp"
#include "sched/park.hpp"
#include "sync/resume_hook.hpp"

#include <goro/detail/sema.hpp>

#include <mutex>

namespace goro::inline GORO_ABI::detail {

void resume_hook_destroyed(void*) noexcept
{
    fatal("sync: a goroutine's resume hook was destroyed (a leaf is never destroyed)");
}

bool sema::acquire_or_park(sema_waiter& w, std::coroutine_handle<> leaf, wait_reason why, bool front)
{
    goroutine& g = running_g("goro: waiting on a sync primitive");
    std::unique_lock lock(lock_);
    if (count_ > 0) {
        --count_;
        return false;
    }
    return park(g, leaf, why, &w.parked, [&] {
        w.g = &g;
        if (front)
            waiters_.push_front(w);
        else
            waiters_.push_back(w);
        lock.unlock();
        return true;
    });
}

bool sema::withdraw(sema_waiter& w) noexcept
{
    std::lock_guard lock(lock_);
    return waiters_.remove(w);
}

void sema::release(std::uint32_t n) noexcept
{
    sema_waiter* woken = nullptr; // the first n waiters, still linked in queue order
    {
        std::lock_guard lock(lock_);
        woken = waiters_.pop_front_while([&n](sema_waiter&) {
            if (n == 0)
                return false;
            --n;
            return true;
        });
        count_ += n;
    }
    ready_all(woken);
}

} // namespace goro::detail
