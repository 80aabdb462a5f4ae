// goro::context: Go's context package (cancellation and deadlines; no
// values) — background, with_cancel, with_timeout, with_deadline, done, err,
// deadline — and the waits that a context ends: sleep(ctx, d) and
// blocking(ctx, fn). The tree's design (locks, the deadline's
// timer, lifetimes) is at the top of lib/context/context.cpp.
#pragma once

#include <goro/after.hpp>
#include <goro/blocking.hpp>
#include <goro/chan.hpp>
#include <goro/config.hpp>
#include <goro/detail/chan_core.hpp>
#include <goro/errc.hpp>
#include <goro/result.hpp>
#include <goro/select.hpp>

#include <chrono>
#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <new>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <system_error>
#include <utility>

namespace goro::inline GORO_ABI {

namespace detail {

/// A context's shared state (lib/context/context.cpp); opaque here.
struct context_state;
struct context_access;

/// What a context's done channel carries: nothing is ever sent, it is closed.
struct done_token {};

GORO_API void context_retain(context_state* s) noexcept;
GORO_API void context_release(context_state* s) noexcept;
/// 0, or a goro::errc value.
GORO_API int context_err(const context_state* s) noexcept;
/// CLOCK_MONOTONIC nanoseconds; INT64_MAX: no deadline.
GORO_API std::int64_t context_deadline(const context_state* s) noexcept;
/// The done channel, created on first use (closed if s is cancelled). Throws
/// std::bad_alloc.
GORO_API chan_base* context_done(context_state* s);
/// A new child of `parent` (nullptr: background) with its own deadline
/// `deadline_ns` (INT64_MAX: none). Throws std::bad_alloc.
GORO_API context_state* context_child(context_state* parent, std::int64_t deadline_ns);
GORO_API void context_cancel(context_state* s) noexcept;

} // namespace detail

class done_case;

/// A context: Go's context.Context, for cancellation and deadlines. A cheap
/// shared handle (copies refer to the same context; a copy costs an atomic
/// increment); pass it by value or const reference, as Go passes ctx.
///
/// A default-constructed context is goro::background(): never cancelled, no
/// deadline, and it owns nothing. Every other context comes from
/// with_cancel, with_timeout or with_deadline, and is cancelled when its
/// cancel function is called, when its deadline passes, or when its parent
/// is, whichever comes first; cancellation is final.
///
/// All members may be called from any goroutine or any thread. A context
/// lives while a handle, its cancel function, a child or a pending done()
/// case refers to it; once nothing does, it leaves its parent (which keeps
/// no memory for it) and its timer is disarmed.
class context {
public:
    /// background().
    context() noexcept = default;
    context(const context& o) noexcept : s_(o.s_)
    {
        if (s_)
            detail::context_retain(s_);
    }
    context(context&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    context& operator=(context o) noexcept
    {
        std::swap(s_, o.s_);
        return *this;
    }
    ~context()
    {
        if (s_)
            detail::context_release(s_);
    }

    /// Go's `<-ctx.Done()`: a case of goro::select that fires once the
    /// context is cancelled, and an awaitable on its own (`co_await
    /// ctx.done();` parks until then, resuming on whichever worker runs the
    /// goroutine next). It is a receive on a channel that cancellation closes;
    /// the channel is made on the first call (one allocation per context),
    /// which may throw std::bad_alloc. Background's done() never fires, as
    /// Go's nil Done channel: awaited alone, it parks until the end of the run.
    done_case done() const;

    /// Go's ctx.Err(): empty until the context is cancelled; then
    /// goro::errc::canceled (its cancel function, or a parent's) or
    /// goro::errc::deadline_exceeded (its deadline or a parent's), and never
    /// changes again. Never blocks.
    std::error_code err() const noexcept
    {
        const int e = s_ ? detail::context_err(s_) : 0;
        return e ? make_error_code(static_cast<errc>(e)) : std::error_code{};
    }

    /// Go's ctx.Deadline(): when the context will be cancelled by a
    /// deadline, its own or an ancestor's, whichever is earlier; nullopt if
    /// none applies.
    std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept
    {
        const std::int64_t d = s_ ? detail::context_deadline(s_) : INT64_MAX;
        if (d == INT64_MAX)
            return std::nullopt;
        return detail::ns_time_point(d);
    }

private:
    friend class cancel_func;
    friend struct detail::context_access;
    explicit context(detail::context_state* s) noexcept : s_(s) {}

    detail::context_state* s_ = nullptr;
};

/// Go's context.Background(): never cancelled, no deadline, allocates nothing.
inline context background() noexcept
{
    return {};
}

/// Go's context.CancelFunc: cancels its context and, through it, every
/// descendant. Copyable; every copy cancels the same context. Calling it
/// again, after the context was cancelled some other way, or from several
/// threads at once is harmless: the first cancellation wins. It never
/// suspends or throws, and may be called from any goroutine or thread.
///
/// As in Go, destroying it does not cancel; call it when the work the
/// context covers is over (a cancelled context leaves its parent at once,
/// an uncancelled one when its last handle goes).
class cancel_func {
public:
    /// Cancels nothing.
    cancel_func() noexcept = default;
    cancel_func(const cancel_func& o) noexcept : s_(o.s_)
    {
        if (s_)
            detail::context_retain(s_);
    }
    cancel_func(cancel_func&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    cancel_func& operator=(cancel_func o) noexcept
    {
        std::swap(s_, o.s_);
        return *this;
    }
    ~cancel_func()
    {
        if (s_)
            detail::context_release(s_);
    }

    void operator()() const noexcept
    {
        if (s_)
            detail::context_cancel(s_);
    }

private:
    friend struct detail::context_access;
    explicit cancel_func(detail::context_state* s) noexcept : s_(s) {}

    detail::context_state* s_ = nullptr;
};

/// What with_cancel, with_timeout and with_deadline return:
/// `auto [ctx, cancel] = goro::with_cancel(parent);`.
struct cancellable {
    context ctx;
    cancel_func cancel;
};

namespace detail {
/// Builds contexts and reaches their state (lib/context, goro::group).
struct context_access {
    static cancellable child(const context& parent, std::int64_t deadline_ns)
    {
        detail::context_state* s = detail::context_child(parent.s_, deadline_ns);
        detail::context_retain(s); // one reference for each of ctx and cancel
        return {context(s), cancel_func(s)};
    }
    static detail::context_state* state(const context& c) noexcept { return c.s_; }
};
} // namespace detail

/// Go's context.WithCancel(parent): a child cancelled by its cancel
/// function or with its parent. A child of a cancelled parent is born
/// cancelled, with the parent's err(). Never suspends; throws std::bad_alloc.
inline cancellable with_cancel(const context& parent)
{
    return detail::context_access::child(parent, INT64_MAX);
}

/// Go's context.WithDeadline(parent, t): as with_cancel, and also cancelled
/// with goro::errc::deadline_exceeded once steady_clock reaches `t` (never
/// before). Its deadline() is the earlier of `t` and the parent's; only a
/// deadline earlier than the parent's arms a timer (a runtime timer on the
/// current P's heap: no goroutine, no thread), which cancelling disarms.
/// A `t` already past cancels it at once.
///
/// A deadline is kept by the running runtime: one made outside a run, or
/// still pending when the run ends, never fires (the end of a run drops
/// every timer). The context stays usable afterwards, in a later run too,
/// but only its cancel function or a parent can cancel it then.
template <class Duration>
cancellable with_deadline(const context& parent, std::chrono::time_point<std::chrono::steady_clock, Duration> t)
{
    return detail::context_access::child(
        parent, detail::time_point_ns(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t)));
}

/// Go's context.WithTimeout(parent, d): with_deadline(parent, now + d).
template <class Rep, class Period>
cancellable with_timeout(const context& parent, std::chrono::duration<Rep, Period> d)
{
    const std::int64_t now = detail::time_point_ns(std::chrono::steady_clock::now());
    const std::int64_t ns = detail::duration_ns(d); // clamped to +-2^62: no overflow
    return detail::context_access::child(parent, now + ns);
}

/// The case context::done() returns: a receive on the context's done
/// channel that also keeps the context alive while it waits.
class [[nodiscard]] done_case {
public:
    bool await_ready() const noexcept { return recv_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> leaf) { return recv_.await_suspend(leaf); }
    void await_resume() noexcept { (void)recv_.await_resume(); }

private:
    friend class context;
    friend struct detail::case_traits<done_case>;
    done_case(context c, detail::chan_base* ch) noexcept : ctx_(std::move(c)), recv_(ch) {}

