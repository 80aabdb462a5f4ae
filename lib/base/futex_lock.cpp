// The slow paths of detail::futex_lock; its protocol is at the top of
// include/goro/detail/futex_lock.hpp.
//
// Spinning: rounds of PAUSE with exponential backoff, 30 doubling to 300
// pauses between looks at the lock, 8 rounds (about 1,650 pauses, ~45 us on
// the machine of base/cpu_relax.hpp), then one sched_yield, then sleep. A
// channel is a lock with a tiny critical section that every P may hit back to
// back; the holder's P usually takes it again at once. Backing off lets it
// run a batch of operations with the lock's cache line local instead of
// losing the line to every look, and spinning long enough keeps the waiter
// off the futex, whose wake the holder would pay for with a syscall on its
// next unlock. Measured on tools/bench chan_mpmc_buffered at 2 Ps: Go's
// schedule (4 rounds of 30 pauses) ran at ~45 ns per message with ~60,000
// futex calls per 20M messages; this one at ~30 ns with ~500.
//
// Polite rounds: in the first four rounds (about 450 pauses) a waiter takes
// the lock only if it is free and quiet, i.e. nobody took it since the
// previous look (futex_lock::free_and_quiet). A lock found free between two
// operations of a holder that keeps taking it is left to that holder: taking
// it there moves the lock's line, the channel's ring and the goroutines' data
// to the waiter's core and back at the next hand-over, and the holder's P
// sits idle in turn. From the fifth round on any free look takes it, so a
// waiter still gets the lock within ~1,650 pauses of a holder that never
// pauses. Measured on chan_mpmc_buffered at 2 Ps (4M messages): hand-overs
// ~30,000 -> ~4,500 per run, 32-35 -> 23-25 ns per message
// (docs/performance.md, "Polite spinning").
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
constexpr int polite_rounds = 4;

} // namespace

void futex_lock::lock_slow() noexcept
{
    int pauses = first_pauses;
    std::uint32_t seen = state_.load(std::memory_order_relaxed);
    for (int round = 0; round < spin_rounds; ++round) {
        for (int i = 0; i < pauses; ++i)
            cpu_relax();
        std::uint32_t now = state_.load(std::memory_order_relaxed);
        bool take = round < polite_rounds ? free_and_quiet(seen, now) : !(now & held);
        if (take && try_lock())
            return;
        seen = now;
        pauses = pauses * 2 < max_pauses ? pauses * 2 : max_pauses;
    }
    sched_yield(); // passive spin, once: the holder may be waiting for this CPU
    if (try_lock())
        return;
    std::atomic<std::uint32_t>& sleepers = futex_lock_sleepers_slot(&state_);
    sleepers.fetch_add(1, std::memory_order_relaxed);
    asymmetric_heavy_barrier(); // StoreLoad: pairs with the unlockers' light barrier
    for (;;) {
        std::uint32_t now = state_.load(std::memory_order_relaxed);
        std::uint32_t was = state_.exchange(now | held, std::memory_order_acquire);
        if (!(was & held))
            break;
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, now | held, nullptr, nullptr,
                0);
    }
    sleepers.fetch_sub(1, std::memory_order_relaxed);
}

void futex_lock::wake_one(std::atomic<std::uint32_t>* state) noexcept
{
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(state), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

} // namespace goro::detail
