// The epoll backend of poller (lib/netpoll/poller.hpp, which holds the
// poller's design), for processes where the probe rejected io_uring: one
// epoll per scheduler that holds every fd, and a P's own epoll that holds
// only its doorbell.
//
// # The shared epoll (Go's shape)
// Every fd is registered, edge-triggered, in one epoll per scheduler
// (shared_epoll), and any P may harvest it: a readiness event is reported
// by whichever P gets it first, and the goroutine it readies goes to that
// P's queue, as a completion's does. At most one idle P at a time, the one
// holding the duty, blocks in the shared epoll itself; the other idle Ps
// block in their own epoll, which holds only their doorbell. A P that polls
// without blocking (a P that ran dry, a deadline already passed) asks the
// shared epoll directly: one system call, as Go's netpoll(0).
//   duty:   wait() claims it with a CAS null -> this on shared_epoll::duty_
//           and releases it (store null) before it returns; both seq_cst.
//           It is held only inside wait(), so a P running goroutines never
//           holds it.
//   doorbell: while the duty P sleeps in the shared epoll, its doorbell's
//           ring() writes the shared epoll's break eventfd (ring_via), which
//           is registered there level-triggered. Only the duty P drains it:
//           a poller that drained it could take the only event that was to
//           wake the duty P, whose epoll_wait would then sleep on. A poll
//           that finds it skips it. A break left over from a wake that came
//           as the duty P woke anyway wakes the next duty P once, which
//           drains it and sleeps again; a ring that lands on the P's own
//           eventfd after it switched back is absorbed the same way there.
//   hand-over: a duty P that leaves its idle wait for work releases the
//           duty; the scheduler then rings an idle P (scheduler.cpp, "The
//           epoll duty"), which wakes from its own epoll, finds itself still
//           idle, waits again and claims the duty. The scheduler's seq_cst
//           idle count, incremented before an idle P's claim and loaded
//           after the release, is the other half of that Dekker pair: either
//           the claim finds the duty free, or the releaser sees the P idle.
// A P that stands alone (the netpoll suite's pollers, the probe) owns a
// shared epoll of its own and always holds the duty.
//
// Measured against per-P epolls, each fd in the epoll of the P where it
// first waited (tools/bench epoll_pingpong on the branch epoll-shared: N
// socketpairs, two goroutines per pair bouncing one byte; 2-vCPU VM, kernel
// 6.18, two batches of 7 and 9 alternating runs, medians per round trip):
//   - a goroutine that never suspends on the P that registered the fds
//     ("imbalance", 2 Ps) strands their readiness there: per-P reports it
//     only when that P polls, so a round trip waited until the spinner
//     happened to move: each run's worst round trip 0.8-3.2 s, 11-184 us
//     per round trip. Shared: 2.7-3.2 us per round trip, worst 0.2-4 ms.
//   - 1 P: the same (x0.95-1.06). 2 Ps, 8 and 64 pairs: shared ahead
//     (x0.78-0.94), but where each goroutine registered its own fd and
//     per-P's affinity happened to split 64 pairs evenly (1.6-2.2 us in
//     half the runs, 3.4-6.0 in the others; shared a steady 2.6-3.0).
//   - one lone pair at 2 Ps: per-P 3.0-3.1 us, shared 4.3-4.5 us (+45%):
//     per-P keeps both goroutines on the registering P while the other P
//     sleeps untouched; the shared epoll wakes the idle duty P on every
//     event (a cross-vCPU wake-up each time).
// Rejected: per-P epolls (the stranding above, for seconds, while other Ps
// sit idle); every P's epoll watching the shared epoll, nested and
// edge-triggered (every idle P woken by every event; 2-17% slower at 1 P,
// the kernel's nested wake-up callbacks, and behind the duty design in
// every configuration measured). Not measured: more than 2 Ps, where the
// hand-over's ring and the single break fd matter more.
#pragma once

#include <goro/config.hpp>

#include "netpoll/completion.hpp"
#include "netpoll/wake.hpp"

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

