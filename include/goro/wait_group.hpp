// goro::wait_group: Go's sync.WaitGroup.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/cache_line.hpp>
#include <goro/detail/sched.hpp>
#include <goro/detail/sema.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace goro::inline GORO_ABI {

/// Waits for a collection of goroutines to finish: add(n) before starting
/// them, done() as each finishes, `co_await wg.wait()` to wait for all.
///
/// State is one 64-bit word (counter in the high half, parked waiters in the
/// low half), alone on its cache line (so the object is 144 bytes, most of it
/// padding), plus the runtime semaphore; waiting allocates nothing. add/done
/// never suspend and may be called from any thread, inside or outside a
/// goroutine. Not copyable or movable (goroutines point into it).
///
/// When a run ends, its goroutines still waiting are taken off the group and
/// destroyed, and those woken but not yet run are destroyed with nothing to
/// undo, so the next run finds the group with its counter as the last add
/// left it and no waiter counted.
class GORO_API wait_group {
public:
    wait_group() noexcept = default;
    wait_group(const wait_group&) = delete;
    wait_group& operator=(const wait_group&) = delete;

    /// Adds `delta` (may be negative) to the counter. When it reaches zero every
    /// waiter is woken. Throws goro::panic, leaving the counter unchanged, if it
    /// would go negative ("goro::wait_group: negative counter") or if a positive
    /// add starts a new round while waiters of the old one are still parked.
    void add(int delta = 1);
    /// add(-1).
    void done() { add(-1); }
    /// The current counter (a snapshot).
    int count() const noexcept
    {
        return static_cast<std::int32_t>(state_.value.load(std::memory_order_acquire) >> 32);
    }

    struct [[nodiscard]] awaiter {
        wait_group& wg;
        detail::sema_waiter node;

        bool await_ready() const noexcept { return wg.count() == 0 && detail::take_budget(); }
        bool await_suspend(std::coroutine_handle<> leaf) { return wg.park(node, leaf); }
        void await_resume() const noexcept {}
    };

    /// `co_await wg.wait()` suspends until the counter is zero; it completes
    /// without suspending if it already is (spending one unit of the
    /// cooperative budget). Resumes on the worker that runs it next after the
    /// final done(). Must be awaited inside a goroutine (else goro::panic).
    awaiter wait() noexcept { return awaiter{*this, {}}; }

private:
    bool park(detail::sema_waiter& node, std::coroutine_handle<> leaf);
    static bool withdraw(detail::parked_on& p) noexcept;

    /// counter << 32 | waiters, on a cache line of its own: every done()
    /// writes it, typically from other Ps, while the goroutine that owns the
    /// group keeps working on the frame around it (detail::own_cache_line).
    detail::own_cache_line<std::atomic<std::uint64_t>> state_{{}, {0}, {}};
    detail::sema sema_;
};

} // namespace goro