    context ctx_;
    detail::recv_awaiter<detail::done_token> recv_;
};

namespace detail {
template <>
struct case_traits<done_case> {
    static constexpr bool is_default = false;
    using value = std::monostate; // no value: index() says it fired
    static select_case describe(done_case& d) noexcept
    {
        return case_traits<recv_awaiter<done_token>>::describe(d.recv_);
    }
};
} // namespace detail

inline done_case context::done() const
{
    return done_case(*this, s_ ? detail::context_done(s_) : nullptr);
}

namespace detail {

/// sleep(ctx, d): a select of ctx.done() and after(d), reporting which won.
class [[nodiscard]] context_sleep_awaiter {
public:
    context_sleep_awaiter(const context& c, std::int64_t ns) : ctx_(c), sel_(c.done(), after_case(ns)) {}

    bool await_ready() noexcept
    {
        early_ = ctx_.err();
        return bool(early_);
    }
    bool await_suspend(std::coroutine_handle<> leaf) { return sel_.await_suspend(leaf); }
    std::error_code await_resume()
    {
        if (early_)
            return early_;
        auto r = sel_.await_resume();
        return r.index() == 0 ? ctx_.err() : std::error_code{};
    }

private:
    context ctx_;
    select_awaiter<done_case, after_case> sel_;
    std::error_code early_;
};

} // namespace detail

/// `co_await goro::sleep(ctx, d)`: sleeps for `d` unless `ctx` is cancelled
/// first (Go: `select { case <-time.After(d): case <-ctx.Done(): }`).
/// Returns an empty std::error_code when it slept the whole `d` (never
/// early, as goro::sleep), or ctx.err() when the context was cancelled
/// first; a context already cancelled returns at once without suspending.
/// The goroutine resumes on the P that fired the timer or ran the cancel.
/// Throws goro::panic outside a goroutine, std::bad_alloc if the context's
/// done channel cannot be made.
template <class Rep, class Period>
detail::context_sleep_awaiter sleep(const context& ctx, std::chrono::duration<Rep, Period> d)
{
    return {ctx, detail::duration_ns(d)};
}

namespace detail {

/// blocking(ctx, fn)'s record, on the heap: owned by the awaiter and the
/// pool thread (two references), since fn may outlive the wait. The pool
/// thread runs fn, stores its result, closes `done` and drops its reference;
/// the goroutine waits in a select of `done` and the context's done().
/// `done.close()` (the channel's lock) orders the stores before a receive
/// that sees it closed.
template <class Fn>
struct blocking_ctx_job : blocking_job {
    using R = std::invoke_result_t<Fn&>;

