// goro::rw_mutex: Go's sync.RWMutex.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/guard.hpp>
#include <goro/detail/sched.hpp>
#include <goro/detail/sema.hpp>
#include <goro/mutex.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>

namespace goro::inline GORO_ABI {

class rw_mutex;

namespace detail {

struct rw_access; // lib/sync/rw_mutex.cpp


/// A goroutine taking a goro::rw_mutex the slow way, in its awaiter. A writer
/// first takes the writers' mutex with `m` (whose hook is this waiter's),
/// then waits on `m.node` for the readers ahead of it to leave; a reader only
/// waits on `m.node` for the writer ahead of it. lib/sync/rw_mutex.cpp
/// describes the protocol. The fast path sets only `next` (to none, in the
/// awaiter's constructor); await_ready sets it whenever it returns false,
/// the slow path the rest.
struct rw_waiter {
    mutex_waiter m; // first member: m.hook is this waiter's resume hook
    rw_mutex* rw;
    /// What the wait still has to do; `none` once the lock is held (or was
    /// never waited for), which the awaiter's destructor checks.
    enum class step : std::uint8_t {
        none,
        // Set in await_ready for await_suspend, and kept while the writer
        // competes for the writers' mutex:
        yield,    // the budget ran out: yield, then lock when rescheduled
        lock,     // writer: the writers' mutex is taken; lock it the slow way
        announce, // writer: holds the writers' mutex, readers are in: announce and wait for them
        rlock,    // reader: a writer holds or waits: count ourselves and wait
        // Parked on a semaphore whose wake hands over the lock:
        wait_readers, // writer: announced, until the readers in leave
        wait_writer,  // reader: counted in, until the writer unlocks
    } next;
};

} // namespace detail

/// A reader/writer lock for goroutines: Go's sync.RWMutex. Any number of
/// readers or one writer hold it at a time.
///
/// `auto lk = co_await rw.lock();` (write) and `auto lk = co_await rw.rlock();`
/// (read) park the goroutine, never its worker thread, while they wait, and
/// return guards that unlock when they go out of scope. As in Go, a writer
/// that is waiting blocks new readers: a writer is not starved by a stream of
/// readers, and a goroutine that holds a read lock must not rlock again if a
/// writer may be waiting (it would deadlock). Writers queue on a goro::mutex,
/// so they get its fairness, starvation mode included. Readers waiting for a
/// writer are all let in when it unlocks, ahead of the next writer.
///
/// The zero state is unlocked; not copyable or movable (goroutines point into
/// it); not tied to a goroutine (any goroutine may unlock).
///
/// When a run ends, a goroutine that the lock let in but that never ran
/// gives back the lock it was given, one still waiting gives back nothing,
/// and guards in destroyed frames unlock as usual, so the next run finds the
/// rw_mutex consistent. A lock held outside any frame stays held.
class GORO_API rw_mutex {
public:
    /// Releases the write lock, letting in the readers that waited for it.
    /// Throws goro::panic ("goro::rw_mutex: unlock of unlocked rw_mutex"),
    /// changing nothing, if no writer holds it.
    void unlock();
    /// Releases one read lock; the last reader out lets a waiting writer in.
    /// Throws goro::panic ("goro::rw_mutex: runlock of unlocked rw_mutex"),
    /// changing nothing, if no reader holds it.
    void runlock();

    /// Owns the write lock; move-only, unlocks on destruction. `unlock()`
    /// early (goro::panic if it owns nothing), `release()`, `owns_lock()`,
    /// `get()` as for goro::mutex::guard.
    using write_guard = detail::basic_guard<rw_mutex, &rw_mutex::unlock>;
    /// Owns one read lock; as write_guard, with runlock().
    using read_guard = detail::basic_guard<rw_mutex, &rw_mutex::runlock>;

    struct [[nodiscard]] lock_awaiter {
        rw_mutex& rw;
        detail::rw_waiter w;

