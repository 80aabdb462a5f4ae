// A P's io_uring: the io_uring backend of poller (lib/netpoll/poller.hpp,
// which holds the design: keys, the SQ-full and CQ-overflow rules, the wake
// protocol).
#pragma once

#include <goro/config.hpp>

#include "netpoll/completion.hpp"
#include "netpoll/key.hpp"
#include "netpoll/probe.hpp"
#include "netpoll/wake.hpp"

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <span>

namespace goro::inline GORO_ABI::detail {

/// The owner's counters of the rare paths, so tests can see them taken.
struct uring_stats {
    std::uint64_t sq_full_flushes = 0;     // a full SQ handed to the kernel to make room
    std::uint64_t cq_overflow_flushes = 0; // the kernel's CQ backlog moved into the CQ
    std::uint64_t busy_retries = 0;        // io_uring_enter refused work until the CQ was reaped
    std::uint64_t doorbell_rearms = 0;     // the kernel ended the doorbell's poll; armed again
    std::uint64_t msg_ring_failures = 0;   // a MSG_RING wake this ring sent failed; the eventfd rang
};

class uring_poller {
public:
    /// On the thread that will own it. A ring of `sq_entries` (the kernel
    /// rounds up to a power of two) and a CQ four times that, set up with
    /// the flags `support` found (it must be ok), and its doorbell armed.
    /// With `doorbell` msg_ring and support.msg_ring, wake_from() rings
    /// other pollers with IORING_OP_MSG_RING from this ring.
    /// Throws std::system_error when the kernel refuses (fds, memory).
    explicit uring_poller(const uring_support& support, unsigned sq_entries = default_sq_entries,
                          doorbell_kind doorbell = default_doorbell);
    /// On the owner thread, or on any thread after retire(). Operations
    /// still in flight are cancelled by the kernel without completions
    /// reaching anyone.
    ~uring_poller();
    uring_poller(const uring_poller&) = delete;
    uring_poller& operator=(const uring_poller&) = delete;

    /// poller::wait.
    std::size_t wait(std::int64_t deadline_ns, std::span<completion> out);
    /// poller::wake.
    void wake() noexcept;
    /// poller::wake_from: on the thread that owns `from`, a wake that rings
    /// this poller with a MSG_RING from `from`'s ring when `from` sends
    /// those, else as wake().
    void wake_from(uring_poller& from) noexcept;
    /// poller::nop.
    void nop(std::uint64_t key);
    /// poller::watch_readable.
    void watch_readable(int fd, std::uint64_t key);
    /// poller::unwatch. io_uring finds the watch by its key alone.
    void unwatch(int fd, std::uint64_t key);
    /// poller::flush.
    void flush();
    /// poller::maybe_ready.
    bool maybe_ready() const noexcept
    {
        // relaxed: a hint; the kernel's flag and the CQ tail are re-read
        // with the right order by the wait() that follows a true answer.
        return !backlog_.empty() || io_uring_cq_ready(&ring_) || io_uring_sq_ready(&ring_) ||
               (__atomic_load_n(ring_.sq.kflags, __ATOMIC_RELAXED) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW));
    }
    /// Owner. An SQE to fill in for the operation `key`: the caller preps it,
    /// then sets its user_data to the key. Flushes a full SQ to make room.
    io_uring_sqe* prepare(std::uint64_t key)
    {
        require_user_key(key);
        return get_sqe();
    }
    /// Owner. Makes sure the SQ has room for `n` entries, flushing it if not:
    /// a linked pair must reach the kernel in one submission.
    void reserve(unsigned n)
    {
        if (io_uring_sq_space_left(&ring_) < n) {
            ++stats_.sq_full_flushes;
            submit(false);
        }
    }
    /// Owner. Links a timeout at the absolute CLOCK_MONOTONIC time `*when`
    /// to the SQE prepared just before (which the caller flagged
    /// IOSQE_IO_LINK); `*when` must stay valid until the next submission.
    void link_timeout(const __kernel_timespec* when);
    /// Owner. Asks the kernel to cancel the operation `key`; the operation's
    /// own last completion reports how it ended (-ECANCELED, or its result if
    /// it finished first). A key with nothing in flight is ignored.
    void cancel(std::uint64_t key);
    /// poller::retire.
    void retire() noexcept;

    const uring_stats& stats() const noexcept { return stats_; }
    /// How many wakes rang the doorbell (eventfd or MSG_RING).
    std::uint64_t doorbell_rings() const noexcept { return doorbell_.rings(); }
    /// How many of those rang it with a MSG_RING.
    std::uint64_t msg_ring_wakes() const noexcept
    {
        return msg_ring_wakes_.load(std::memory_order_relaxed); // relaxed: a statistic
    }
    /// Whether wake_from() rings other pollers with MSG_RING from this ring.
    bool sends_msg_ring() const noexcept { return sends_msg_ring_; }
    /// The io_uring_setup flags of the ring.
    unsigned setup_flags() const noexcept { return ring_.flags; }

private:
    io_uring_sqe* get_sqe();
    void submit(bool get_events);
    void get_events();
    void recover(int error, const char* call);
    void sleep(std::int64_t deadline_ns);
    std::size_t reap(std::span<completion> out);
    void reap_into_backlog();
    template <class Accept>
    void drain(Accept&& accept);
    void own_completion(std::uint64_t key, std::int32_t result, std::uint32_t flags) noexcept;
    void check_dropped() const noexcept;
    void arm_doorbell();
    bool post_wake(uring_poller& to) noexcept;

    // Immutable after construction (wakers read them).
    int ring_fd_ = -1;            // the ring's fd, a MSG_RING's target
    bool sends_msg_ring_ = false; // wake_from() rings others with MSG_RING from this ring

    // Owner only.
    io_uring ring_;
    completion_queue backlog_;
    bool rearm_doorbell_ = false;
    bool registered_ring_fd_ = false; // in the owner thread's table, until retire()
    bool retired_ = false;
    uring_stats stats_;

    // Shared with wakers.
    doorbell doorbell_;
    std::atomic<std::uint64_t> msg_ring_wakes_{0}; // a statistic: wakes that rang with MSG_RING
};

} // namespace goro::detail
