#include <goro/config.hpp>
#include "netpoll/epoll_poller.hpp"

#include "base/clock.hpp"
#include "base/fatal.hpp"
#include "netpoll/key.hpp"
#include "netpoll/sys.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <ctime>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

namespace {

constexpr std::uint64_t doorbell_key = internal_key_bit | 1;

// epoll_pwait2 (Linux 5.11) takes a nanosecond timeout; where the kernel
// lacks it (ENOSYS) or a seccomp profile older than it refuses it (ENOSYS or
// EPERM), epoll_wait's milliseconds, rounded up, do. relaxed: a hint; a
// thread that misses it tries epoll_pwait2 once more.
std::atomic<bool> pwait2_unavailable{false};

} // namespace

epoll_poller::epoll_poller()
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
    if (std::size_t n = local_.take(out))
        return n;
    int max_events = int(std::min(out.size(), events_.size()));
    for (;;) {
        std::int64_t timeout_ns = -1;
        if (deadline_ns >= 0)
            timeout_ns = std::max<std::int64_t>(0, deadline_ns - monotonic_ns());
        bool polling = timeout_ns == 0;
        if (!polling && !doorbell_.prepare_sleep())
            return 0;
        int r = wait_kernel(timeout_ns, max_events);
        bool woken = !polling && doorbell_.finish_sleep();
        if (r < 0 && r != -EINTR)
            fatal_errno("epoll_wait", r);
        std::size_t n = 0;
        for (int i = 0; i < r; ++i) {
            if (events_[i].data.u64 == doorbell_key) {
                doorbell_.drain();
            } else {
                out[n++] = completion{events_[i].data.u64, std::int32_t(events_[i].events), true};
            }
        }
        if (n || woken || polling)
            return n;
        // A timeout, a signal or a stale doorbell: look again. Only a
        // deadline found passed above ends a timeout, so one the kernel ends
        // early (or epoll_wait's rounding) just sleeps again.
    }
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
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = key;
    // A refused registration is the watch's only completion, as io_uring
    // would report it.
    if (long r = sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev)); r < 0)
        local_.push(completion{key, std::int32_t(r), false});
}

void epoll_poller::unwatch(int fd, std::uint64_t key)
{
    require_user_key(key);
    // The watch's last completion, as io_uring reports a removed poll.
    // -ENOENT: the watch already ended with its refused registration.
    if (long r = sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr)); r == 0)
        local_.push(completion{key, -ECANCELED, false});
    else if (r != -ENOENT)
        fatal_errno("epoll_ctl (unwatch; was the fd closed first?)", int(r));
}

int epoll_poller::add(int fd, std::uint32_t events, std::uint64_t key) noexcept
{
    epoll_event ev{};
    ev.events = events | EPOLLET;
    ev.data.u64 = key;
    return int(sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev)));
}

int epoll_poller::remove(int fd) noexcept
{
    return int(sys_result(epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr)));
}

int epoll_poller::wait_kernel(std::int64_t timeout_ns, int max_events) noexcept
{
    if (!pwait2_unavailable.load(std::memory_order_relaxed)) {
        timespec ts{};
        const timespec* limit = nullptr;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1'000'000'000;
            ts.tv_nsec = timeout_ns % 1'000'000'000;
            limit = &ts;
        }
        int r = int(sys_result(epoll_pwait2(epoll_fd_, events_.data(), max_events, limit, nullptr)));
        if (r != -ENOSYS && r != -EPERM)
            return r;
        pwait2_unavailable.store(true, std::memory_order_relaxed);
    }
    int ms = -1;
    if (timeout_ns >= 0)
        ms = int(std::min<std::int64_t>(INT_MAX, (timeout_ns + 999'999) / 1'000'000));
    return int(sys_result(epoll_wait(epoll_fd_, events_.data(), max_events, ms)));
}

} // namespace goro::detail
