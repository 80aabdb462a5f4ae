// The netpoller's per-P poller: where an idle worker will block, and how the
// kernel tells it that I/O finished.
//
// lib/netpoll is the layer between base and sched; the scheduler's side (an
// idle P waits in its poller, completions ready goroutines) is
// lib/sched/netpoll.hpp. Here are the choice of backend (probe.hpp: the io_uring probe, its flag
// ladder and what selects epoll) and this poller, one per P, on either
// backend behind one interface: a tagged choice (std::variant), not virtual
// calls, and backend-specific work stays in uring_poller and epoll_poller.
// On io_uring each P's poller is a ring of its own; on epoll every fd is
// registered in one epoll per scheduler (shared_epoll), which one idle P at
// a time blocks in, and a P's own epoll holds only its doorbell
// (epoll_poller.hpp, "The shared epoll").
//
// # Ownership
// A poller belongs to the thread that constructs it, its owner: with
// SINGLE_ISSUER only that thread may submit to the ring, and the registered
// ring fd lives in that thread's table. The owner calls everything but
// wake(), and destroys it; wake() may come from any thread while it lives.
//
// # Operations and keys
// Every operation carries a 64-bit key that each of its completions returns.
// A key names one operation for its whole life, from submission to its last
// completion, and no other operation has it meanwhile. Keys come from a
// key_table (key.hpp): a slot for the operation's record plus the slot's
// generation, which advances when the slot is freed. Why: a cancel (io_uring
// ASYNC_CANCEL, POLL_REMOVE) finds its target by key. Were keys slot indices
// or record addresses, a cancel aimed at an operation that just finished
// could hit the next operation given the same slot; with generations it finds
// nothing (-ENOENT), and key_table::find turns a stale key away. Bit 63 marks
// the poller's own operations (the doorbell, a watch's removal): the poller
// consumes their completions and never returns them, and key_table never
// issues such a key.
//
// An operation may complete several times: a watch does, and so will
// multishot accept and receive. Each completion but the last has `more` set;
// the last has it clear, and only then may the key be released. The last one
// can come unasked: the kernel ends a multishot operation whose completion it
// cannot post (CQ overflow), so its owner re-arms it if it still wants it.
//
// # Submissions
// Operations are queued and reach the kernel when wait() blocks or polls, or
// at flush(): a batch per trip into the kernel. A full SQ is handed to the
// kernel and the request retried, never dropped (a dropped cancel leaves its
// goroutine waiting forever). When the kernel refuses submissions until its
// completions are reaped (-EBUSY, -EAGAIN), the poller moves the CQ into its
// own backlog, which the next wait() returns first, and retries. epoll
// operations act at once (epoll_ctl on the shared epoll); one that completes
// there (a nop, a refused registration, a removal) is queued in the poller
// for the next wait().
//
// # Completions
// The CQ has four entries for each SQ entry. When it overflows anyway, the
// kernel (IORING_FEAT_NODROP, which the probe requires) backs the extra
// completions up and raises IORING_SQ_CQ_OVERFLOW; reaping empties the CQ,
// has the kernel move its backlog in (io_uring_get_events), and goes on
// until the flag is clear or the caller's buffer is full. What does not fit
// the buffer stays in the CQ for the next wait(). A completion the kernel
// could not back up (cq.koverflow, or -EBADR from io_uring_enter) is lost
// for good, and some goroutine would wait forever: fatal. epoll has no queue
// to overflow: events that do not fit the buffer stay ready in the kernel.
//
// # Wake
// wake() may come from any thread and must cost one atomic exchange, no
// system call, when the owner is not asleep. The wake word (class doorbell,
// wake.hpp) has three states: idle, sleeping, notified.
//   waker:  exchange(notified, release); if the old state was sleeping,
//           write 1 to the doorbell, an eventfd.
//   owner:  before blocking, CAS idle -> sleeping; if it finds notified, it
//           takes it (exchange(idle, acquire)) and returns instead. After
//           blocking, exchange(idle, acquire); if that finds notified, the
//           wait ends as woken.
// Every step is an RMW of the one word, so the steps are totally ordered:
// either the waker's exchange comes first and the owner's CAS finds
// notified, or the CAS comes first and the waker finds sleeping and rings.
// No wake is lost and no StoreLoad fence is needed. The owner's acquire
// exchange reads the last notifier's write, and RMWs continue release
// sequences, so everything any waker wrote before its wake() is visible once
// wait() returns. Wakes coalesce: many before the owner looks are one. A
// doorbell rung just as the owner woke for another reason is stale; wait()
// absorbs it and sleeps again.
//   io_uring: the doorbell is a multishot poll on the eventfd. It stays armed
//     across wakes (no submission per wake, no buffer for the kernel to write
//     into at teardown); when the kernel ends it (CQ overflow) the reaper
//     drains the eventfd and arms it again.
//   io_uring, MSG_RING (GORO_DOORBELL=msg_ring, probe.hpp): a waker that owns
//     a ring (another P's worker, through wake_from(its poller)) rings an
//     owner asleep with IORING_OP_MSG_RING from its own ring: SINGLE_ISSUER
//     lets only a ring's owner submit to it, so the waker cannot post into
//     the sleeper's ring any other way. The MSG_RING posts a completion with
//     an internal key on the sleeper's ring (its wait ends; the wake word
//     says why) and none on the waker's (IOSQE_CQE_SKIP_SUCCESS) unless it
//     failed; then the waker rings the eventfd instead when it next reaps
//     (-EOWNERDEAD: the sleeper's thread is gone). The io_uring_enter that
//     submits it also submits what the waker had queued. A thread without a
//     ring (a foreign thread, the blocking pool, the drain), a waker whose
//     last queued SQE waits for its linked timeout (the MSG_RING would join
//     the chain), and a kernel without MSG_RING (probe's msg_ring) write the
//     eventfd, which stays armed either way. Same wake word, same protocol:
//     one exchange, no system call while the owner is awake.
//   Measured (tools/bench/wake_latency, 2 Ps, a 2-vCPU VM, kernel 6.18; two
//     batches of 9 runs alternating the variants, medians): from readying a
//     goroutine to it running on the other, parked P, eventfd 31.2 and
//     32.4 us, MSG_RING 32.9 and 31.2 us: a tie within the VM's noise (Go
//     1.19: 40.6 and 41.8 us). The waker's send that rings: eventfd 12.8 and
//     12.9 us, MSG_RING 13.8 and 12.9 us. Either way the waker's one system
//     call wakes the sleeping thread inside it (the kernel waking an idle
//     vCPU is most of both figures): a MSG_RING from a DEFER_TASKRUN ring
//     completes inline, its completion posted by the submitting
//     io_uring_enter itself (200 of 200), at an eventfd write's cost. The
//     receiver saves nothing measurable either: the eventfd's multishot
//     poll is never re-armed or read. chan_pingpong and select at 2 Ps did
//     not move (91.7/87.6 vs 91.6/87.4 ns, 92.7/89.4 vs 94.7/90.1 ns). So
//     the eventfd stays the default (default_doorbell): no slower, and
//     simpler (no submission on the waker's ring, no failure path); MSG_RING
//     stays, selectable, as the measured alternative.
//   epoll: the eventfd is registered level-triggered in the P's own epoll
//     and read when reported; while the P sleeps in the shared epoll on its
//     duty, ring() writes that epoll's break eventfd instead
//     (epoll_poller.hpp, "The shared epoll").
//
// # Deadlines
// wait()'s deadline is absolute CLOCK_MONOTONIC (base/clock.hpp); the
// kernels take relative timeouts, so wait() converts, and returns for the
// deadline only once monotonic_ns() has reached it: a timeout the kernel
// ends early, or epoll_wait's millisecond rounding, just waits again.
#pragma once

