// goro::once: Go's sync.Once.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/sched.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/detail/wait_list.hpp>
#include <goro/go.hpp> // detail::is_task_v
#include <goro/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

namespace goro {

class once;

namespace detail {

/// A goroutine waiting for a once's first call to finish; lives in the awaiter.
struct once_waiter {
    parked_on parked{};
    once_waiter* prev = nullptr; // list fields: guarded by the once's lock
    once_waiter* next = nullptr;
    goroutine* g = nullptr;
    bool queued = false;
};

/// Runs a task-returning function for the first caller of once::call; marks
/// the once done however the task ends.
template <class F>
task<void> run_once(once* o, F* fn);

} // namespace detail

/// Runs a function exactly once: Go's sync.Once.
///
/// `co_await o.call(fn)`: the first call runs `fn()` -- a plain function, or
/// one returning a goro::task, which is awaited -- on the calling goroutine.
/// Calls made while it runs park their goroutines until it finishes; calls
/// after that return at once. So when any call returns, fn has returned and
/// its effects are visible to the caller. If fn throws, the once counts as
/// done anyway (Go: "if f panics, Do considers it to have returned"): the
/// exception reaches the first caller only; the others return normally, and
/// fn never runs again.
///
/// A call on a done once completes without suspending, spending one unit of
/// the cooperative budget (with none left, the goroutine yields first). fn
/// itself must not call the same once (Go deadlocks); awaiting it from fn's
/// own goroutine throws goro::panic instead. Parked callers resume on the
/// worker that runs them after fn finishes. Waiting outside a goroutine
/// throws goro::panic. Not copyable or movable.
class GORO_API once {
public:
    template <class F>
    struct [[nodiscard]] call_awaiter {
        static_assert(std::is_invocable_v<F&>, "goro::once::call: fn must be callable with no arguments");
        static constexpr bool runs_task = detail::is_task_v<std::invoke_result_t<F&>>;

        once& o;
        F fn;
        detail::once_waiter w{};
        bool claimed = false;
        bool out_of_budget = false;
        task<void> runner{};                     // the first caller's run of a task-returning fn
        typename task<void>::awaiter inner{};    // how we await it

        bool await_ready()
        {
            if (o.done()) {
                if (detail::spend_budget())
                    return true;
                out_of_budget = true;
                return false;
            }
            if constexpr (!runs_task)
                claimed = o.claim(); // await_resume runs fn
            return claimed;
        }

        std::coroutine_handle<> await_suspend(std::coroutine_handle<> leaf)
        {
            if (out_of_budget) {
                detail::yield_now(leaf);
                return std::noop_coroutine();
            }
            if constexpr (runs_task) {
                if (o.claim()) {
                    claimed = true;
                    runner = detail::run_once(&o, &fn);
                    inner = std::move(runner).operator co_await();
                    return inner.await_suspend(leaf); // runs fn's task on this goroutine, then resumes us
                }
            }
            if (o.wait_slow(w, leaf))
                return std::noop_coroutine();
            return leaf; // the first call finished meanwhile
        }

        void await_resume()
        {
            if (!claimed)
                return;
            if constexpr (runs_task) {
                inner.await_resume(); // rethrows what fn's task threw
            } else {
                try {
                    std::invoke(fn);
                } catch (...) {
                    o.finish();
                    throw;
                }
                o.finish();
            }
        }
    };

    once() noexcept = default;
    once(const once&) = delete;
    once& operator=(const once&) = delete;

    /// See the class comment. `fn` is moved (or copied) into the awaiter.
    template <class F>
    call_awaiter<std::decay_t<F>> call(F&& fn)
    {
        return call_awaiter<std::decay_t<F>>{*this, std::forward<F>(fn)};
    }

    /// True once the first call's fn has returned or thrown.
    bool done() const noexcept { return state_.load(std::memory_order_acquire) == done_state; }

private:
    template <class F>
    friend task<void> detail::run_once(once* o, F* fn);

    static constexpr std::uint32_t idle = 0, running = 1, done_state = 2;

    bool claim() noexcept;
    void finish() noexcept;
    bool wait_slow(detail::once_waiter& w, std::coroutine_handle<> leaf);
    static bool withdraw(detail::parked_on& p) noexcept;

    std::atomic<std::uint32_t> state_{idle};           // idle -> running -> done_state
    std::atomic<detail::goroutine*> runner_g_{nullptr}; // the goroutine running fn
    detail::spinlock lock_;
    detail::wait_list<detail::once_waiter> waiters_; // guarded by lock_
};

template <class F>
task<void> detail::run_once(once* o, F* fn)
{
    try {
        auto t = std::invoke(*fn);
        co_await std::move(t);
    } catch (...) {
        o->finish();
        throw;
    }
    o->finish();
}

} // namespace goro