        explicit lock_awaiter(rw_mutex& m) noexcept : rw(m) { w.next = detail::rw_waiter::step::none; }
        /// Destroyed with its goroutine's frame mid-wait (the end of a run):
        /// gives back what the wait was given.
        ~lock_awaiter()
        {
            if (w.next != detail::rw_waiter::step::none) [[unlikely]]
                rw.abandon_write(w);
        }
        bool await_ready() noexcept { return rw.lock_fast(w); }
        bool await_suspend(std::coroutine_handle<> leaf) { return rw.lock_slow(w, leaf); }
        write_guard await_resume() const noexcept { return write_guard(rw, std::adopt_lock); }
    };

    struct [[nodiscard]] rlock_awaiter {
        rw_mutex& rw;
        detail::rw_waiter w;

        explicit rlock_awaiter(rw_mutex& m) noexcept : rw(m) { w.next = detail::rw_waiter::step::none; }
        /// As lock_awaiter's.
        ~rlock_awaiter()
        {
            if (w.next != detail::rw_waiter::step::none) [[unlikely]]
                rw.abandon_read(w);
        }
        bool await_ready() noexcept { return rw.rlock_fast(w); }
        bool await_suspend(std::coroutine_handle<> leaf) { return rw.rlock_slow(w, leaf); }
        read_guard await_resume() const noexcept { return read_guard(rw, std::adopt_lock); }
    };

    rw_mutex() noexcept = default;
    rw_mutex(const rw_mutex&) = delete;
    rw_mutex& operator=(const rw_mutex&) = delete;

    /// `co_await rw.lock()` returns a write_guard. It completes without
    /// suspending when no writer and no reader holds the lock, spending one
    /// unit of the cooperative budget (with none left the goroutine first
    /// yields, then locks when it runs again). Otherwise the goroutine parks
    /// until the other writers ahead of it and the readers that hold the lock
    /// are done, and resumes holding the write lock on whichever worker runs
    /// it next. Readers arriving meanwhile wait behind it. Throws goro::panic
    /// if it has to wait outside a goroutine.
    lock_awaiter lock() noexcept { return lock_awaiter(*this); }

    /// `co_await rw.rlock()` returns a read_guard. It completes without
    /// suspending unless a writer holds or waits for the lock (spending one
    /// unit of the budget, as lock() does); otherwise the goroutine parks until
    /// that writer unlocks. Throws goro::panic if it has to wait outside a
    /// goroutine.
    rlock_awaiter rlock() noexcept { return rlock_awaiter(*this); }

    /// Takes the write lock if nobody holds the lock (Go's TryLock). Never
    /// suspends.
    bool try_lock() noexcept;
    /// Takes a read lock if no writer holds or waits for the lock (Go's
    /// TryRLock). Never suspends.
    bool try_rlock() noexcept
    {
        std::int32_t c = reader_count_.load(std::memory_order_relaxed);
        while (c >= 0) {
            // acquire: pairs with the release of the last writer's unlock.
            if (reader_count_.compare_exchange_weak(c, c + 1, std::memory_order_acquire, std::memory_order_relaxed))
                return true;
        }
        return false;
    }

private:
    friend struct detail::rw_access;

    bool lock_fast(detail::rw_waiter& w) noexcept;
    bool lock_slow(detail::rw_waiter& w, std::coroutine_handle<> leaf);
    bool rlock_fast(detail::rw_waiter& w) noexcept
    {
        if (!detail::take_budget()) {
            w.next = detail::rw_waiter::step::yield;
            return false;
        }
        if (try_rlock())
            return true;
        w.next = detail::rw_waiter::step::rlock;
        return false;
    }
    bool rlock_slow(detail::rw_waiter& w, std::coroutine_handle<> leaf);
    /// The awaiters' destructors, mid-wait: see rw_mutex.cpp, "A waiter
    /// destroyed mid-wait".
    void abandon_write(detail::rw_waiter& w) noexcept;
    void abandon_read(detail::rw_waiter& w) noexcept;

    mutex w_;                                 // held by the writer, and by a writer waiting for readers
    std::atomic<std::int32_t> reader_count_{0}; // readers; minus max_readers while a writer holds or waits
    std::atomic<std::int32_t> reader_wait_{0};  // readers the waiting writer still waits for
    detail::sema writer_sem_;                   // the writer waits here for departing readers
    detail::sema reader_sem_;                   // readers wait here for the writer
};

} // namespace goro
