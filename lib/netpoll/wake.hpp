// A poller's doorbell: how a wake() from any thread reaches the poller's
// owner, which may be asleep in the kernel. The protocol and its memory
// ordering are in lib/netpoll/poller.hpp, "Wake"; this class is the wake word
// and the eventfd each backend watches (io_uring with a multishot poll, epoll
// with a level-triggered registration). io_uring's other way to ring, a
// MSG_RING from the waker's own ring, lives in uring_poller: it uses notify()
// and, when it cannot post, ring(). An epoll poller on the shared epoll's
// duty redirects ring() to that epoll's break eventfd while it sleeps there
// (ring_via; epoll_poller.hpp, "The shared epoll").
#pragma once

#include <goro/config.hpp>

#include <atomic>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

class doorbell {
public:
    /// Throws std::system_error when the kernel refuses an eventfd.
    doorbell();
    ~doorbell();
    doorbell(const doorbell&) = delete;
    doorbell& operator=(const doorbell&) = delete;

    /// The eventfd for the owner's backend to watch (non-blocking).
    int fd() const noexcept { return fd_; }

    /// Any thread: records a wake, and writes the eventfd if the owner is
    /// asleep (or on its way into the kernel).
    void wake() noexcept
    {
        if (notify())
            ring();
    }

    /// Any thread: records a wake. True when the owner is asleep (or on its
    /// way into the kernel): the caller must then ring it, with ring() or
    /// another way the owner's wait ends on.
    bool notify() noexcept
    {
        // release: pairs with consume()'s acquire, so what the caller wrote
        // before notify() is visible once the owner returns. acquire: pairs
        // with prepare_sleep's release, so ring() writes the fd the owner
        // chose (ring_via) before it slept.
        if (state_.exchange(notified, std::memory_order_acq_rel) != sleeping)
            return false;
        rings_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        return true;
    }

    /// Any thread: writes the eventfd, which ends the owner's wait.
    void ring() noexcept;

    /// Owner, before it blocks. False when a wake is pending: it is consumed,
    /// and the owner must return instead of blocking.
    bool prepare_sleep() noexcept
    {
        std::uint32_t s = idle;
        // release: publishes ring_fd_ (ring_via) to the waker's acquire
        // exchange; the RMW alone orders this against every wake().
        // relaxed on failure: consume() acquires.
        if (state_.compare_exchange_strong(s, sleeping, std::memory_order_release, std::memory_order_relaxed))
            return true;
        consume();
        return false;
    }

    /// Owner, after it blocked. True when a wake came meanwhile (consumed).
    bool finish_sleep() noexcept { return consume(); }

    /// Owner: empties the eventfd, whose writes all belong to wakes the word
    /// already carries.
    void drain() noexcept;

    /// Owner, before prepare_sleep: while it sleeps, ring() writes `fd`
    /// instead of fd(), because the owner sleeps where only `fd` reaches it
    /// (the shared epoll's break eventfd). -1: fd() again. A waker that saw
    /// the owner asleep may still write the old fd after the owner switched
    /// back: a stale ring, which every wait absorbs.
    void ring_via(int fd) noexcept
    {
        ring_fd_.store(fd < 0 ? fd_ : fd, std::memory_order_relaxed); // relaxed: prepare_sleep's release publishes it
    }

    /// Any thread: empties the eventfd `fd`.
    static void drain_fd(int fd) noexcept;

    /// How many notify() calls found the owner asleep (each rang it, by the
    /// eventfd or otherwise).
    std::uint64_t rings() const noexcept { return rings_.load(std::memory_order_relaxed); }

private:
    bool consume() noexcept
    {
        // acquire: pairs with wake()'s release. An exchange reads the last
        // value in the word's order, and each wake() is an RMW that continues
        // the release sequences before it, so this synchronizes with every
        // wake() since the owner last consumed.
        return state_.exchange(idle, std::memory_order_acquire) == notified;
    }

    static constexpr std::uint32_t idle = 0, sleeping = 1, notified = 2;
    int fd_ = -1; // immutable
    std::atomic<int> ring_fd_{-1}; // where ring() writes: fd_, or what ring_via chose; owner writes
    std::atomic<std::uint32_t> state_{idle};
    std::atomic<std::uint64_t> rings_{0};
};

} // namespace goro::detail
