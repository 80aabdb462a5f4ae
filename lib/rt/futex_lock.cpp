#include <goro/detail/futex_lock.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace goro::detail {

namespace {
constexpr int active_spins = 4;     // rounds of busy spinning (Go: active_spin)
constexpr int pauses_per_spin = 30; // (Go: active_spin_cnt)
} // namespace

void futex_lock::lock_slow(std::uint32_t was) noexcept
{
    // Our exchange found the lock taken and stored `held`, which may have
    // hidden a `sleeping` mark: so whatever we take the lock with from here is
    // at least what we found (`was`), and a thread that slept once always
    // marks `sleeping` again. An unlock that sees `sleeping` wakes one
    // sleeper, so none is left asleep on a free lock.
    for (int spin = 0; spin < active_spins; ++spin) {
        for (int i = 0; i < pauses_per_spin; ++i) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        std::uint32_t expected = free;
        if (state_.load(std::memory_order_relaxed) == free &&
            state_.compare_exchange_strong(expected, was, std::memory_order_acquire, std::memory_order_relaxed))
            return;
    }
    sched_yield(); // passive spin, once
    while (state_.exchange(sleeping, std::memory_order_acquire) != free)
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, sleeping, nullptr,
                nullptr, 0);
}

void futex_lock::wake_one() noexcept
{
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

} // namespace goro::detail
