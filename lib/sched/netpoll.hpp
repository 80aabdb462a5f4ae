// A P's netpoller: the poller its worker waits in when idle, the keys of the
// operations in flight on it, and the dispatch of their completions.
//
// # Where rings live
// Each P has a poller (lib/netpoll/poller.hpp), built by its worker thread
// when the run starts and used only by that thread: io_uring's SINGLE_ISSUER
// and DEFER_TASKRUN tie a ring to the thread that submits to it, and in goro
// a P and its worker thread (M) are bound for the whole run, so "the P's
// ring" and "the M's ring" are the same ring. docs/design.md ("Where rings
// live") says what this costs when Ms and Ps come apart for handoff.
//
// An operation is submitted on the ring of the P its goroutine runs on, and
// its completions are reaped by that P's worker, which readies the goroutine
// (on its own run queue; it may be stolen from there). The goroutine may
// therefore be resumed on another P than the one whose ring holds its
// operation: it never submits to that ring again (a cancel, say) but asks
// the owner to (see io.hpp, "Cancellation").
//
// # When the owner reaps
//  - Idle: a P with nothing to run waits in its poller, with the nearest
//    timer as the deadline; a wake (another P has work for it, the run
//    stops) ends the wait through the poller's doorbell. This replaced the
//    futex parker: one place to sleep, so a completion and a wake both end
//    it.
//  - Busy: find_runnable polls without blocking when the local queue is
//    empty, and every 61 ticks with the global queue check, but only when
//    the P has operations in flight and the poller may have something
//    (io_uring answers from shared memory, without a system call).
// A P that runs one goroutine for a long time reaps nothing meanwhile: its
// operations' completions wait in its ring, since an idle P cannot reach
// another P's ring. The cooperative budget bounds how long that is for
// goroutines that await.
//
// # epoll: one shared epoll
// On epoll the rings' constraint is absent (any thread may wait on any
// epoll), so readiness is not tied to a P: every fd is registered in the
// scheduler's shared epoll, which one idle P at a time blocks in (the
// duty), and any P that polls harvests it; a P's own epoll holds only its
// doorbell (lib/netpoll/epoll_poller.hpp, "The shared epoll", with the
// measurements). A P that ran dry polls it while any goroutine waits for
// readiness (the scheduler-wide count, shared_epoll::readiness_waiters). A
// duty P that leaves its idle wait hands the duty to another idle P
// (scheduler.cpp, "The epoll duty").
//
// # Stopping
// A worker that leaves its loop for good cancels every operation in flight
// on its ring and reaps until each has had its final completion, readying
// their goroutines into the local queue, where the drain finds them (an fd
// such a completion returns is closed: see ring_op::result_is_fd). Only
// then may frames be destroyed: the kernel writes into buffers in them until
// that final completion. Then the poller is retired (io_uring's registered
// ring fd leaves the worker's thread) and stays alive, for late wakers,
// until the scheduler is destroyed.
#pragma once

#include <goro/config.hpp>

#include "netpoll/key.hpp"
#include "netpoll/poller.hpp"

#include <goro_build_config.hpp>

#include <goro/detail/goroutine.hpp>
#include <goro/detail/spinlock.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>
#include <span>

namespace goro::inline GORO_ABI::detail {

/// An operation in flight on a P's poller; it lives in the awaiter of the
/// goroutine that waits for it (sched/io.hpp builds on this).
struct io_op {
    /// Runs on the owner P's thread for each completion of the operation.
    /// Returns the goroutine to ready, or nullptr. For the last completion
    /// (c.more clear) the key was already released; the runtime never
    /// touches the operation after this returns.
    goroutine* (*complete)(io_op& op, const completion& c) noexcept;
};

/// Submission-queue entries of a P's ring (the build's netpoll_sq_entries).
inline constexpr unsigned netpoll_sq_entries = GORO_NETPOLL_SQ_ENTRIES;

class p_netpoll {
public:
    /// Owner, when its worker starts: builds the poller on this thread; on
    /// epoll it registers fds in `epoll_set`, the scheduler's, which
    /// outlives it. Throws std::system_error when the kernel refuses (fds,
    /// memory).
    void start(const netpoll_choice& choice, unsigned sq_entries, shared_epoll* epoll_set);

