// goro::task<T>: the coroutine type of goro, Go's `func f() T`.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/panic.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace goro::inline GORO_ABI {

template <class T>
class task;

template <class T>
class join_handle;

namespace detail {

template <class T>
class task_promise : public promise_base {
public:
    task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }

    template <class U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>)
    {
        ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(v));
        has_value_ = true;
    }

    /// The result, moved out; rethrows the coroutine's exception.
    T take()
    {
        if (error)
            std::rethrow_exception(error);
        return std::move(value_);
    }

    task_promise() noexcept {}
    ~task_promise()
    {
        if (has_value_)
            value_.~T();
    }

private:
    union {
        T value_;
    };
    bool has_value_ = false;
};

template <>
class task_promise<void> : public promise_base {
public:
    task<void> get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
    void return_void() const noexcept {}

    void take()
    {
        if (error)
            std::rethrow_exception(error);
    }
};

template <class T>
struct task_release;

} // namespace detail

/// A lazily started coroutine returning T: Go's `func f() T`.
///
/// Contract:
/// - Calling a `task`-returning function allocates its frame (from the current
///   P's frame cache) and runs nothing. The body starts when the task is
///   co_awaited, or when it is handed to goro::go / goro::spawn.
/// - `co_await t` runs the task on the awaiting goroutine by symmetric transfer
///   (no trip through the scheduler, no stack growth) and resumes the awaiter
///   on whatever worker the task finished on. It returns the co_returned value
///   or rethrows the exception that escaped the task. Where the compiler did
///   not make the transfer a tail call (g++ with some flags) the stack grows
///   by a frame per call and return; past 256 KiB of a worker's stack, the
///   goroutine is parked and continues from the worker loop (as through
///   goro::yield), so no chain of co_awaits overflows the stack.
/// - Move-only. Destroying a task that never started frees its frame without
///   running it. A task can be awaited once; awaiting an empty (moved-from or
///   already awaited) task throws goro::panic.
/// - T is void or a move-constructible object type; for a reference, return a
///   pointer or std::reference_wrapper.
///
/// With g++ 12, bind lambdas and temporaries to named locals before co_await
/// (GCC PR100611, PR101367): `auto t = f(); co_await std::move(t);` is always
/// safe, and so is `co_await f(args)` with plain arguments.
template <class T = void>
class [[nodiscard]] task {
    static_assert(!std::is_reference_v<T>,
                  "goro::task<T&> is not supported: return a pointer or std::reference_wrapper");

public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    task& operator=(task&& other) noexcept
    {
        if (this != &other) {
            if (h_)
                h_.destroy();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task()
    {
        if (h_)
            h_.destroy();
    }

    /// True when the task holds a coroutine that has not been awaited.
    explicit operator bool() const noexcept { return h_ && !h_.done(); }

    struct [[nodiscard]] awaiter {
        std::coroutine_handle<promise_type> h;

        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept
        {
            h.promise().continuation = caller;
            return detail::symmetric_transfer(h);
        }
        T await_resume() { return h.promise().take(); }
    };

    awaiter operator co_await() &&
    {
        check_awaitable();
        return awaiter{h_};
    }
    awaiter operator co_await() &
    {
        check_awaitable();
        return awaiter{h_};
    }

private:
    friend class detail::task_promise<T>;
    friend struct detail::task_release<T>;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

    void check_awaitable() const
    {
        if (!h_ || h_.done() || h_.promise().continuation)
            throw panic("goro::task: co_await on an empty or already awaited task");
    }

    std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept
{
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}

inline task<void> task_promise<void>::get_return_object() noexcept
{
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

/// Takes the coroutine out of a task (for go/spawn); panics on an empty task.
template <class T>
struct task_release {
    static std::coroutine_handle<task_promise<T>> release(task<T>& t, const char* what)
    {
        if (!t.h_ || t.h_.done() || t.h_.promise().continuation)
            throw panic(what);
        return std::exchange(t.h_, {});
    }
};

} // namespace detail
} // namespace goro
