// The scheduler entry points that header-only awaitables call. Each that
// reads the current P is out of line: it lives in a thread_local that clang
// may cache across a suspension (llvm#47179), so it is only ever read inside
// the library.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>

#include <coroutine>
#include <cstdint>

namespace goro::inline GORO_ABI::detail {

/// The goroutine this worker is running, or nullptr outside any goroutine.
GORO_API goroutine* current_g() noexcept;

/// current_g(), or a goro::panic naming `what` when called outside a goroutine.
GORO_API goroutine& require_g(const char* what);

/// Hands a new root goroutine to the scheduler (the tail of the current P's
/// run queue, or the global queue from a thread that is not a worker). With
/// no runtime running it destroys the frame and throws goro::panic, naming
/// the entry point `who` ("goro::go").
GORO_API void start_goroutine(goroutine& g, const char* who);

/// Makes a parked goroutine runnable; its `leaf` must already be set. Callable
/// from any thread.
GORO_API void ready(goroutine& g) noexcept;

/// Parks the running goroutine at `leaf` and queues it on the global run
/// queue (goro::yield, Go's Gosched).
GORO_API void gosched(std::coroutine_handle<> leaf) noexcept;

/// Parks the running goroutine at `leaf` and queues it at the back of its
/// P's own run queue: its cooperative budget ran out (or the stack guard
/// needs the stack unwound), and it stays where its data is cached.
GORO_API void yield_now(std::coroutine_handle<> leaf) noexcept;

/// The cooperative budget left in the slice of the goroutine this worker
/// thread runs: the scheduler sets it to 128 before each resume. Always 0 on
/// a thread that runs no goroutine.
GORO_API extern constinit __attribute__((tls_model("initial-exec"))) thread_local std::int32_t budget;

/// Spends one unit of the cooperative budget of the running goroutine. Returns
/// false when the budget is exhausted: the caller must then suspend through
/// yield_now instead of completing synchronously. True on a thread that runs
/// no goroutine. Out of line; awaitables call take_budget.
GORO_API bool spend_budget() noexcept;

/// The budget step every spender shares: spends one unit of `budget` if any
/// is left. Only where reading `budget` inline is safe (take_budget).
inline bool spend_budget_locally() noexcept
{
    if (budget > 0) [[likely]] {
        --budget;
        return true;
    }
    return false;
}

/// spend_budget, inline where that is safe. g++ lowers a coroutine before it
/// optimizes, so a read of `budget` in an awaiter never outlives a
/// suspension; clang may keep a thread_local's address across one
/// (llvm#47179), so code it builds calls out. Inline, the budget check of a
/// channel operation that completes at once costs a few instructions instead
/// of a call through the PLT (docs/performance.md, "The budget inline").
inline bool take_budget() noexcept
{
#if defined(__clang__)
    return spend_budget();
#else
    return spend_budget_locally() || spend_budget();
#endif
}

/// For an await_suspend whose operation completed without parking: spends
/// one unit of the cooperative budget and returns false (resume now), or,
/// with no budget left, yields the goroutine and returns true.
inline bool completed(std::coroutine_handle<> leaf) noexcept
{
    if (take_budget())
        return false;
    yield_now(leaf);
    return true;
}

} // namespace goro::detail
