// goro::group: golang.org/x/sync/errgroup — goroutines that return an
// error, the first error cancelling a shared context, a wait for all of
// them, and an optional limit on how many run at once. The state's design
// is at the top of lib/context/group.cpp.
#pragma once

#include <goro/config.hpp>
#include <goro/context.hpp>
#include <goro/detail/group_core.hpp>
#include <goro/go.hpp>
#include <goro/result.hpp>
#include <goro/semaphore.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <system_error>
#include <utility>

namespace goro::inline GORO_ABI {

namespace detail {

/// A member goroutine's reference on its group.
class group_ref {
public:
    explicit group_ref(group_state* s) noexcept : s_(s) { group_retain(s_); }
    group_ref(group_ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    group_ref(const group_ref&) = delete;
    group_ref& operator=(const group_ref&) = delete;
    ~group_ref()
    {
        if (s_)
            group_release(s_);
    }
    group_state* get() const noexcept { return s_; }

private:
    group_state* s_;
};

/// What a member task may return: an error code or a goro::result<void>.
template <class R>
concept group_result_type = std::is_same_v<R, std::error_code> || std::is_same_v<R, result<void>>;

inline std::error_code error_of(const std::error_code& e) noexcept
{
    return e;
}
inline std::error_code error_of(const result<void>& r) noexcept
{
    return r.error();
}

/// The goroutine that runs one member task and reports how it ended.
template <class R>
task<void> group_member(group_ref g, task<R> t, bool limited)
{
    std::error_code ec;
    std::exception_ptr ex;
    try {
        R r = co_await std::move(t);
        ec = error_of(r);
    } catch (...) {
        ex = std::current_exception();
    }
    group_finished(g.get(), ec, std::move(ex), limited);
}

/// Starts `t` as a member of the group (the token, if `limited`, is taken).
template <class R>
void group_spawn(group_state* s, task<R>&& t, bool limited)
{
    group_started(s);
    try {
        go(group_member(group_ref(s), std::move(t), limited));
    } catch (...) {
        group_finished(s, {}, nullptr, limited); // it never ran: not a failure
        throw;
    }
}

} // namespace detail

/// What group::go returns: `co_await g.go(task)`.
template <class R>
class [[nodiscard]] group_go_awaiter {
public:
    group_go_awaiter(detail::group_state* s, task<R>&& t) noexcept : g_(s), t_(std::move(t)) {}
    group_go_awaiter(const group_go_awaiter&) = delete;
    group_go_awaiter& operator=(const group_go_awaiter&) = delete;

    bool await_ready()
    {
        semaphore* sem = detail::group_limit(g_.get());
        if (!sem) {
            spawn(false);
            return true;
        }
        if (sem->size() == 0)
            detail::group_throw_zero_limit();
        acquire_.emplace(*sem, 1);
        if (acquire_->await_ready()) {
            spawn(true);
            return true;
        }
        return false;
    }
    bool await_suspend(std::coroutine_handle<> leaf) { return acquire_->await_suspend(leaf); }
    void await_resume()
    {
        if (!spawned_)
            spawn(true);
    }

private:
    void spawn(bool limited)
    {
        spawned_ = true;
        detail::group_spawn(g_.get(), std::move(t_), limited);
    }

    detail::group_ref g_; // the semaphore it may park on lives in the state
    task<R> t_;
    std::optional<semaphore::acquire_awaiter> acquire_;
    bool spawned_ = false;
};

/// What group::wait returns: `co_await g.wait()`.
class [[nodiscard]] group_wait_awaiter {
public:
    explicit group_wait_awaiter(detail::group_state* s) : g_(s), wait_(detail::group_wait_begin(s).wait()) {}