namespace goro::inline GORO_ABI::detail {

class epoll_poller;

/// One scheduler's epoll: every fd registration, and the duty of blocking
/// in it (see the top comment).
class shared_epoll {
public:
    /// The epoll and its break eventfd. Throws std::system_error when the
    /// kernel refuses (fds, memory).
    shared_epoll();
    ~shared_epoll();
    shared_epoll(const shared_epoll&) = delete;
    shared_epoll& operator=(const shared_epoll&) = delete;

    /// Any thread. Registers `fd` edge-triggered for `events`, reported with
    /// data `key`, until remove(). Returns 0 or -errno.
    int add(int fd, std::uint32_t events, std::uint64_t key) noexcept;
    /// Any thread. Ends `fd`'s registration (before the fd is closed).
    /// Returns 0 or -errno.
    int remove(int fd) noexcept;

    /// Any thread. Whether no poller holds the duty now (seq_cst: the
    /// scheduler's hand-over loads it after a release; see the top comment).
    bool duty_free() const noexcept { return duty_.load(std::memory_order_seq_cst) == nullptr; }

    /// Goroutines parked waiting for readiness of fds registered here, kept
    /// by the layer above (any thread): whether a P that ran dry should
    /// poll. A hint, relaxed.
    alignas(64) std::atomic<std::int64_t> readiness_waiters{0};

private:
    friend class epoll_poller;

    // Immutable.
    int epoll_fd_ = -1;
    int break_fd_ = -1; // the duty P's doorbell while it sleeps here

    alignas(64) std::atomic<epoll_poller*> duty_{nullptr}; // the poller blocked in epoll_fd_, if any
};

class epoll_poller {
public:
    /// A P's epoll with its doorbell, on `shared` (which outlives it), or
    /// with a shared epoll of its own (nullptr). Throws std::system_error
    /// when the kernel refuses (fds, memory).
    explicit epoll_poller(shared_epoll* shared = nullptr);
    ~epoll_poller();
    epoll_poller(const epoll_poller&) = delete;
    epoll_poller& operator=(const epoll_poller&) = delete;

    /// poller::wait: blocks in the shared epoll if it can claim the duty,
    /// else in its own epoll (the doorbell only); a poll asks the shared
    /// epoll.
    std::size_t wait(std::int64_t deadline_ns, std::span<completion> out);
    /// poller::wake.
    void wake() noexcept;
    /// poller::nop: epoll has no such operation, so it completes in the
    /// poller itself, as every operation that finishes at submission does.
    void nop(std::uint64_t key);
    /// poller::watch_readable: an edge-triggered registration in the shared
    /// epoll, so each time the fd becomes readable it is reported once.
    void watch_readable(int fd, std::uint64_t key);
    /// poller::unwatch.
    void unwatch(int fd, std::uint64_t key);

    /// Owner. Whether the last wait() held the duty (released since): a P
    /// that leaves its idle wait after one hands the duty over.
    bool held_duty() const noexcept { return held_duty_; }

    /// Where fds are registered (any thread).
    shared_epoll& shared() const noexcept { return *shared_; }

    /// poller::maybe_ready: completions decided at submission, or a harvest
    /// that filled its buffer (the rest is still in the shared epoll); else
    /// only the kernel knows.
    bool maybe_ready() const noexcept { return !local_.empty() || harvest_again_; }

    /// How many wake() calls rang the doorbell.
    std::uint64_t doorbell_rings() const noexcept { return doorbell_.rings(); }

private:
    std::size_t sleep_in(int epoll_fd, bool on_duty, std::int64_t deadline_ns, std::span<completion> out);
    std::size_t harvest(std::span<completion> out);
    int wait_kernel(int epoll_fd, std::int64_t timeout_ns, int max_events) noexcept;

    // Immutable.
    int epoll_fd_ = -1; // holds only the doorbell
    std::unique_ptr<shared_epoll> own_shared_; // a poller that stands alone
    shared_epoll* shared_ = nullptr;           // *own_shared_ or the scheduler's

    // Owner only.
    bool harvest_again_ = false; // the last harvest filled its buffer
    bool held_duty_ = false;     // the last wait() held the duty
    completion_queue local_; // completions decided at submission
    std::array<epoll_event, 64> events_;

    // Shared with wakers.
    doorbell doorbell_;
};

} // namespace goro::detail
