// goro::rw_mutex: Go's sync.RWMutex (rwmutex.go) on goro::mutex and two
// runtime semaphores.
//
// # State
//   w_            a goro::mutex every writer takes first: writers queue there,
//                 with the mutex's fairness and starvation mode.
//   reader_count_ readers holding or waiting for the lock; a writer that holds
//                 w_ subtracts max_readers, so a negative count tells readers
//                 "a writer holds or waits": they queue on reader_sem_.
//   reader_wait_  how many of the readers that held the lock when the writer
//                 announced itself have yet to leave.
//   writer_sem_   the announced writer waits here until reader_wait_ drops
//                 to zero; the last departing reader releases it.
//   reader_sem_   readers that arrived after the writer announced wait here;
//                 the writer's unlock releases one unit per such reader.
//
// # Protocol (Go's)
// rlock:   reader_count_ += 1; negative: wait on reader_sem_ (already counted:
//          the writer's unlock counts us and wakes us).
// runlock: reader_count_ -= 1; negative: a writer waits; reader_wait_ -= 1,
//          and the reader that brings it to zero releases writer_sem_.
// lock:    take w_; r = reader_count_, then reader_count_ -= max_readers
//          (one atomic RMW); if r != 0 and reader_wait_ += r is not zero,
//          wait on writer_sem_ for those r readers.
// unlock:  r = reader_count_ + max_readers (readers that queued meanwhile);
//          reader_count_ = r; release reader_sem_ r times; unlock w_.
// A writer therefore blocks readers from the moment it announces itself, and
// the readers it blocked all get in before the next writer, which is still
// queued on w_ until unlock releases it.
//
// # Fast paths and goroutine context
// rlock's fast path is try_rlock (a CAS from a non-negative count), so a
// reader that must wait has not been counted yet when await_suspend runs:
// outside a goroutine it panics having changed nothing. lock's fast path is
// w_'s fast path, then a CAS of reader_count_ from 0 to -max_readers (Go's
// TryLock); when readers are in, await_suspend announces the writer, so that
// too happens only inside a goroutine (outside one, w_ is unlocked again and
// the wait panics). A writer waiting for w_ parks with its resume hook as
// leaf (see lib/sync/mutex.cpp): once the hook holds w_ it announces the
// writer and, if readers are in, parks again on writer_sem_; that wake
// means the lock is ours, so the hook it resumes (resume_held, also a
// reader's after reader_sem_) only notes that and resumes the awaiting
// coroutine. After a yield for the budget the hook starts from the top (w_,
// or for a reader, counting in).
//
// # A waiter destroyed mid-wait
// The end of a run destroys every goroutine of the run (lib/sched/scheduler.cpp,
// "Stopping"), parked ones after withdrawing them, and a waiter's awaiter
// dies with its frame. The waiter's `next` says what the wait has done so
// far, and is `none` exactly when there is nothing to give back: the
// awaiter's constructor sets it (the fast path's one extra store), and
// whatever hands the lock to the awaiting coroutine -- lock_slow or
// rlock_slow returning false, a resume hook -- sets it again first.
//   - A writer parked on writer_sem_ (wait_readers) that the last reader
//     woke holds the write lock: abandon_write unlocks it. A reader parked
//     on reader_sem_ (wait_writer) that the writer's unlock woke holds a
//     read lock: abandon_read runlocks it. These two waits park with a hook
//     (resume_held) that sets `next` to none before resuming the coroutine,
//     and their withdraw functions set it to none, having undone the wait.
//   - A writer competing for w_ (yield, lock) is a mutex waiter: one that
//     w_ woke and that never ran gives back the wake (mutex::abandon_wait).
//   - Anything else changed nothing: a yield for the budget, or a wait that
//     panicked before it started.
//
// # Ordering
// rlock's CAS and fetch_add are acquire, pairing with the release RMW of the
// writer's unlock on reader_count_; runlock's RMWs are release, and the
// writer's announce is acq_rel, so a writer that finds no reader (or whom the
// last reader lets in through reader_wait_ / writer_sem_) sees their reads
// done. Waits through a semaphore are ordered by its spinlock and by ready().
//
// # Misuse
// unlock and runlock change reader_count_ only by CAS from a value that shows
// the lock held (negative for unlock; not 0 and not -max_readers for runlock:
// someone reads), so an unlock or runlock of an unlocked rw_mutex throws
// goro::panic and changes nothing. As in Go, a runlock by a goroutine that
// holds no read lock while other readers do cannot be told apart and is not
// detected.

#include "sync/mutex_impl.hpp"

#include "sync/resume_hook.hpp"

#include "sched/park.hpp"
#include <goro/panic.hpp>
#include <goro/rw_mutex.hpp>

#include <cstddef>

