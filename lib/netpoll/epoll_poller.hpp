// A P's epoll: the epoll backend of poller (lib/netpoll/poller.hpp, which
// holds the design), for processes where the probe rejected io_uring.
#pragma once

#include <goro/config.hpp>

#include "netpoll/completion.hpp"
#include "netpoll/wake.hpp"

#include <sys/epoll.h>

#include <array>
#include <cstdint>
#include <span>

namespace goro::inline GORO_ABI::detail {

class epoll_poller {
public:
    /// An epoll instance and its doorbell. Throws std::system_error when the
    /// kernel refuses (fds, memory).
    epoll_poller();
    ~epoll_poller();
    epoll_poller(const epoll_poller&) = delete;
    epoll_poller& operator=(const epoll_poller&) = delete;

    /// poller::wait.
    std::size_t wait(std::int64_t deadline_ns, std::span<completion> out);
    /// poller::wake.
    void wake() noexcept;
    /// poller::nop: epoll has no such operation, so it completes in the
    /// poller itself, as every operation that finishes at submission does.
    void nop(std::uint64_t key);
    /// poller::watch_readable: an edge-triggered registration, so each time
    /// the fd becomes readable it is reported once.
    void watch_readable(int fd, std::uint64_t key);
    /// poller::unwatch.
    void unwatch(int fd, std::uint64_t key);

    /// Any thread. Registers `fd` edge-triggered for `events`, reported with
    /// data `key`, until remove(). Returns 0 or -errno.
    int add(int fd, std::uint32_t events, std::uint64_t key) noexcept;
    /// Any thread. Ends `fd`'s registration (before the fd is closed).
    /// Returns 0 or -errno.
    int remove(int fd) noexcept;

    /// poller::maybe_ready: only completions decided at submission are known
    /// without asking the kernel.
    bool maybe_ready() const noexcept { return !local_.empty(); }

    /// How many wake() calls wrote to the doorbell.
    std::uint64_t doorbell_rings() const noexcept { return doorbell_.rings(); }

private:
    int wait_kernel(std::int64_t timeout_ns, int max_events) noexcept;

    // Owner only.
    int epoll_fd_ = -1;
    completion_queue local_; // completions decided at submission
    std::array<epoll_event, 64> events_;

    // Shared with wakers.
    doorbell doorbell_;
};

} // namespace goro::detail