    explicit blocking_ctx_job(Fn&& f) : fn(std::move(f)), done(0) { invoke = &run; }

    static void run(blocking_job& j) noexcept
    {
        auto& self = static_cast<blocking_ctx_job&>(j);
        try {
            self.result.store(self.fn);
        } catch (...) {
            self.error = std::current_exception();
        }
        self.done.close(); // only ever closed here: never throws
        release(&self);
    }
    static void release(blocking_ctx_job* j) noexcept
    {
        // acq_rel: the release orders each side's uses before the delete;
        // the acquire of the last side sees the other's.
        if (j->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete j;
    }

    Fn fn;
    chan<done_token> done;
    blocking_result<R> result;
    std::exception_ptr error;
    std::atomic<int> refs{2};
};

} // namespace detail

/// What blocking(ctx, fn) returns: await it once, at once.
template <class Fn>
class [[nodiscard]] blocking_ctx_awaiter {
    using job_t = detail::blocking_ctx_job<Fn>;
    using R = typename job_t::R;

public:
    template <class F>
    blocking_ctx_awaiter(const context& c, F&& fn) : ctx_(c), fn_(std::forward<F>(fn))
    {
    }
    blocking_ctx_awaiter(const blocking_ctx_awaiter&) = delete;
    blocking_ctx_awaiter& operator=(const blocking_ctx_awaiter&) = delete;
    /// Destroyed while waiting (the end of a run): leaves the select first,
    /// then drops its reference; fn runs on, and frees the record.
    ~blocking_ctx_awaiter()
    {
        sel_.reset();
        if (job_)
            job_t::release(job_);
    }