namespace goro::inline GORO_ABI {

namespace detail {

struct rw_access {
    static constexpr std::int32_t max_readers = 1 << 30;

    /// The writer, holding w_, makes readers queue and counts the readers that
    /// are in. Returns true if it must wait for them on writer_sem_.
    static bool announce(rw_mutex& rw) noexcept
    {
        // acq_rel: acquire pairs with departed readers' release.
        std::int32_t r = rw.reader_count_.fetch_sub(max_readers, std::memory_order_acq_rel);
        return r != 0 && rw.reader_wait_.fetch_add(r, std::memory_order_acq_rel) + r != 0;
    }

    static_assert(offsetof(rw_waiter, m) == 0, "a rw_waiter is found from its mutex_waiter");

    /// The waiter whose semaphore node is `n`.
    static rw_waiter& waiter_of_node(sema_waiter& n) noexcept
    {
        return reinterpret_cast<rw_waiter&>(mutex_access::waiter_of_node(n));
    }

    /// Parks `w` on `sem`, whose wake hands it the lock, as `waiting`
    /// (true); false if a unit was there already: `w` holds the lock.
    static bool park_for_handoff(rw_mutex& rw, sema& sem, rw_waiter& w, rw_waiter::step waiting,
                                 bool (*withdraw)(parked_on&) noexcept)
    {
        w.next = waiting; // before parking: the waiter is not ours once queued
        w.m.node.parked = {withdraw, &rw};
        if (sem.acquire_or_park(w.m.node, arm_hook(w.m.hook, &resume_held), wait_reason::sync_rw_mutex))
            return true;
        w.next = rw_waiter::step::none;
        return false;
    }

    /// Withdraws a waiter that park_for_handoff parked on `sem`, if no wake
    /// took it; its withdraw function undoes the rest.
    static bool unlink_handoff(sema& sem, parked_on& p) noexcept
    {
        sema_waiter& node = waiter_of<sema_waiter>(p);
        if (!sem.withdraw(node))
            return false;
        waiter_of_node(node).next = rw_waiter::step::none; // undone by the withdraw, not by its awaiter
        return true;
    }

    /// The writer holds w_: announces itself and parks on writer_sem_ until
    /// the readers in leave (true), or holds the write lock (false).
    static bool announce_and_wait(rw_mutex& rw, rw_waiter& w)
    {
        if (announce(rw))
            return park_for_handoff(rw, rw.writer_sem_, w, rw_waiter::step::wait_readers, &withdraw_writer);
        w.next = rw_waiter::step::none;
        return false;
    }

    /// Withdraws an announced writer waiting for readers to leave: undoes
    /// the announcement as unlock() would (the readers that queued behind it
    /// get in) and gives w_ back. The readers it waited for leave through
    /// runlock's fast path afterwards, so reader_wait_ starts from zero again.
    static bool withdraw_writer(parked_on& p) noexcept
    {
        auto& rw = *static_cast<rw_mutex*>(p.object);
        if (!unlink_handoff(rw.writer_sem_, p))
            return false;
        rw.reader_wait_.store(0, std::memory_order_relaxed);
        const std::int32_t waiting =
            rw.reader_count_.fetch_add(max_readers, std::memory_order_acq_rel) + max_readers;
        if (waiting > 0)
            rw.reader_sem_.release(std::uint32_t(waiting));
        rw.w_.unlock();
        return true;
    }

    /// Withdraws a reader queued behind a writer: it counted itself in, so it
    /// counts itself out, and the writer's unlock will not wake it.
    static bool withdraw_reader(parked_on& p) noexcept
    {
        auto& rw = *static_cast<rw_mutex*>(p.object);
        if (!unlink_handoff(rw.reader_sem_, p))
            return false;
        rw.reader_count_.fetch_sub(1, std::memory_order_relaxed); // relaxed: nobody is let in by this
        return true;
    }

    /// A reader counts itself in; if a writer holds or waits, parks on
    /// reader_sem_ (true) unless that writer already let it in (false).
    static bool rlock_or_park(rw_mutex& rw, rw_waiter& w)
    {
        // acquire: pairs with the release of the writer's unlock.
        if (rw.reader_count_.fetch_add(1, std::memory_order_acquire) + 1 < 0)
            return park_for_handoff(rw, rw.reader_sem_, w, rw_waiter::step::wait_writer, &withdraw_reader);
        w.next = rw_waiter::step::none;
        return false;
    }

    /// The hook of a waiter woken from writer_sem_ or reader_sem_: the wake
    /// handed it the lock.
    static void resume_held(void* hook) noexcept
    {
        auto& w = *static_cast<rw_waiter*>(hook);
        w.next = rw_waiter::step::none;
        std::coroutine_handle<> user = w.m.user;
        user.resume();
    }

