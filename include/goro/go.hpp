// goro::go and goro::spawn: start goroutines (Go's `go` statement), detached or
// joinable.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/sched.hpp>
#include <goro/panic.hpp>
#include <goro/task.hpp>

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace goro::inline GORO_ABI {

namespace detail {

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

GORO_API bool join_park(promise_base& target, std::coroutine_handle<> leaf, parked_on& parked);
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
inline constexpr bool invoked_on_lvalues_v = std::is_invocable_v<F&, Args&...>;

template <class F, class... Args>
decltype(auto) invoke_frame_copies(F& fn, Args&... args)
{
    if constexpr (invoked_on_lvalues_v<F, Args...>)
        return std::invoke(fn, args...);
    else
        return std::invoke(fn, std::move(args)...);
}

// # fn's reference parameters must bind to the frame's copies
//
// A reference parameter of fn that needs a conversion binds to a temporary
// (a string literal for a `const std::string&`, an int for a `const long&`).
// The temporary dies at the end of the call in invoke_in_frame, while the
// task fn returned still refers to it. Only a task result outlives the call,
// so only then is the binding checked, and a bad one does not compile:
//  - when fn's parameter types can be seen (a function, a member function,
//    a class with one non-template operator()), each reference parameter is
//    checked against the argument it gets (reference_binds_temporary_v, the
//    C++23 trait or the compilers' builtin where they exist); a reference
//    parameter left to its default argument is refused when the default
//    could be a temporary (a const lvalue or an rvalue reference). By-value
//    parameters may convert: the callee's frame owns the result.
//  - otherwise (a generic lambda, an overloaded or template operator()), fn
//    must be invocable with stand-ins (frame_lvalue, frame_xvalue) that
//    convert to nothing but a reference to the frame's copy, or to a base of
//    it (for a std::reference_wrapper, also to the object it refers to).
//    Parameters deduced from the arguments bind to the copies; any other
//    parameter must then be of the argument's own type, or a base of it.
//    (Invoking a generic lambda whose return type is deduced instantiates
//    its body with the stand-ins; write its return type, or give it explicit
//    parameter types.)

// Whether initializing the reference P from an expression of type A (A& an
// lvalue, A&& an xvalue) binds P to a temporary.
#if defined(__cpp_lib_reference_from_temporary)
template <class P, class A>
inline constexpr bool reference_binds_temporary_v = std::reference_constructs_from_temporary_v<P, A>;
#elif defined(__has_builtin) && __has_builtin(__reference_constructs_from_temporary)
template <class P, class A>
inline constexpr bool reference_binds_temporary_v = __reference_constructs_from_temporary(P, A);
#elif defined(__has_builtin) && __has_builtin(__reference_binds_to_temporary)
template <class P, class A>
inline constexpr bool reference_binds_temporary_v = __reference_binds_to_temporary(P, A);
#else
// g++ 12 has neither: P binds without a temporary to an A that is its own
// type or derived from it, to what a std::reference_wrapper<A'> refers to
// (A' its own type or derived), or through a conversion function of A's
// class named for a reference to P's type. Anything else that initializes P
// makes a temporary. Other conversion functions to references (a template,
// one to a derived class) are missed, which refuses a safe call: the error
// is on the safe side.
template <class S, class U>
concept converts_to_reference_to = requires { &S::operator U&; } ||
                                   requires { &S::operator std::remove_cv_t<U>&; } ||
                                   requires { &S::operator U&&; } ||
                                   requires { &S::operator std::remove_cv_t<U>&&; };

template <class S, class U>
inline constexpr bool unwraps_to = false;
template <class W, class U>
inline constexpr bool unwraps_to<std::reference_wrapper<W>, U> = std::is_convertible_v<W*, U*>;

template <class P, class A>
consteval bool reference_binds_temporary()
{
    using U = std::remove_reference_t<P>;
    using S = std::remove_reference_t<A>;
    if constexpr (!std::is_reference_v<P> || !std::is_constructible_v<P, A>)
        return false;
    else if constexpr (std::is_convertible_v<S*, U*>)
        return false;
    else if constexpr (std::is_class_v<S> && converts_to_reference_to<S, U>)
        return false;
    else if constexpr (unwraps_to<std::remove_cv_t<S>, U>)
        return false;
    else
        return true;
}

template <class P, class A>
inline constexpr bool reference_binds_temporary_v = reference_binds_temporary<P, A>();
#endif

template <class... Ts>
struct type_list {
    static constexpr std::size_t size = sizeof...(Ts);
};

// The parameters of fn's call operator, when they can be seen: `known`,
// `params` (a type_list) and `skip`, how many leading arguments are not
// parameters (the object of a member function).
template <class F>
struct call_params {
    static constexpr bool known = false;
};

template <class R, class... Ps>
struct call_params<R (*)(Ps...)> {
    static constexpr bool known = true;
    static constexpr std::size_t skip = 0;
    using params = type_list<Ps...>;
};
template <class R, class... Ps>
struct call_params<R (*)(Ps...) noexcept> : call_params<R (*)(Ps...)> {};

template <class M>
struct member_params {
    static constexpr bool known = false;
};
#define GORO_DETAIL_MEMBER_PARAMS(QUALS)                                                                          \
    template <class R, class C, class... Ps>                                                                       \
    struct member_params<R (C::*)(Ps...) QUALS> {                                                                  \
        static constexpr bool known = true;                                                                        \
        using params = type_list<Ps...>;                                                                           \
    };                                                                                                             \
    template <class R, class C, class... Ps>                                                                       \
    struct member_params<R (C::*)(Ps...) QUALS noexcept> : member_params<R (C::*)(Ps...) QUALS> {};
GORO_DETAIL_MEMBER_PARAMS()
GORO_DETAIL_MEMBER_PARAMS(&)
GORO_DETAIL_MEMBER_PARAMS(&&)
GORO_DETAIL_MEMBER_PARAMS(const)
GORO_DETAIL_MEMBER_PARAMS(const&)
GORO_DETAIL_MEMBER_PARAMS(const&&)
GORO_DETAIL_MEMBER_PARAMS(volatile)
GORO_DETAIL_MEMBER_PARAMS(volatile&)
GORO_DETAIL_MEMBER_PARAMS(volatile&&)
GORO_DETAIL_MEMBER_PARAMS(const volatile)
GORO_DETAIL_MEMBER_PARAMS(const volatile&)
GORO_DETAIL_MEMBER_PARAMS(const volatile&&)
#undef GORO_DETAIL_MEMBER_PARAMS

template <class F>
    requires std::is_member_function_pointer_v<F>
struct call_params<F> : member_params<F> {
    static constexpr std::size_t skip = 1; // the object
};

template <class F>
    requires std::is_class_v<F> && requires { &F::operator(); }
struct call_params<F> : member_params<decltype(&F::operator())> {
    static constexpr std::size_t skip = 0;
};

// Parameter P gets argument I of Args (a reference type: Args& or Args&&
// as invoke_frame_copies passes it), or its default argument.
template <class P, std::size_t I, class... Args>
consteval bool param_binds_frame()
{
    if constexpr (I < sizeof...(Args))
        return !reference_binds_temporary_v<P, std::tuple_element_t<I, std::tuple<Args...>>>;
    else // a default argument: a temporary unless P binds only lvalues
        return !std::is_reference_v<P> ||
               (std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>);
}

template <std::size_t Skip, class... Args, class... Ps, std::size_t... Is>
consteval bool params_bind_frame(type_list<Ps...>, std::index_sequence<Is...>)
{
    return (param_binds_frame<Ps, Skip + Is, Args...>() && ...);
}

// Stand-ins for the frame's copy of an argument of type D, passed as an
// lvalue (frame_lvalue&) or an xvalue (frame_xvalue): they convert to a
// reference to D or a base of D, and nothing else (the conversion function
// templates deduce their target, so no conversion can follow).
template <class D, class T>
concept frame_ref_target = std::is_convertible_v<D*, T*>;

template <class D, class T>
inline constexpr bool frame_wrapped_target_v = false;
template <class U, class T>
inline constexpr bool frame_wrapped_target_v<std::reference_wrapper<U>, T> = std::is_convertible_v<U*, T*>;
template <class D, class T>
concept frame_wrapped_target = frame_wrapped_target_v<D, T>;

template <class D>
struct frame_lvalue {
    template <class T>
        requires frame_ref_target<D, T> || frame_wrapped_target<D, T>
    operator T&() const noexcept;
};

template <class D>
struct frame_xvalue {
    template <class T>
        requires frame_ref_target<D, T>
    operator T&&() const noexcept;
    template <class T>
        requires frame_wrapped_target<D, T>
    operator T&() const noexcept;
};

// Whether go(fn, args...) may start `fn` on the frame's copies of `args`.
template <class F, class... Args>
consteval bool binds_frame()
{
    constexpr bool lvalues = invoked_on_lvalues_v<F, Args...>;
    using result = typename std::conditional_t<lvalues, std::invoke_result<F&, Args&...>,
                                               std::invoke_result<F&, Args&&...>>::type;
    if constexpr (!is_task_v<std::remove_cvref_t<result>>) {
        return true; // only a task result outlives the call
    } else if constexpr (call_params<F>::known) {
        using sig = call_params<F>;
        using params = typename sig::params;
        if constexpr (lvalues)
            return params_bind_frame<sig::skip, Args&...>(params{}, std::make_index_sequence<params::size>{});
        else
            return params_bind_frame<sig::skip, Args&&...>(params{}, std::make_index_sequence<params::size>{});
    } else if constexpr (lvalues) {
        return std::is_invocable_v<F&, frame_lvalue<Args>&...>;
    } else {
        return std::is_invocable_v<F&, frame_xvalue<Args>...>;
    }
}

template <class F, class... Args>
struct frame_binding {
    /// fn's parameter types can be seen.
    static constexpr bool known = call_params<F>::known;
    static constexpr bool ok = binds_frame<F, Args...>();
};

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
/// Does not suspend the caller. The new goroutine is queued on the current P,
/// which runs the goroutines started on it newest first (docs/guide/
/// goroutines.md); an idle P is woken to steal work if there is one. Called from a thread that is
/// not a goro worker, it goes to the global run queue of the running runtime.
/// A value returned by `t` is discarded. An exception escaping `t` ends the
/// program like an unrecovered Go panic: "panic: <what()>" and the spawn site
/// on stderr, exit status 2.
/// Throws goro::panic if `t` is empty or already started, or no runtime runs
/// (from a thread that is not a worker, this includes a runtime whose run()
/// is returning); the task's frame is freed then. Callable from any thread.
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
///
/// When `fn` returns a task, each of its reference parameters must bind to the
/// frame's copy (or what a std::reference_wrapper refers to), never to a
/// temporary converted from it: `go(f, "text")` for
/// `task<void> f(const std::string&)` does not compile (a static_assert
/// says why). Pass an argument of the parameter's own type
/// (`std::string("text")`) or take the parameter by value; by-value
/// parameters may convert. For a generic lambda or an overloaded
/// operator(), whose parameter types cannot be seen, every parameter must
/// accept the frame's copy without a conversion (a deduced `auto` parameter,
/// the argument's own type or a base of it).
/// Otherwise as go(task).
template <class F, class... Args>
    requires detail::invocable_in_frame_v<std::decay_t<F>, std::decay_t<Args>...> &&
             (!detail::is_task_v<std::decay_t<F>>)
void go(F&& fn, Args&&... args)
{
    using binding = detail::frame_binding<std::decay_t<F>, std::decay_t<Args>...>;
    static_assert(binding::ok || !binding::known,
                  "goro::go(fn, args...): a reference parameter of fn would bind to a temporary converted from "
                  "its argument, which dies before the goroutine runs. Pass an argument of the parameter's own "
                  "type (std::string(\"...\"), not a string literal, for a const std::string&), or take the "
                  "parameter by value.");
    static_assert(binding::ok || binding::known,
                  "goro::go(fn, args...): fn's parameter types cannot be seen (a generic lambda or an overloaded "
                  "operator()), and fn does not accept the goroutine's copies of the arguments without "
                  "converting them, so a reference parameter could bind to a temporary. Pass arguments of the "
                  "types fn takes, or give fn explicit parameter types.");
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
/// A handle that outlives its run keeps the goroutine's frame: awaiting it
/// returns the result if the goroutine finished, and throws goro::panic if
/// the run ended first (the frame is then destroyed with the handle).
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
        detail::parked_on parked{};

        bool await_ready() const noexcept { return self.done() && detail::take_budget(); }
        bool await_suspend(std::coroutine_handle<> leaf)
        {
            return detail::join_park(self.h_.promise(), leaf, parked);
        }
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
        return awaiter{*this, {}};
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