    bool await_ready() const noexcept { return wait_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> leaf) { return wait_.await_suspend(leaf); }
    std::error_code await_resume() { return detail::group_result(g_.get()); }

private:
    detail::group_ref g_; // the wait_group it may park on lives in the state
    wait_group::awaiter wait_;
};

/// A group of goroutines working on parts of one task: x/sync's
/// errgroup.Group. Each member is a `task<std::error_code>` (an empty code
/// is success) or a `task<goro::result<void>>` (Go's lone error result).
///
/// - The first member to fail — return a non-empty std::error_code or throw
///   — cancels the group's context (with goro::errc::canceled), so the
///   others, watching ctx.done() or ctx.err(), can stop early. Later
///   failures are dropped.
/// - `co_await g.wait()` returns once every member has ended: the first
///   failure's error code, or, if the first failure was an exception, it
///   rethrows that exception (with its type). Then it cancels the context,
///   as Go's Wait does.
/// - A limit (set_limit) bounds how many members run at once.
///
/// A group is a handle to shared state: members keep it alive, so the group
/// object may go before they end (nothing then waits for them). Movable, not
/// copyable. go, try_go and wait must be called inside a goroutine; any
/// thread may destroy the group. At the end of a run, members still running
/// are destroyed like other goroutines, and a waiter with them; the state
/// goes with its last reference.
class group {
public:
    /// Go's zero Group: no context (a failure cancels nothing).
    group() : s_(detail::group_create(nullptr)) {}
    /// A group whose context is derived from `parent` (Go's
    /// errgroup.WithContext): cancelled by the first failure, by wait()'s
    /// end, or with `parent`.
    explicit group(const context& parent) : s_(detail::group_create(&parent)) {}
    group(group&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    group& operator=(group&& o) noexcept
    {
        std::swap(s_, o.s_);
        return *this;
    }
    ~group()
    {
        if (s_)
            detail::group_release(s_);
    }

    /// The group's context: the one with_group returned (background for a
    /// group made without a parent).
    context ctx() const noexcept { return detail::group_context(s_); }

    /// `co_await g.go(t)`: Go's g.Go(f). Starts `t` as a goroutine of the
    /// group. Without a limit it never suspends. With one, when as many
    /// members run as the limit allows, the caller parks until one ends
    /// (FIFO among callers), then starts `t` and resumes. Throws goro::panic
    /// with a limit of 0 ("goro::group: go with a limit of 0 would wait
    /// forever"), outside a goroutine, or where goro::go would. An awaiter
    /// destroyed before it started `t` (its goroutine destroyed at the end
    /// of a run) drops `t` unrun.
    template <detail::group_result_type R>
    group_go_awaiter<R> go(task<R> t)
    {
        return {s_, std::move(t)};
    }

    /// Go's g.TryGo(f): starts `t` if the limit allows one more member now,
    /// returning true; else drops `t` unrun and returns false. Never
    /// suspends.
    template <detail::group_result_type R>
    bool try_go(task<R> t)
    {
        semaphore* sem = detail::group_limit(s_);
        if (sem && !sem->try_acquire(1))
            return false;
        detail::group_spawn(s_, std::move(t), sem != nullptr);
        return true;
    }

    /// Go's g.SetLimit(n): at most n members run at once; n < 0 removes the
    /// limit. Throws goro::panic ("goro::group: set_limit while goroutines
    /// of the group run") if a member is running.
    void set_limit(int n) { detail::group_set_limit(s_, n); }

    /// `co_await g.wait()`: Go's g.Wait(). Suspends until every member
    /// started so far has ended (not at all if none runs), resuming on the
    /// worker that runs the goroutine next; returns the first failure's
    /// error code (empty if none) or rethrows the first failure's exception;
    /// then cancels the group's context. A second wait() throws goro::panic
    /// ("goro::group: wait called twice").
    group_wait_awaiter wait() { return group_wait_awaiter(s_); }

private:
    detail::group_state* s_;
};

/// What with_group returns: `auto [g, ctx] = goro::with_group(parent);`.
struct group_with_context {
    group g;
    context ctx;
};

/// Go's errgroup.WithContext(parent): a group and its context, derived from
/// `parent`. Throws std::bad_alloc.
inline group_with_context with_group(const context& parent)
{
    group g(parent);
    context c = g.ctx();
    return {std::move(g), std::move(c)};
}

} // namespace goro
