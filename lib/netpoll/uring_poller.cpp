#include <goro/config.hpp>
#include "netpoll/uring_poller.hpp"

#include "base/clock.hpp"
#include "base/fatal.hpp"
#include "netpoll/key.hpp"
#include "netpoll/sys.hpp"

#include <poll.h>

namespace goro::inline GORO_ABI::detail {

namespace {

constexpr std::uint64_t doorbell_key = internal_key_bit | 1;
constexpr std::uint64_t unwatch_key = internal_key_bit | 2;
constexpr std::uint64_t cancel_key = internal_key_bit | 3;
constexpr std::uint64_t link_timeout_key = internal_key_bit | 4;
// The completion a MSG_RING wake posts on the woken poller's ring.
constexpr std::uint64_t msg_wake_key = internal_key_bit | 5;
// A MSG_RING wake on the sender's ring: this bit plus the woken poller's
// address (the kernel's completion reports only a failure, and the sender
// then rings that poller's eventfd instead).
constexpr std::uint64_t msg_sent_bit = std::uint64_t(1) << 62;

[[noreturn]] void fatal_enter(const char* call, int error) noexcept
{
    if (error == -EBADR)
        fatal("netpoll: the kernel lost io_uring completions (CQ overflow with no memory to back it up)");
    fatal_errno(call, error);
}

} // namespace

uring_poller::uring_poller(const uring_support& support, unsigned sq_entries, doorbell_kind doorbell)
{
    if (!support.ok)
        fatal("netpoll: a uring_poller needs a passed io_uring probe, not one that failed ({})", support.failure);
    io_uring_params params{};
    params.flags = support.setup_flags | IORING_SETUP_CQSIZE;
    params.cq_entries = 4 * sq_entries;
    int r;
    {
        auto mapping = ring_mapping_lock();
        r = io_uring_queue_init_params(sq_entries, &ring_, &params);
    }
    if (r < 0)
        throw_errno("netpoll: io_uring_setup", r);
    ring_fd_ = ring_.ring_fd;
    sends_msg_ring_ = doorbell == doorbell_kind::msg_ring && support.msg_ring;
    // Registered in this thread's table of ring fds: the owner's. Failing
    // only costs a file-table lookup per io_uring_enter.
    if (support.registered_ring_fd)
        registered_ring_fd_ = io_uring_register_ring_fd(&ring_) == 1;
    arm_doorbell();
    submit(false);
}

uring_poller::~uring_poller()
{
    auto mapping = ring_mapping_lock();
    io_uring_queue_exit(&ring_);
}

std::size_t uring_poller::wait(std::int64_t deadline_ns, std::span<completion> out)
{
    if (out.empty())
        fatal("netpoll: wait() needs room for a completion");
    for (;;) {
        if (std::size_t n = reap(out))
            return n;
        if (deadline_ns >= 0 && monotonic_ns() >= deadline_ns) {
            // Past the deadline (or only polling): one look into the kernel,
            // which also submits what is queued.
            submit(true);
            return reap(out);
        }
        if (!doorbell_.prepare_sleep())
            return 0;
        sleep(deadline_ns);
        bool woken = doorbell_.finish_sleep();
        if (std::size_t n = reap(out))
            return n;
        if (woken)
            return 0;
        // A timeout, a signal, a stale doorbell, or only the poller's own
        // completions: look again. Only the deadline check above ends a
        // timeout, so one the kernel ends early just sleeps again.
    }
}

void uring_poller::wake() noexcept
{
    doorbell_.wake();
}

void uring_poller::wake_from(uring_poller& from) noexcept
{
    if (!doorbell_.notify())
        return;
    if (from.post_wake(*this))
        msg_ring_wakes_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
    else
        doorbell_.ring();
}

// On this poller's owner: rings `to` with a MSG_RING from this ring, which
// posts a completion (msg_wake_key) on `to`'s ring and so ends its wait.
// False when this ring sends none: the caller writes `to`'s eventfd.
bool uring_poller::post_wake(uring_poller& to) noexcept
{
    if (!sends_msg_ring_ || retired_)
        return false;
    // An SQE linked to the next (IOSQE_IO_LINK, its linked timeout not yet
    // prepared) would take the MSG_RING into its chain. The runtime never
    // wakes between the two, but a wake must not depend on it.
    if (ring_.sq.sqe_tail != ring_.sq.sqe_head) {
        const io_uring_sqe& last = ring_.sq.sqes[(ring_.sq.sqe_tail - 1) & ring_.sq.ring_mask];
        if (last.flags & IOSQE_IO_LINK)
            return false;
    }
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_msg_ring(sqe, to.ring_fd_, 0, msg_wake_key, 0);
    // No completion on this ring unless it failed.
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, internal_key_bit | msg_sent_bit | reinterpret_cast<std::uintptr_t>(&to));
    // The wake must reach the kernel now; what else is queued goes with it.
    submit(false);
    return true;
}

