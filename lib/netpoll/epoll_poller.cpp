#include <goro/config.hpp>
#include "netpoll/epoll_poller.hpp"

#include "base/clock.hpp"
#include "base/fatal.hpp"
#include "netpoll/key.hpp"
#include "netpoll/sys.hpp"

#include <sys/eventfd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <ctime>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

namespace {

constexpr std::uint64_t doorbell_key = internal_key_bit | 1;
constexpr std::uint64_t break_key = internal_key_bit | 2;

// epoll_pwait2 (Linux 5.11) takes a nanosecond timeout; where the kernel
// lacks it (ENOSYS) or a seccomp profile older than it refuses it (ENOSYS or
// EPERM), epoll_wait's milliseconds, rounded up, do. relaxed: a hint; a
// thread that misses it tries epoll_pwait2 once more.
std::atomic<bool> pwait2_unavailable{false};

} // namespace

shared_epoll::shared_epoll()
{
    long ep = sys_result(epoll_create1(EPOLL_CLOEXEC));
    if (ep < 0)
        throw_errno("netpoll: epoll_create1 (shared)", int(ep));
    long bfd = sys_result(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (bfd < 0) {
        close(int(ep));
        throw_errno("netpoll: eventfd (the shared epoll's break)", int(bfd));
    }
    epoll_fd_ = int(ep);
    break_fd_ = int(bfd);
    // Level-triggered: it stays reported until the duty P drains it.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = break_key;
    if (long r = sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, break_fd_, &ev)); r < 0) {
        close(epoll_fd_);
        close(break_fd_);
        throw_errno("netpoll: epoll_ctl (the shared epoll's break)", int(r));
    }
}

shared_epoll::~shared_epoll()
{
    close(epoll_fd_);
    close(break_fd_);
}

int shared_epoll::add(int fd, std::uint32_t events, std::uint64_t key) noexcept
{
    epoll_event ev{};
    ev.events = events | EPOLLET;
    ev.data.u64 = key;
    return int(sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev)));
}

int shared_epoll::remove(int fd) noexcept
{
    return int(sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr)));
}

epoll_poller::epoll_poller(shared_epoll* shared)
    : own_shared_(shared ? nullptr : std::make_unique<shared_epoll>()), shared_(shared ? shared : own_shared_.get())
{
    long ep = sys_result(epoll_create1(EPOLL_CLOEXEC));
    if (ep < 0)
        throw_errno("netpoll: epoll_create1", int(ep));
    epoll_fd_ = int(ep);
    // Level-triggered: the doorbell stays reported until wait() drains it.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = doorbell_key;
    if (long r = sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, doorbell_.fd(), &ev)); r < 0) {
        close(epoll_fd_);
        throw_errno("netpoll: epoll_ctl (doorbell)", int(r));
    }
}

epoll_poller::~epoll_poller()
{
    close(epoll_fd_);
}

std::size_t epoll_poller::wait(std::int64_t deadline_ns, std::span<completion> out)
{
    if (out.empty())
        fatal("netpoll: wait() needs room for a completion");
    held_duty_ = false;
    if (std::size_t n = local_.take(out))
        return n;
    if (harvest_again_)
        if (std::size_t n = harvest(out))
            return n;
    if (deadline_ns == 0 || (deadline_ns > 0 && deadline_ns <= monotonic_ns()))
        return harvest(out);
    epoll_poller* none = nullptr;
    // seq_cst: the claim is the idle side of the hand-over's Dekker pair
    // (see the top comment of the header).
    if (!shared_->duty_.compare_exchange_strong(none, this, std::memory_order_seq_cst))
        return sleep_in(epoll_fd_, false, deadline_ns, out);
    held_duty_ = true;
    const std::size_t n = sleep_in(shared_->epoll_fd_, true, deadline_ns, out);
    shared_->duty_.store(nullptr, std::memory_order_seq_cst); // seq_cst: the hand-over loads the idle count after it
    return n;
}

