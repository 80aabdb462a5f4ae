// goro::go and goro::spawn: start goroutines (Go's `go` statement), detached or
// joinable.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/sched.hpp>
#include <goro/panic.hpp>
#include <goro/task.hpp>

#include <functional>
#include <type_traits>
#include <utility>

namespace goro {

namespace detail {

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

GORO_API bool join_park(promise_base& target, std::coroutine_handle<> leaf);
GORO_API void join_detach(promise_base& target, std::coroutine_handle<> frame) noexcept;

template <class T>
std::coroutine_handle<task_promise<T>> make_root(task<T>& t, g_kind kind, spawn_site site,
                                                 const char* what)
{
    auto h = task_release<T>::release(t, what);
    promise_base& g = h.promise();
    g.kind = kind;
    g.site_file = site.file;
    g.site_line = site.line;
    g.leaf = h;
    return h;
}

// The frame of a goroutine started with go(fn, args...): fn and args are
// parameters of this coroutine, so they live in its frame for as long as the
// goroutine runs, and `fn` is invoked on those copies: as lvalues when it
// accepts them (so a reference parameter binds to the frame's copy), else as
// rvalues (so a move-only argument can be taken by value).
template <class F, class... Args>
inline constexpr bool invocable_in_frame_v =
    std::is_invocable_v<F&, Args&...> || std::is_invocable_v<F&, Args&&...>;

template <class F, class... Args>
decltype(auto) invoke_frame_copies(F& fn, Args&... args)
{
    if constexpr (std::is_invocable_v<F&, Args&...>)
        return std::invoke(fn, args...);
    else
        return std::invoke(fn, std::move(args)...);
}

template <class F, class... Args>
task<void> invoke_in_frame(F fn, Args... args)
{
    using result = decltype(invoke_frame_copies(fn, args...));
    if constexpr (is_task_v<std::remove_cvref_t<result>>) {
        std::remove_cvref_t<result> inner = invoke_frame_copies(fn, args...);
        co_await std::move(inner);
    } else {
        invoke_frame_copies(fn, args...);
    }
}

} // namespace detail

/// Starts `t` as a new detached goroutine: Go's `go f(x)`.
///
/// Does not suspend the caller. The new goroutine is queued at the tail of the
/// current P's run queue (goroutines started in a burst run in the order they
/// were started); an idle P is woken to steal work if there is one. Called from a thread that is
/// not a goro worker, it goes to the global run queue of the running runtime.
/// A value returned by `t` is discarded. An exception escaping `t` ends the
/// program like an unrecovered Go panic: "panic: <what()>" and the spawn site
/// on stderr, exit status 2.
/// Throws goro::panic if `t` is empty or already started, or no runtime runs.
template <class T>
void go(task<T> t, detail::spawn_site site = detail::spawn_site::here())
{
    auto h = detail::make_root(t, detail::g_kind::detached, site, "goro::go: empty or already started task");
    detail::start_goroutine(h.promise(), "goro::go");
}

/// Starts `fn(args...)` as a detached goroutine. `fn` and every argument are
/// decay-copied (or moved) into the goroutine's own frame first, so nothing the
/// caller owns can dangle; pass std::ref or a pointer to share an object on
/// purpose. `fn` gets the frame's copies as lvalues if it accepts them, else as
/// rvalues (move-only arguments by value). It may return a goro::task (which is
/// then awaited) or anything else (ignored).
/// Otherwise as go(task).
template <class F, class... Args>
    requires detail::invocable_in_frame_v<std::decay_t<F>, std::decay_t<Args>...> &&
             (!detail::is_task_v<std::decay_t<F>>)
void go(F&& fn, Args&&... args)
{
    task<void> t = detail::invoke_in_frame(std::decay_t<F>(std::forward<F>(fn)),
                                           std::decay_t<Args>(std::forward<Args>(args))...);
    go(std::move(t), detail::spawn_site{});
}

/// A joinable goroutine started by goro::spawn (beyond Go).
///
/// `co_await h` suspends until the goroutine has finished, then returns its
/// result or rethrows its exception; it resumes on the worker that finished the
/// goroutine. If the goroutine is already done it completes without suspending,
/// spending one unit of the cooperative budget (at zero it yields first). A handle can be
/// awaited once; awaiting an empty handle throws goro::panic.
/// Destroying the handle without awaiting it detaches the goroutine: it keeps
/// running, and an exception it throws then ends the program as for goro::go.
template <class T>
class [[nodiscard]] join_handle {
public:
    using promise_type = detail::task_promise<T>;

    join_handle() noexcept = default;
    join_handle(join_handle&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    join_handle& operator=(join_handle&& o) noexcept
    {
        if (this != &o) {
            detach();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    join_handle(const join_handle&) = delete;
    join_handle& operator=(const join_handle&) = delete;
    ~join_handle() { detach(); }

    /// True while the handle refers to a goroutine that was not yet joined.
    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

    /// True once the goroutine has finished (its result is ready to take).
    bool done() const noexcept
    {
        return h_ && h_.promise().join.load(std::memory_order_acquire) == detail::join_done;
    }

    /// Lets the goroutine run on without anyone waiting for it.
    void detach() noexcept
    {
        if (h_) {
            auto h = std::exchange(h_, {});
            detail::join_detach(h.promise(), h);
        }
    }

    struct [[nodiscard]] awaiter {
        join_handle& self;

        bool await_ready() const noexcept { return self.done() && detail::spend_budget(); }
        bool await_suspend(std::coroutine_handle<> leaf) { return detail::join_park(self.h_.promise(), leaf); }
        T await_resume()
        {
            auto h = std::exchange(self.h_, {});
            struct destroy_frame {
                std::coroutine_handle<promise_type> h;
                ~destroy_frame() { h.destroy(); }
            } guard{h};
            return h.promise().take();
        }
    };

    awaiter operator co_await() &
    {
        if (!h_)
            throw panic("goro::join_handle: co_await on an empty or already joined handle");
        return awaiter{*this};
    }
    awaiter operator co_await() && { return operator co_await(); }

private:
    template <class U>
    friend join_handle<U> spawn(task<U>, detail::spawn_site);
    explicit join_handle(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

    std::coroutine_handle<promise_type> h_;
};

/// Starts `t` as a goroutine like goro::go and returns a handle to join it.
/// Does not suspend. Throws goro::panic if `t` is empty or no runtime runs.
template <class T>
join_handle<T> spawn(task<T> t, detail::spawn_site site = detail::spawn_site::here())
{
    auto h = detail::make_root(t, detail::g_kind::joinable, site, "goro::spawn: empty or already started task");
    detail::start_goroutine(h.promise(), "goro::spawn"); // on failure it frees the frame and throws
    return join_handle<T>(h);
}

} // namespace goro