    /// The writer's resume hook: after a yield or a wake by w_'s semaphore.
    static void resume_writer(void* hook) noexcept
    {
        auto& w = *static_cast<rw_waiter*>(hook);
        rw_mutex& rw = *w.rw;
        if (mutex_access::lock_loop(rw.w_, w.m))
            return; // parked on w_ again
        if (announce_and_wait(rw, w))
            return; // parked until the last reader leaves
        std::coroutine_handle<> user = w.m.user;
        user.resume();
    }

    /// The reader's resume hook, after a yield for the budget.
    static void resume_reader(void* hook) noexcept
    {
        auto& w = *static_cast<rw_waiter*>(hook);
        if (rlock_or_park(*w.rw, w))
            return;
        std::coroutine_handle<> user = w.m.user;
        user.resume();
    }
};

} // namespace detail

using detail::mutex_access;
using detail::rw_access;
using step = detail::rw_waiter::step;

bool rw_mutex::lock_fast(detail::rw_waiter& w) noexcept
{
    if (!detail::spend_budget_here()) {
        w.next = step::yield;
        return false;
    }
    if (!w_.try_lock()) {
        w.next = step::lock;
        return false;
    }
    std::int32_t none = 0;
    // acq_rel: acquire pairs with departed readers' release.
    if (reader_count_.compare_exchange_strong(none, -rw_access::max_readers, std::memory_order_acq_rel,
                                              std::memory_order_relaxed))
        return true;
    w.next = step::announce; // readers are in: announce and wait, inside a goroutine
    return false;
}

bool rw_mutex::lock_slow(detail::rw_waiter& w, std::coroutine_handle<> leaf)
{
    if (!detail::current_g()) {
        if (w.next == step::announce)
            w_.unlock(); // taken in await_ready; nothing else changed
        w.next = step::none; // nothing for the awaiter to give back
        detail::running_g("goro::rw_mutex::lock");
    }
    w.rw = this;
    std::coroutine_handle<> hook = mutex_access::prepare(w_, w.m, leaf, &rw_access::resume_writer);
    switch (w.next) {
    case step::yield:
        detail::yield_now(hook);
        return true;
    case step::lock:
        if (mutex_access::lock_loop(w_, w.m))
            return true;
        break;
    default: // step::announce
        break;
    }
    return rw_access::announce_and_wait(*this, w);
}

bool rw_mutex::rlock_slow(detail::rw_waiter& w, std::coroutine_handle<> leaf)
{
    detail::running_g("goro::rw_mutex::rlock"); // nothing counted yet
    w.rw = this;
    w.m.user = leaf;
    if (w.next == step::yield) {
        detail::yield_now(detail::arm_hook(w.m.hook, &rw_access::resume_reader));
        return true;
    }
    return rw_access::rlock_or_park(*this, w);
}

void rw_mutex::abandon_write(detail::rw_waiter& w) noexcept
{
    if (w.next == step::wait_readers)
        unlock(); // the last reader let us in: we hold the write lock
    else if (w.m.sema_woke)
        mutex_access::abandon_wait(w_, w.m);
}

void rw_mutex::abandon_read(detail::rw_waiter& w) noexcept
{
    if (w.next == step::wait_writer)
        runlock(); // the writer's unlock let us in: we hold a read lock
}

bool rw_mutex::try_lock() noexcept
{
    if (!w_.try_lock())
        return false;
    std::int32_t none = 0;
    // acq_rel: acquire pairs with departed readers' release.
    if (reader_count_.compare_exchange_strong(none, -rw_access::max_readers, std::memory_order_acq_rel,
                                              std::memory_order_relaxed))
        return true;
    w_.unlock();
    return false;
}

void rw_mutex::unlock()
{
    std::int32_t c = reader_count_.load(std::memory_order_relaxed);
    do {
        if (c >= 0)
            throw panic("goro::rw_mutex: unlock of unlocked rw_mutex");
        // release: publishes the writer's critical section to the readers it lets in.
    } while (!reader_count_.compare_exchange_weak(c, c + rw_access::max_readers, std::memory_order_release,
                                                  std::memory_order_relaxed));
    const std::int32_t waiting = c + rw_access::max_readers; // readers that queued behind us
    if (waiting > 0)
        reader_sem_.release(std::uint32_t(waiting));
    w_.unlock();
}

void rw_mutex::runlock()
{
    std::int32_t c = reader_count_.load(std::memory_order_relaxed);
    do {
        if (c == 0 || c == -rw_access::max_readers)
            throw panic("goro::rw_mutex: runlock of unlocked rw_mutex");
        // release: publishes the reader's reads to the writer it may let in.
    } while (!reader_count_.compare_exchange_weak(c, c - 1, std::memory_order_release, std::memory_order_relaxed));
    if (c - 1 < 0 && reader_wait_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        writer_sem_.release(1); // the last reader the writer waited for
}

} // namespace goro