// Blocks in `epoll_fd` (the shared epoll on duty, else this P's own) until
// events, a wake or the deadline.
std::size_t epoll_poller::sleep_in(int epoll_fd, bool on_duty, std::int64_t deadline_ns, std::span<completion> out)
{
    const int max_events = int(std::min(out.size(), events_.size()));
    for (;;) {
        std::int64_t timeout_ns = -1;
        if (deadline_ns >= 0)
            timeout_ns = std::max<std::int64_t>(0, deadline_ns - monotonic_ns());
        if (timeout_ns == 0)
            return harvest(out);
        if (on_duty)
            doorbell_.ring_via(shared_->break_fd_); // only the shared epoll reaches us there
        if (!doorbell_.prepare_sleep()) {
            if (on_duty)
                doorbell_.ring_via(-1);
            return 0;
        }
        const int r = wait_kernel(epoll_fd, timeout_ns, max_events);
        const bool woken = doorbell_.finish_sleep();
        if (on_duty)
            doorbell_.ring_via(-1);
        if (r < 0 && r != -EINTR)
            fatal_errno("epoll_wait", r);
        std::size_t n = 0;
        for (int i = 0; i < r; ++i) {
            if (events_[i].data.u64 == doorbell_key)
                doorbell_.drain();
            else if (events_[i].data.u64 == break_key)
                doorbell::drain_fd(shared_->break_fd_);
            else
                out[n++] = completion{events_[i].data.u64, std::int32_t(events_[i].events), true};
        }
        if (on_duty)
            harvest_again_ = r == max_events;
        if (n || woken)
            return n;
        // A timeout, a signal, a stale doorbell or break: look again. Only a
        // deadline found passed above ends a timeout, so one the kernel ends
        // early (or epoll_wait's rounding) just sleeps again.
    }
}

// Takes what the shared epoll has, without blocking. The break eventfd is
// left for the duty P (see the top comment of the header).
std::size_t epoll_poller::harvest(std::span<completion> out)
{
    const int max_events = int(std::min(out.size(), events_.size()));
    const int r = wait_kernel(shared_->epoll_fd_, 0, max_events);
    harvest_again_ = r == max_events;
    if (r < 0) {
        if (r == -EINTR)
            return 0;
        fatal_errno("epoll_wait (poll)", r);
    }
    std::size_t n = 0;
    for (int i = 0; i < r; ++i)
        if (events_[i].data.u64 != break_key)
            out[n++] = completion{events_[i].data.u64, std::int32_t(events_[i].events), true};
    return n;
}

void epoll_poller::wake() noexcept
{
    doorbell_.wake();
}

void epoll_poller::nop(std::uint64_t key)
{
    require_user_key(key);
    local_.push(completion{key, 0, false});
}

void epoll_poller::watch_readable(int fd, std::uint64_t key)
{
    require_user_key(key);
    // A refused registration is the watch's only completion, as io_uring
    // would report it.
    if (int r = shared_->add(fd, EPOLLIN, key); r < 0)
        local_.push(completion{key, std::int32_t(r), false});
}

void epoll_poller::unwatch(int fd, std::uint64_t key)
{
    require_user_key(key);
    // The watch's last completion, as io_uring reports a removed poll.
    // -ENOENT: the watch already ended with its refused registration.
    if (int r = shared_->remove(fd); r == 0)
        local_.push(completion{key, -ECANCELED, false});
    else if (r != -ENOENT)
        fatal_errno("epoll_ctl (unwatch; was the fd closed first?)", r);
}

int epoll_poller::wait_kernel(int epoll_fd, std::int64_t timeout_ns, int max_events) noexcept
{
    if (!pwait2_unavailable.load(std::memory_order_relaxed)) {
        timespec ts{};
        const timespec* limit = nullptr;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1'000'000'000;
            ts.tv_nsec = timeout_ns % 1'000'000'000;
            limit = &ts;
        }
        int r = int(sys_result(epoll_pwait2(epoll_fd, events_.data(), max_events, limit, nullptr)));
        if (r != -ENOSYS && r != -EPERM)
            return r;
        pwait2_unavailable.store(true, std::memory_order_relaxed);
    }
    int ms = -1;
    if (timeout_ns >= 0)
        ms = int(std::min<std::int64_t>(INT_MAX, (timeout_ns + 999'999) / 1'000'000));
    return int(sys_result(epoll_wait(epoll_fd, events_.data(), max_events, ms)));
}

} // namespace goro::detail
