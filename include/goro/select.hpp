// goro::select: Go's select statement over channel sends and receives.
#pragma once

#include <goro/chan.hpp>
#include <goro/config.hpp>
#include <goro/detail/chan_core.hpp>
#include <goro/panic.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace goro::inline GORO_ABI {

/// The `default:` of a select: makes it never block.
struct default_case_t {
    explicit constexpr default_case_t() = default;
};
inline constexpr default_case_t default_case{};

namespace detail {

/// What a case does. One byte, where a bool `is_send` used to be: recv and
/// send keep that bool's values.
enum class case_kind : std::uint8_t { recv = 0, send = 1, timer = 2 };

/// One case as the type-erased core sees it: a channel case, or a timer case
/// (goro::after: c and w are nullptr, slot is its detail::timer_case).
struct select_case {
    chan_base* c;
    chan_waiter* w;
    void* slot; // send: the value; recv: storage for the value; timer: the timer_case
    case_kind kind;
};

/// Passes 1 and 2 of Go's selectgo: poll the cases in a random order under all
/// their channels' locks; complete the first ready one (fired = its index), or
/// take the default (fired = -1), or enqueue a waiter on every case and park
/// (fired = -2, returns true). `order` and `locks` are scratch of n entries.
GORO_API bool select_start(select_case* cases, std::uint16_t n, bool has_default, std::uint16_t* order,
                           chan_base** locks, std::uint16_t& nlocks, select_state& st, parked_on& parked,
                           std::coroutine_handle<> leaf, int& fired);
/// Throws goro::panic naming the case asked for and the case that fired.
[[noreturn]] GORO_API void throw_case_did_not_fire(std::size_t asked, std::size_t fired);

/// Pass 3, after a parked select was readied (or when it is destroyed
/// parked): unlinks every case's waiter and returns the index of the case
/// that fired.
GORO_API std::uint16_t select_finish(select_case* cases, std::uint16_t n, chan_base** locks, std::uint16_t nlocks,
                                     select_state& st) noexcept;

template <class C>
struct case_traits; // recv_awaiter, send_awaiter, default_case_t or after_case (goro/after.hpp)

template <class T>
struct case_traits<recv_awaiter<T>> {
    static constexpr bool is_default = false;
    using value = std::optional<T>;
    static select_case describe(recv_awaiter<T>& a) noexcept { return {a.c, &a.w, a.storage, case_kind::recv}; }
};
template <class T>
struct case_traits<send_awaiter<T>> {
    static constexpr bool is_default = false;
    using value = std::monostate;
    static select_case describe(send_awaiter<T>& a) noexcept { return {a.c, &a.w, &a.value, case_kind::send}; }
};
template <>
struct case_traits<default_case_t> {
    static constexpr bool is_default = true;
    using value = std::monostate;
};

} // namespace detail

template <class... Cases>
class select_awaiter;

/// What a select returned: which case fired, and a received value.
template <class... Cases>
class select_result {
public:
    static constexpr std::size_t no_case = sizeof...(Cases);

    /// The position (0-based, in the order the cases were given) of the case
    /// that fired; the default_case's position if none was ready.
    std::size_t index() const noexcept { return index_; }

    /// The value received by receive case I: a value, or std::nullopt if its
    /// channel was closed. Throws goro::panic if case I is not the one that
    /// fired. Only receive cases have a value.
    template <std::size_t I>
    auto& get() &
    {
        check<I>();
        return std::get<I>(values_);
    }
    template <std::size_t I>
    auto&& get() &&
    {
        check<I>();
        return std::move(std::get<I>(values_));
    }

private:
    template <class...>
    friend class select_awaiter;

    template <std::size_t I>
    void check() const
    {
        static_assert(I < sizeof...(Cases), "select_result::get: no such case");
        using C = std::tuple_element_t<I, std::tuple<Cases...>>;
        static_assert(!std::is_same_v<typename detail::case_traits<C>::value, std::monostate>,
                      "select_result::get: only a receive case has a value");
        if (index_ != I)
            detail::throw_case_did_not_fire(I, index_);
    }

    std::size_t index_ = no_case;
    std::tuple<typename detail::case_traits<Cases>::value...> values_;
};

/// The awaiter goro::select returns; holds the cases, their waiters and the
/// select's shared state, all in the awaiting goroutine's frame.
template <class... Cases>
class [[nodiscard]] select_awaiter {
    static constexpr std::size_t total = sizeof...(Cases);
    static constexpr std::size_t defaults = (std::size_t(detail::case_traits<Cases>::is_default) + ... + 0);
    static constexpr std::size_t n = total - defaults;
    static_assert(defaults <= 1, "goro::select: at most one default_case");
    static_assert(n < 0xffff, "goro::select: too many cases");
    static constexpr bool has_default = defaults == 1;
    static constexpr std::size_t slots = n ? n : 1;