void uring_poller::nop(std::uint64_t key)
{
    require_user_key(key);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, key);
}

void uring_poller::watch_readable(int fd, std::uint64_t key)
{
    require_user_key(key);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_multishot(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, key);
}

void uring_poller::unwatch(int, std::uint64_t key)
{
    require_user_key(key);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_remove(sqe, key);
    io_uring_sqe_set_data64(sqe, unwatch_key);
}

void uring_poller::cancel(std::uint64_t key)
{
    require_user_key(key);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, key, 0);
    io_uring_sqe_set_data64(sqe, cancel_key);
}

void uring_poller::link_timeout(const __kernel_timespec* when)
{
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_link_timeout(sqe, const_cast<__kernel_timespec*>(when), IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, link_timeout_key);
}

void uring_poller::retire() noexcept
{
    // The registered ring fd lives in the owner thread's table; another
    // thread unregistering "its" index would hit a ring of its own.
    if (registered_ring_fd_)
        io_uring_unregister_ring_fd(&ring_);
    registered_ring_fd_ = false;
    retired_ = true; // no more MSG_RING wakes from this ring: it submits nothing now
}

void uring_poller::flush()
{
    if (io_uring_sq_ready(&ring_))
        submit(false);
}

// A full SQ is handed to the kernel and the request retried: a submission is
// never dropped (poller.hpp, "Submissions").
io_uring_sqe* uring_poller::get_sqe()
{
    for (;;) {
        if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_))
            return sqe;
        ++stats_.sq_full_flushes;
        submit(false);
    }
}

// Hands the queued submissions to the kernel; with get_events, also has it
// post the completions it holds (DEFER_TASKRUN posts them only then).
void uring_poller::submit(bool get_events)
{
    for (;;) {
        int r = get_events ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
        if (r >= 0)
            return;
        recover(r, "io_uring_enter (submit)");
    }
}

void uring_poller::get_events()
{
    for (;;) {
        int r = io_uring_get_events(&ring_);
        if (r >= 0)
            return;
        if (r != -EINTR)
            fatal_enter("io_uring_enter (get events)", r);
    }
}

// Makes an io_uring_enter that failed with `error` worth retrying, or ends
// the process.
void uring_poller::recover(int error, const char* call)
{
    if (error == -EINTR)
        return;
    if (error == -EBUSY || error == -EAGAIN) {
        // The kernel wants its completions reaped first (older kernels
        // refuse submissions while the CQ backlog is not empty).
        ++stats_.busy_retries;
        reap_into_backlog();
        return;
    }
    fatal_enter(call, error);
}

// Submits what is queued and blocks until a completion arrives, the
// deadline passes or a signal comes.
void uring_poller::sleep(std::int64_t deadline_ns)
{
    __kernel_timespec timeout{};
    __kernel_timespec* limit = nullptr;
    if (deadline_ns >= 0) {
        std::int64_t left = deadline_ns - monotonic_ns();
        if (left < 0)
            left = 0;
        timeout.tv_sec = left / 1'000'000'000;
        timeout.tv_nsec = left % 1'000'000'000;
        limit = &timeout;
    }
    io_uring_cqe* cqe = nullptr;
    if (int r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, limit, nullptr); r < 0 && r != -ETIME)
        recover(r, "io_uring_enter (wait)");
}

// The backlog first (completions taken from the CQ to make room), then the
// CQ, as many as `out` holds.
std::size_t uring_poller::reap(std::span<completion> out)
{
    std::size_t n = backlog_.take(out);
    drain([&](const completion& c) {
        if (n == out.size())
            return false;
        out[n++] = c;
        return true;
    });
    return n;
}