#include <goro/config.hpp>

#include "netpoll/completion.hpp"
#include "netpoll/epoll_poller.hpp"
#include "netpoll/probe.hpp"
#include "netpoll/uring_poller.hpp"

#include <cstdint>
#include <span>
#include <variant>

namespace goro::inline GORO_ABI::detail {

class poller {
public:
    /// On the thread that will own it: a poller on `choice`'s backend
    /// (netpoll_backend() in a runtime). `sq_entries` sizes an io_uring's SQ
    /// (tests make it tiny); epoll has nothing to size. An epoll poller
    /// registers fds in `epoll_set` (the scheduler's, which outlives it), or
    /// in a shared epoll of its own (nullptr: a poller that stands alone).
    /// Throws std::system_error when the kernel refuses (fds, memory).
    explicit poller(const netpoll_choice& choice, unsigned sq_entries = default_sq_entries,
                    shared_epoll* epoll_set = nullptr);

    backend_kind backend() const noexcept
    {
        return std::holds_alternative<uring_poller>(impl_) ? backend_kind::uring : backend_kind::epoll;
    }

    /// Owner. Blocks until at least one completion is ready, a wake() comes,
    /// or `deadline_ns` (CLOCK_MONOTONIC; < 0: none) passes; a deadline
    /// already passed only polls. Returns how many completions it put in
    /// `out` (not empty), 0 for a wake or the deadline; never returns 0
    /// early for any other reason. Also submits what is queued.
    std::size_t wait(std::int64_t deadline_ns, std::span<completion> out)
    {
        return std::visit([&](auto& p) { return p.wait(deadline_ns, out); }, impl_);
    }