    // For each channel case (0..n-1), its position among all cases; and the
    // default's position.
    static constexpr std::array<std::size_t, slots> positions = [] {
        std::array<std::size_t, slots> out{};
        constexpr bool is_default[] = {detail::case_traits<Cases>::is_default..., false};
        std::size_t k = 0;
        for (std::size_t i = 0; i < total; ++i)
            if (!is_default[i])
                out[k++] = i;
        return out;
    }();
    static constexpr std::size_t default_position = [] {
        constexpr bool is_default[] = {detail::case_traits<Cases>::is_default..., false};
        for (std::size_t i = 0; i < total; ++i)
            if (is_default[i])
                return i;
        return total;
    }();

public:
    explicit select_awaiter(Cases&&... cases) : cases_(std::move(cases)...) {}
    /// A select destroyed while parked, or readied but not yet resumed (its
    /// goroutine destroyed at the end of its run), takes its waiters off
    /// every channel; a received value never taken dies with its case.
    ~select_awaiter()
    {
        if (fired_ == -2)
            detail::select_finish(desc_.data(), std::uint16_t(n), locks_.data(), nlocks_, state_);
    }

    bool await_ready() const noexcept { return false; }

    bool await_suspend(std::coroutine_handle<> leaf)
    {
        describe(std::make_index_sequence<total>{});
        return detail::select_start(desc_.data(), std::uint16_t(n), has_default, order_.data(), locks_.data(),
                                    nlocks_, state_, parked_, leaf, fired_);
    }

    select_result<Cases...> await_resume()
    {
        if (fired_ == -2)
            fired_ = detail::select_finish(desc_.data(), std::uint16_t(n), locks_.data(), nlocks_, state_);
        const int k = fired_;
        select_result<Cases...> r;
        if (k == -1) {
            r.index_ = default_position;
            return r;
        }
        fill(r, std::size_t(k), std::make_index_sequence<total>{});
        return r;
    }

private:
    template <std::size_t... I>
    void describe(std::index_sequence<I...>) noexcept
    {
        std::size_t k = 0;
        (describe_one(std::get<I>(cases_), k), ...);
    }
    template <class C>
    void describe_one(C& c, std::size_t& k) noexcept
    {
        if constexpr (!detail::case_traits<C>::is_default)
            desc_[k++] = detail::case_traits<C>::describe(c);
    }

    template <std::size_t... I>
    void fill(select_result<Cases...>& r, std::size_t k, std::index_sequence<I...>)
    {
        r.index_ = positions[k];
        (fill_one<I>(r), ...);
    }
    template <std::size_t I>
    void fill_one(select_result<Cases...>& r)
    {
        if (r.index_ != I)
            return;
        using C = std::tuple_element_t<I, std::tuple<Cases...>>;
        if constexpr (!detail::case_traits<C>::is_default) {
            auto& c = std::get<I>(cases_);
            if constexpr (std::is_same_v<typename detail::case_traits<C>::value, std::monostate>)
                c.await_resume(); // a send: throws if its channel was closed
            else
                std::get<I>(r.values_) = c.await_resume();
        }
    }

    std::tuple<Cases...> cases_;
    detail::select_state state_;
    // Scratch filled by await_suspend before any read: left uninitialized.
    std::array<detail::select_case, slots> desc_;
    std::array<std::uint16_t, slots> order_;
    std::array<detail::chan_base*, slots> locks_;
    detail::parked_on parked_{};
    std::uint16_t nlocks_ = 0;
    // -3: not started; -2: parked (waiters queued until select_finish);
    // -1: the default; else the channel case that fired.
    int fired_ = -3;
};

/// `co_await goro::select(a.recv(), b.send(x), goro::default_case)`: Go's
/// select. Cases are channel receives (`ch.recv()`), sends (`ch.send(v)`),
/// timeouts (`goro::after(d)`, goro/after.hpp) and at most one
/// goro::default_case, in any order; the same channel may appear in several
/// cases.
///
/// - If some cases can proceed, one of them is chosen uniformly at random and
///   completes; the select does not suspend (it spends one unit of the
///   cooperative budget).
/// - Else, with a default_case, the default is chosen at once.
/// - Else the goroutine parks on every case and the first channel operation
///   that can complete one of them does; the others are withdrawn. It resumes
///   on the P of the goroutine that completed it. A nil channel's case never
///   fires; a select with no channel cases and no default parks forever.
/// - The result's index() is the position of the case that fired; get<I>()
///   is receive case I's std::optional<T> (std::nullopt: the channel was
///   closed).
/// - A send case on a closed channel throws goro::panic, like a send.
/// Waiting allocates nothing: every waiter lives in the awaiter.
template <class... Cases>
select_awaiter<std::remove_cvref_t<Cases>...> select(Cases&&... cases)
{
    return select_awaiter<std::remove_cvref_t<Cases>...>(std::remove_cvref_t<Cases>(std::forward<Cases>(cases))...);
}

} // namespace goro