    /// Owner, when its worker leaves for good: cancels what is in flight,
    /// reaps every final completion (the goroutines readied go to `readied`),
    /// and retires the poller (see "Stopping").
    template <class Readied>
    void stop(Readied&& readied);

    /// Any thread: ends the owner's current or next wait. Before start(),
    /// a no-op: a worker looks for work before it ever waits. `from` is the
    /// caller's own P's netpoller, if the caller is a worker (nullptr
    /// otherwise): between its start() and stop() an owner asleep is rung
    /// from its ring (MSG_RING, where the doorbell is msg_ring), else by
    /// the eventfd (poller.hpp, "Wake").
    void wake(p_netpoll* from = nullptr) noexcept
    {
        if (poller* p = wakeable_.load(std::memory_order_acquire)) { // acquire: pairs with start()'s release
            if (from && from->sending_)
                p->wake_from(*from->poller_);
            else
                p->wake();
        }
    }

    /// Owner. Waits for completions, a wake, or `deadline_ns` (< 0: none;
    /// passed: only polls), dispatches the completions and stores the
    /// goroutines they ready in `out`. Returns how many (0 for a wake or the
    /// deadline). `out` must hold at least batch goroutines.
    static constexpr std::size_t batch = 64;
    std::size_t wait(std::int64_t deadline_ns, std::span<goroutine*> out);

    /// Owner. Whether a non-blocking wait() is worth making. io_uring:
    /// operations are in flight and the rings show something (no system
    /// call). epoll: something was decided at submission, the last poll
    /// filled its buffer, or the P just ran dry (`dry`) while goroutines
    /// wait for readiness of any fd (then epoll_wait's system call is worth
    /// it).
    bool worth_polling(bool dry) const noexcept
    {
        if (poller_->backend() == backend_kind::uring)
            return keys_.live() != 0 && (poller_->maybe_ready() || cancels_pending_.load(std::memory_order_relaxed));
        // relaxed: a hint; a waiter missed here is found by the P's next look
        // or its blocking wait.
        return poller_->maybe_ready() ||
               (dry && poller_->epoll()->shared().readiness_waiters.load(std::memory_order_relaxed) != 0);
    }

    /// Owner. epoll: whether the last wait() blocked in the shared epoll on
    /// its duty (then a P leaving its idle wait hands the duty over).
    bool waited_on_epoll_duty() noexcept
    {
        epoll_poller* ep = poller_->epoll();
        return ep && ep->held_duty();
    }

    /// Any thread: asks the owner to cancel the operation `key` on its ring
    /// before it next polls or waits (io.hpp, "Cancellation").
    void request_cancel(std::uint64_t key);

    /// Owner. Hands queued submissions to the kernel.
    void flush() { poller_->flush(); }

    /// Owner. Whether stop() is reaping: goroutines readied now will never
    /// run, so what a completion hands them (an fd) must be released.
    bool stopping() const noexcept { return stopping_; }

    /// Owner. The poller, for submitting (sched/io.hpp).
    poller& get() noexcept { return *poller_; }
    key_table& keys() noexcept { return keys_; }

private:
    void submit_cancels();

    // Owner only (but wakeable_, which wakers read).
    std::optional<poller> poller_;
    key_table keys_;
    std::array<completion, batch> completions_;
    std::vector<std::uint64_t> cancels_taken_;
    bool stopping_ = false;
    std::atomic<poller*> wakeable_{nullptr};
    bool sending_ = false; // the poller may ring others (started, not stopping)

    // Cancels asked for by other threads.
    spinlock cancels_mu_;
    std::vector<std::uint64_t> cancels_; // guarded by cancels_mu_
    std::atomic<bool> cancels_pending_{false}; // == !cancels_.empty(), a hint for the owner
};

template <class Readied>
void p_netpoll::stop(Readied&& readied)
{
    if (!poller_)
        return;
    stopping_ = true;
    sending_ = false; // wakes from here on use the eventfd: the ring retires below
    keys_.for_each([&](std::uint64_t key) { poller_->cancel(key); });
    std::array<goroutine*, batch> gs;
    while (keys_.live() != 0) {
        std::size_t n = wait(-1, gs);
        for (std::size_t i = 0; i < n; ++i)
            readied(*gs[i]);
    }
    poller_->retire();
}

} // namespace goro::detail
