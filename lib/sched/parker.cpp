#include <goro/config.hpp>
#include "sched/parker.hpp"

#include "base/clock.hpp"

#include <cerrno>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

namespace {
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const timespec* rel) noexcept
{
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, rel, nullptr, 0);
}
void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept
{
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
} // namespace

void parker::park(std::int64_t deadline_ns) noexcept
{
    // Fast path: a notification is already here.
    std::uint32_t s = notified;
    if (state_.compare_exchange_strong(s, empty, std::memory_order_acquire)) // acquire: pairs with unpark's swap
        return;
    s = empty;
    if (!state_.compare_exchange_strong(s, parked, std::memory_order_acquire)) {
        state_.exchange(empty, std::memory_order_acquire); // it was notified in between
        return;
    }
    for (;;) {
        timespec rel{};
        const timespec* timeout = nullptr;
        if (deadline_ns >= 0) {
            std::int64_t left = deadline_ns - monotonic_ns();
            if (left <= 0) {
                // Timed out: leave the parked state, consuming a racing notification.
                state_.exchange(empty, std::memory_order_acquire);
                return;
            }
            rel.tv_sec = left / 1'000'000'000;
            rel.tv_nsec = left % 1'000'000'000;
            timeout = &rel;
        }
        futex_wait(state_, parked, timeout);
        s = notified;
        if (state_.compare_exchange_strong(s, empty, std::memory_order_acquire))
            return;
        // Spurious wakeup or timeout: loop re-checks the deadline.
    }
}

void parker::unpark() noexcept
{
    if (state_.exchange(notified, std::memory_order_release) == parked) // release: pairs with park's acquire
        futex_wake_one(state_);
}

} // namespace goro::detail
