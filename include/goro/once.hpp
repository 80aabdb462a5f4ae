// goro::once: Go's sync.Once.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/resume_hook.hpp>
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

namespace goro::inline GORO_ABI {

class once;

namespace detail {

/// A goroutine waiting for a once's first call to finish; lives in the
/// awaiter. The caller that must wait sets `user`, `start` and `awaiter`,
/// once::wait_slow the rest; the fast path leaves it all uninitialized.
struct once_waiter {
    /// First member: a woken waiter resumes here and looks at the once again
    /// (lib/sync/once.cpp, "A first call destroyed mid-fn").
    resume_hook hook;
    parked_on parked;
    once_waiter* prev; // list fields: guarded by the once's lock
    once_waiter* next;
    goroutine* g;
    bool queued;
    /// The awaiting coroutine's address.
    void* user;
    /// Runs fn for this caller, who claimed the once after a first call was
    /// destroyed unfinished; returns the coroutine to resume.
    std::coroutine_handle<> (*start)(void* awaiter) noexcept;
    void* awaiter;
};

/// The first caller's hold on a once while its task-returning fn runs, in
/// run_once's frame: finish() marks the once done; destroyed without it
/// (the frame destroyed mid-fn, at the end of a run) it gives the once back.
class once_claim {
public:
    explicit once_claim(once& o) noexcept : o_(&o) {}
    once_claim(const once_claim&) = delete;
    once_claim& operator=(const once_claim&) = delete;
    ~once_claim();
    void finish() noexcept;

private:
    once* o_;
};

/// Runs a task-returning function for the first caller of once::call; marks
/// the once done however the task ends, and gives it back if its frame is
/// destroyed first.
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
///
/// When a run ends while a task-returning fn is unfinished, the once goes
/// back to its initial state as the first caller's frame is destroyed: the
/// next call runs fn again, and calls still waiting (a frame can outlive its
/// run, held by a join_handle) try again, one of them running fn.
class GORO_API once {
public:
    template <class F>
    struct [[nodiscard]] call_awaiter {
        static_assert(std::is_invocable_v<F&>, "goro::once::call: fn must be callable with no arguments");
        static constexpr bool runs_task = detail::is_task_v<std::invoke_result_t<F&>>;

        once& o;
        F fn;
        detail::once_waiter w; // set up only by a caller that must wait
        bool claimed = false;
        bool out_of_budget = false;
        task<void> runner{};                     // the first caller's run of a task-returning fn
        typename task<void>::awaiter inner{};    // how we await it

        template <class G>
        call_awaiter(once& on, G&& f) : o(on), fn(std::forward<G>(f))
        {
        }

        bool await_ready()
        {
            if (o.done()) {
                if (detail::take_budget())
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
                if (o.claim())
                    return start_task(leaf);
            }
            w.user = leaf.address();
            w.start = &claim_later;
            w.awaiter = this;
            // leaf (the first call finished meanwhile), fn's task (we claimed
            // the once after a first call was destroyed), or noop (parked).
            return o.wait_slow(w);
        }

        /// Having claimed the once: runs fn's task on this goroutine, which
        /// then resumes `leaf`.
        std::coroutine_handle<> start_task(std::coroutine_handle<> leaf)
        {
            claimed = true;
            try {
                runner = detail::run_once(&o, &fn);
            } catch (...) { // no frame for it: give the claim back
                claimed = false;
                o.abandon();
                throw;
            }
            inner = std::move(runner).operator co_await();
            return inner.await_suspend(leaf);
        }

        /// once_waiter::start: this waiter claimed the once. A plain fn runs
        /// in await_resume. An allocation failure starting fn's task ends
        /// the program: this may run from a resume hook, which has nobody to
        /// throw to.
        static std::coroutine_handle<> claim_later(void* self) noexcept
        {
            auto& a = *static_cast<call_awaiter*>(self);
            auto leaf = std::coroutine_handle<>::from_address(a.w.user);
            if constexpr (runs_task) {
                return a.start_task(leaf);
            } else {
                a.claimed = true;
                return leaf;
            }
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
        return call_awaiter<std::decay_t<F>>(*this, std::forward<F>(fn));
    }

    /// True once the first call's fn has returned or thrown.
    bool done() const noexcept { return state_.load(std::memory_order_acquire) == done_state; }

private:
    friend class detail::once_claim;

    static constexpr std::uint32_t idle = 0, running = 1, done_state = 2;

    bool claim() noexcept;
    /// The claim ends: fn finished (done_state) or its run was destroyed
    /// unfinished (back to idle); the waiters are woken either way.
    void finish() noexcept;
    void abandon() noexcept;
    void end_claim(std::uint32_t next) noexcept;
    std::coroutine_handle<> wait_slow(detail::once_waiter& w);
    std::coroutine_handle<> wait_or_claim(detail::goroutine& g, detail::once_waiter& w) noexcept;
    static void resume_waiter(void* hook) noexcept;
    static bool withdraw(detail::parked_on& p) noexcept;

    std::atomic<std::uint32_t> state_{idle};           // idle -> running -> done_state
    std::atomic<detail::goroutine*> runner_g_{nullptr}; // the goroutine running fn
    detail::spinlock lock_;
    detail::wait_list<detail::once_waiter> waiters_; // guarded by lock_
};

inline detail::once_claim::~once_claim()
{
    if (o_)
        o_->abandon();
}

inline void detail::once_claim::finish() noexcept { std::exchange(o_, nullptr)->finish(); }

template <class F>
task<void> detail::run_once(once* o, F* fn)
{
    once_claim claim(*o);
    try {
        auto t = std::invoke(*fn);
        co_await std::move(t);
    } catch (...) {
        claim.finish();
        throw;
    }
    claim.finish();
}

} // namespace goro