    /// Any thread. The owner's current or next wait() returns; what the
    /// caller wrote before is visible to the owner then.
    void wake() noexcept
    {
        std::visit([](auto& p) { p.wake(); }, impl_);
    }

    /// On the thread that owns `from` (a poller that is not retired): as
    /// wake(), but when both are io_uring pollers and `from` sends MSG_RING
    /// wakes (netpoll_choice::doorbell), an owner asleep is rung with a
    /// MSG_RING from `from`'s ring, which submits what `from` has queued
    /// with it. `from` must not be holding a half-prepared SQE; and this
    /// poller must outlive `from`'s next wait(), which may find the MSG_RING
    /// failed and ring this poller's eventfd instead.
    void wake_from(poller& from) noexcept
    {
        auto* to = std::get_if<uring_poller>(&impl_);
        auto* by = std::get_if<uring_poller>(&from.impl_);
        if (to && by)
            to->wake_from(*by);
        else
            wake();
    }

    /// Owner. An operation that does nothing: one completion, result 0.
    /// The self-test operation (and io_uring's probe).
    void nop(std::uint64_t key)
    {
        std::visit([&](auto& p) { p.nop(key); }, impl_);
    }

    /// Owner. Reports each time `fd` becomes readable (result: the poll
    /// mask, with POLLIN) until unwatch(); every such completion has `more`.
    void watch_readable(int fd, std::uint64_t key)
    {
        std::visit([&](auto& p) { p.watch_readable(fd, key); }, impl_);
    }

    /// Owner. Ends the watch `key` on `fd`, which must still be open: its
    /// last completion (more clear) has result -ECANCELED, unless the watch
    /// had already ended on its own.
    void unwatch(int fd, std::uint64_t key)
    {
        std::visit([&](auto& p) { p.unwatch(fd, key); }, impl_);
    }

    /// Owner. io_uring: asks the kernel to cancel the operation `key` (its
    /// own last completion says how it ended: -ECANCELED, or its result if
    /// it finished first). epoll has no operations in flight to cancel.
    void cancel(std::uint64_t key)
    {
        if (auto* ring = std::get_if<uring_poller>(&impl_))
            ring->cancel(key);
    }

    /// Owner. The io_uring backend, for preparing submissions; nullptr on
    /// epoll.
    uring_poller* uring() noexcept { return std::get_if<uring_poller>(&impl_); }
    /// The epoll backend, whose shared epoll takes fd registrations (any
    /// thread); nullptr on io_uring.
    epoll_poller* epoll() noexcept { return std::get_if<epoll_poller>(&impl_); }
    const epoll_poller* epoll() const noexcept { return std::get_if<epoll_poller>(&impl_); }

    /// Owner. Hands queued operations to the kernel now, without waiting.
    void flush()
    {
        if (auto* ring = std::get_if<uring_poller>(&impl_))
            ring->flush();
    }

    /// Owner. Whether a non-blocking wait() may find something without
    /// blocking: io_uring answers from the rings' shared memory (completions
    /// posted, completions the kernel holds for the owner, submissions
    /// queued); epoll only knows completions it decided itself and whether
    /// its last poll of the shared epoll filled its buffer, so its caller
    /// polls the kernel when registrations are worth asking about.
    /// A cheap hint for the scheduler's non-blocking poll; never a system call.
    bool maybe_ready() const noexcept
    {
        return std::visit([](const auto& p) { return p.maybe_ready(); }, impl_);
    }

    /// Owner, once, when it stops using the poller: gives up what ties the
    /// poller to its thread (io_uring's registered ring fd), so another
    /// thread may destroy it later. Only wake() and the destructor may
    /// follow.
    void retire() noexcept
    {
        if (auto* ring = std::get_if<uring_poller>(&impl_))
            ring->retire();
    }

    /// How many wakes rang the doorbell (the others found the owner awake
    /// and cost no system call).
    std::uint64_t doorbell_rings() const noexcept
    {
        return std::visit([](const auto& p) { return p.doorbell_rings(); }, impl_);
    }

    /// How many of those rang it with a MSG_RING (io_uring; 0 on epoll).
    std::uint64_t msg_ring_wakes() const noexcept
    {
        const auto* ring = std::get_if<uring_poller>(&impl_);
        return ring ? ring->msg_ring_wakes() : 0;
    }

private:
    static std::variant<uring_poller, epoll_poller> make(const netpoll_choice& choice, unsigned sq_entries,
                                                          shared_epoll* epoll_set);

    std::variant<uring_poller, epoll_poller> impl_;
};

} // namespace goro::detail
