#include <goro/config.hpp>
#include "netpoll/wake.hpp"

#include "netpoll/sys.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

doorbell::doorbell()
{
    long fd = sys_result(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (fd < 0)
        throw_errno("netpoll: eventfd", int(fd));
    fd_ = int(fd);
    ring_fd_.store(fd_, std::memory_order_relaxed); // relaxed: no waker has the doorbell yet
}

doorbell::~doorbell() { close(fd_); }

void doorbell::ring() noexcept
{
    std::uint64_t one = 1;
    for (;;) {
        // relaxed: notify()'s acquire exchange ordered it after the owner's
        // ring_via.
        long r = sys_result(write(ring_fd_.load(std::memory_order_relaxed), &one, sizeof one));
        // -EAGAIN: the counter is at its maximum, so the eventfd is readable
        // already.
        if (r == sizeof one || r == -EAGAIN)
            return;
        if (r != -EINTR)
            fatal_errno("doorbell write", int(r));
    }
}

void doorbell::drain() noexcept
{
    drain_fd(fd_);
}

void doorbell::drain_fd(int fd) noexcept
{
    std::uint64_t count; // an eventfd read takes the whole counter
    if (long r = sys_result(read(fd, &count, sizeof count)); r < 0 && r != -EAGAIN)
        fatal_errno("doorbell read", int(r));
}

} // namespace goro::detail