    bool await_ready() noexcept
    {
        early_ = ctx_.err();
        return bool(early_); // cancelled already: fn never runs
    }
    bool await_suspend(std::coroutine_handle<> leaf)
    {
        auto* job = new job_t(std::move(*fn_));
        fn_.reset();
        sel_.emplace(job->done.recv(), ctx_.done());
        try {
            detail::blocking_submit(*job);
        } catch (...) {
            sel_.reset();
            delete job;
            throw;
        }
        job_ = job;
        return sel_->await_suspend(leaf);
    }
    result<R> await_resume()
    {
        if (early_)
            return early_;
        auto r = sel_->await_resume();
        if (r.index() == 1)
            return ctx_.err(); // fn runs on; its result is dropped with the record
        if (job_->error) {
            // Taken out of the record first: the exception then dies on this
            // thread whichever side frees the record (libstdc++'s refcount
            // on it is invisible to ThreadSanitizer).
            std::exception_ptr e = std::move(job_->error);
            std::rethrow_exception(e);
        }
        if constexpr (std::is_void_v<R>)
            return result<void>();
        else
            return result<R>(job_->result.take());
    }

private:
    context ctx_;
    std::optional<Fn> fn_;
    job_t* job_ = nullptr;
    std::optional<select_awaiter<detail::recv_awaiter<detail::done_token>, done_case>> sel_;
    std::error_code early_;
};

/// `co_await goro::blocking(ctx, fn)`: goro::blocking(fn) that `ctx` can
/// end. fn runs on one of goro's blocking threads (goro/blocking.hpp: the
/// same pool and limits); the goroutine parks until fn returns or ctx is
/// cancelled, whichever comes first, and resumes on whichever worker runs
/// it next. Returns a goro::result<R> (R: what fn returns, a value or void):
/// fn's value, or ctx.err() (goro::errc::canceled or deadline_exceeded) if
/// the context ended first. An exception from fn is rethrown, with its
/// type, if fn ended first. A context already cancelled returns its err()
/// at once, and fn never runs.
///
/// When the context wins, fn keeps running on its pool thread and its
/// result (or exception) is discarded when it returns. So fn and its
/// captures are moved into a record on the heap (one allocation per call)
/// that the pool thread owns with the awaiter, and **fn must not refer to
/// the goroutine's locals** (capture by value or share ownership): unlike
/// blocking(fn), the goroutine may be long gone when fn returns, even after
/// the run ended (the pool belongs to the process). fn can watch ctx itself
/// (capture a copy; ctx.err() is safe from any thread) to stop early.
///
/// The end of a run destroys the waiting goroutine like a parked select; a
/// queued fn is not dropped but runs when a pool thread is free, and its
/// record goes when it returns. Throws goro::panic outside a goroutine and
/// std::system_error when no blocking thread exists and none can start.
template <class Fn>
[[nodiscard]] blocking_ctx_awaiter<std::decay_t<Fn>> blocking(const context& ctx, Fn&& fn)
{
    static_assert(std::is_invocable_v<std::decay_t<Fn>&>, "goro::blocking: fn must be callable with no arguments");
    static_assert(!std::is_reference_v<std::invoke_result_t<std::decay_t<Fn>&>>,
                  "goro::blocking(ctx, fn): fn may outlive the wait, so it must return a value, not a reference");
    return blocking_ctx_awaiter<std::decay_t<Fn>>(ctx, std::forward<Fn>(fn));
}

} // namespace goro
