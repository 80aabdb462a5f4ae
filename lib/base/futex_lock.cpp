// The slow paths of detail::futex_lock; its protocol is at the top of
// include/goro/detail/futex_lock.hpp.
//
// Spinning: rounds of PAUSE with exponential backoff, 30 doubling to 300
// pauses between looks at the lock, 8 rounds (about 1,650 pauses, ~45 us on
// the machine of rt/cpu_relax.hpp), then one
// sched_yield, then sleep. A channel is a lock with a tiny critical section
// that every P may hit back to back; the holder's P usually takes it again at
// once. Backing off lets it run a batch of operations with the lock's cache
// line local instead of losing the line to every look, and spinning long
// enough keeps the waiter off the futex, whose wake the holder would pay for
// with a syscall on its next unlock. Measured on tools/bench chan_mpmc_buffered
// at 2 Ps: Go's schedule (4 rounds of 30 pauses) ran at ~45 ns per message
// with ~60,000 futex calls per 20M messages; this one at ~30 ns with ~500.
#include <goro/detail/futex_lock.hpp>

#include "base/barrier.hpp"
#include "base/cpu_relax.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

std::atomic<std::uint32_t> futex_lock_sleepers[futex_lock_sleeper_slots];

namespace {

constexpr int spin_rounds = 8;
constexpr int first_pauses = 30;
constexpr int max_pauses = 300;

} // namespace

void futex_lock::lock_slow() noexcept
{
    int pauses = first_pauses;
    for (int round = 0; round < spin_rounds; ++round) {
        for (int i = 0; i < pauses; ++i)
            cpu_relax();
        if (state_.load(std::memory_order_relaxed) == free && try_lock())
            return;
        pauses = pauses * 2 < max_pauses ? pauses * 2 : max_pauses;
    }
    sched_yield(); // passive spin, once: the holder may be waiting for this CPU
    if (try_lock())
        return;
    std::atomic<std::uint32_t>& sleepers = futex_lock_sleepers_slot(&state_);
    sleepers.fetch_add(1, std::memory_order_relaxed);
    asymmetric_heavy_barrier(); // StoreLoad: pairs with the unlockers' light barrier
    while (state_.exchange(held, std::memory_order_acquire) != free)
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, held, nullptr, nullptr, 0);
    sleepers.fetch_sub(1, std::memory_order_relaxed);
}

void futex_lock::wake_one(std::atomic<std::uint32_t>* state) noexcept
{
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(state), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

} // namespace goro::detail
