// goro::blocking: run a blocking function on a pool of threads, parking the
// goroutine (never its worker) until it returns. Go hands its P to another
// thread during a blocking system call; Tokio has spawn_blocking.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace goro::inline GORO_ABI {

namespace detail {

/// One call of goro::blocking as the pool sees it (lib/blocking/pool.cpp):
/// the base of the awaiter, so it lives in the goroutine's frame and a call
/// allocates nothing. `invoke` and `g` are written before the job is queued;
/// `prev`, `next` and `queued` are guarded by the pool's lock. The pool
/// thread that takes the job calls invoke, then readies g.
struct blocking_job {
    parked_on parked;
    blocking_job* prev;
    blocking_job* next;
    goroutine* g;
    /// Runs fn and stores its result or its exception; never throws.
    void (*invoke)(blocking_job& self) noexcept;
    bool queued;
};

/// Queues `job` (a record on the heap, which its invoke frees) for a blocking
/// thread without parking anyone; sets job.g to nullptr, so the pool readies
/// no goroutine after invoke. Throws std::system_error when no blocking
/// thread exists and none can be started (the job is then not queued).
GORO_API void blocking_submit(blocking_job& job);

/// Parks the running goroutine at `leaf` and queues `job` for a blocking
/// thread. Returns true (parked). Throws goro::panic outside a goroutine, and
/// std::system_error when no blocking thread exists and none can be started.
GORO_API bool blocking_park(blocking_job& job, std::coroutine_handle<> leaf);

/// Where a blocking call keeps fn's result until the goroutine takes it.
template <class R>
struct blocking_result {
    static_assert(!std::is_rvalue_reference_v<R>, "goro::blocking: fn returns an rvalue reference; return a value");
    std::optional<R> value;
    template <class Fn>
    void store(Fn& fn)
    {
        value.emplace(std::invoke(fn));
    }
    R take() { return std::move(*value); }
};
template <class R>
struct blocking_result<R&> {
    R* value = nullptr;
    template <class Fn>
    void store(Fn& fn)
    {
        value = &std::invoke(fn);
    }
    R& take() const noexcept { return *value; }
};
template <>
struct blocking_result<void> {
    template <class Fn>
    void store(Fn& fn)
    {
        std::invoke(fn);
    }
    void take() const noexcept {}
};

} // namespace detail

/// What goro::blocking returns: await it once, at once.
template <class Fn>
class [[nodiscard]] blocking_awaiter : private detail::blocking_job {
public:
    using result_type = std::invoke_result_t<Fn&>;

    template <class F>
    explicit blocking_awaiter(F&& fn) : fn_(std::forward<F>(fn))
    {
    }
    // Queued jobs and the pool thread point into it.
    blocking_awaiter(const blocking_awaiter&) = delete;
    blocking_awaiter& operator=(const blocking_awaiter&) = delete;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> leaf)
    {
        invoke = &run;
        return detail::blocking_park(*this, leaf);
    }
    result_type await_resume()
    {
        if (error_)
            std::rethrow_exception(error_);
        return result_.take();
    }

private:
    static void run(detail::blocking_job& job) noexcept
    {
        auto& self = static_cast<blocking_awaiter&>(job);
        try {
            self.result_.store(self.fn_);
        } catch (...) {
            self.error_ = std::current_exception();
        }
    }

    Fn fn_;
    detail::blocking_result<result_type> result_;
    std::exception_ptr error_;
};

/// `co_await goro::blocking(fn)` runs fn() on one of goro's blocking threads
/// and returns what it returns (a value, a reference, void, a move-only
/// value), or rethrows the exception it threw, with its type. For calls that
/// block the thread: a read(2) of a file, a DNS lookup through getaddrinfo, a
/// C library without an asynchronous interface, a long computation.
///
/// The goroutine always suspends (its worker runs other goroutines
/// meanwhile) and resumes, once fn has returned, on whichever worker runs it
/// next. fn is moved or copied into the awaiter, which lives in the
/// goroutine's frame, so fn may refer to the goroutine's locals; the call
/// allocates nothing. fn runs on a thread that is not a goro worker: it must
/// not co_await, but it may use what other threads may (goro::go, a
/// channel's try_send or close, a mutex's unlock, ...).
///
/// The blocking threads are shared by the process: at most
/// runtime_config::max_blocking_threads (default 512) run functions at once,
/// later calls wait in FIFO order for a free thread, and a thread idle for
/// runtime_config::blocking_keep_alive (default 10 s) exits.
///
/// When the run ends, a call still waiting for a thread is dropped (fn never
/// runs) and its goroutine destroyed; a call whose fn is running is waited
/// for, since fn may use the frame: run() does not return before fn does.
///
/// Awaiting it outside a goroutine throws goro::panic ("goro::blocking
/// outside a goroutine"), without running fn; when no blocking thread exists
/// and the system refuses to start one, the await throws std::system_error.
template <class Fn>
[[nodiscard]] blocking_awaiter<std::decay_t<Fn>> blocking(Fn&& fn)
{
    static_assert(std::is_invocable_v<std::decay_t<Fn>&>, "goro::blocking: fn must be callable with no arguments");
    return blocking_awaiter<std::decay_t<Fn>>(std::forward<Fn>(fn));
}

} // namespace goro