void uring_poller::reap_into_backlog()
{
    drain([&](const completion& c) {
        backlog_.push(c);
        return true;
    });
}

// Hands the CQ's completions to `accept` (the poller's own it handles) until
// the CQ is empty or `accept` refuses one, which stays in the CQ. When the
// kernel backed completions up (IORING_SQ_CQ_OVERFLOW), it moves them into
// the emptied CQ and goes on (poller.hpp, "Completions").
template <class Accept>
void uring_poller::drain(Accept&& accept)
{
    for (;;) {
        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* cqe;
        bool refused = false;
        io_uring_for_each_cqe(&ring_, head, cqe)
        {
            std::uint64_t key = io_uring_cqe_get_data64(cqe);
            if (is_internal_key(key)) {
                own_completion(key, cqe->res, cqe->flags);
            } else if (!accept(completion{key, cqe->res, (cqe->flags & IORING_CQE_F_MORE) != 0,
                                          cqe->flags & ~std::uint32_t(IORING_CQE_F_MORE)})) {
                refused = true;
                break;
            }
            ++seen;
        }
        io_uring_cq_advance(&ring_, seen);
        check_dropped();
        if (refused || !io_uring_cq_has_overflow(&ring_))
            break;
        ++stats_.cq_overflow_flushes;
        get_events();
    }
    if (rearm_doorbell_)
        arm_doorbell();
}

void uring_poller::own_completion(std::uint64_t key, std::int32_t result, std::uint32_t flags) noexcept
{
    if (key == doorbell_key) {
        if (result < 0)
            fatal_errno("the doorbell's poll", result);
        // The kernel ends a multishot poll when it cannot post to the CQ
        // (overflow): arm it again, or wakes would stop reaching the owner.
        if (!(flags & IORING_CQE_F_MORE)) {
            rearm_doorbell_ = true;
            ++stats_.doorbell_rearms;
        }
    } else if (key == msg_wake_key) {
        // A MSG_RING wake: it ended the wait; the wake word says why.
    } else if (key & msg_sent_bit) {
        // A MSG_RING wake this ring sent failed (its success posts nothing
        // here). -EOWNERDEAD: the woken poller's thread is gone, and so is
        // its reason to wait. Whatever the error, the eventfd rings instead,
        // so the wake is not lost.
        ++stats_.msg_ring_failures;
        reinterpret_cast<uring_poller*>(key & ~(internal_key_bit | msg_sent_bit))->doorbell_.ring();
    } else if (key == cancel_key) {
        // -ENOENT: the target had already completed; -EALREADY: it is
        // completing. Its own last completion says how it ended.
        if (result < 0 && result != -ENOENT && result != -EALREADY)
            fatal_errno("cancelling an operation", result);
    } else if (key == link_timeout_key) {
        // -ETIME: it fired and cancelled its operation; -ECANCELED: the
        // operation finished first; -EALREADY: the operation is finishing.
        // Its operation's own completion carries the outcome.
        if (result < 0 && result != -ETIME && result != -ECANCELED && result != -EALREADY && result != -ENOENT)
            fatal_errno("a linked timeout", result);
    } else if (key == unwatch_key) {
        // -ENOENT: the watch had already ended (its last completion says
        // how); -EALREADY: it is ending. Either way its own last completion
        // comes or came.
        if (result < 0 && result != -ENOENT && result != -EALREADY)
            fatal_errno("removing a watch", result);
    } else {
        fatal("netpoll: a completion with unknown internal key {:#x}", key);
    }
}

void uring_poller::check_dropped() const noexcept
{
    // relaxed: any nonzero count is fatal, and nothing is read through it.
    if (unsigned lost = __atomic_load_n(ring_.cq.koverflow, __ATOMIC_RELAXED))
        fatal("netpoll: the kernel dropped {} io_uring completions (CQ overflow)", lost);
}

void uring_poller::arm_doorbell()
{
    rearm_doorbell_ = false;
    // Empty the eventfd first: a poll armed on a readable eventfd fires at
    // once, and every write before this point belongs to a wake the wake
    // word already carries.
    doorbell_.drain();
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_multishot(sqe, doorbell_.fd(), POLLIN);
    io_uring_sqe_set_data64(sqe, doorbell_key);
}

} // namespace goro::detail
