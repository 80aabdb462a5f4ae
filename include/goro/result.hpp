// goro::result<T>: a value or an error, Go's (T, error).
//
// What the world does (a missing file, a full disk, a closed descriptor) comes
// back as a result; a result never throws until asked for a value it does not
// hold. The error is a std::error_code in std::system_category() holding an
// errno value, so it compares equal to the portable std::errc conditions:
//
//   auto r = co_await goro::fs::open("/etc/hosts");
//   if (!r)                                   // Go: if err != nil
//       return r.error();                     //     return err
//   if (r.error() == std::errc::no_such_file_or_directory) ...  // errors.Is(err, fs.ErrNotExist)
//
// A result holds exactly one of the two: there is no (value, error) pair
// with both set, and no error that is "no error" (building a result from an
// empty error_code throws goro::panic).
#pragma once

#include <goro/config.hpp>
#include <goro/panic.hpp>

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace goro::inline GORO_ABI {

namespace detail {

[[noreturn]] inline void empty_error_code()
{
    throw goro::panic("goro::result: built from an empty error_code (an error that is no error)");
}

} // namespace detail

/// A T or a std::error_code (Go's `(T, error)`). Copyable and movable as T is.
template <class T>
class [[nodiscard]] result {
    static_assert(!std::is_reference_v<T>, "goro::result<T&> is not supported; hold a pointer");
    static_assert(!std::is_same_v<std::remove_cv_t<T>, std::error_code>, "goro::result<std::error_code>: ambiguous");

public:
    using value_type = T;

    /// Holds `v`.
    result(const T& v) : v_(std::in_place_index<0>, v) {}
    result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
    /// Holds the error `e`. Throws goro::panic if `e` is empty (value 0).
    result(std::error_code e) : v_(std::in_place_index<1>, e)
    {
        if (!e)
            detail::empty_error_code();
    }

    /// Whether it holds a value.
    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// The value. Throws std::system_error carrying error() if it holds an
    /// error.
    T& value() &
    {
        check();
        return *std::get_if<0>(&v_);
    }
    const T& value() const&
    {
        check();
        return *std::get_if<0>(&v_);
    }
    T&& value() &&
    {
        check();
        return std::move(*std::get_if<0>(&v_));
    }

    /// The error, or an empty error_code (false in a condition) if it holds
    /// a value.
    std::error_code error() const noexcept
    {
        const std::error_code* e = std::get_if<1>(&v_);
        return e ? *e : std::error_code();
    }

    /// As value(): they throw std::system_error if it holds an error.
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

private:
    void check() const
    {
        if (const std::error_code* e = std::get_if<1>(&v_)) [[unlikely]]
            throw std::system_error(*e);
    }

    std::variant<T, std::error_code> v_;
};

/// Success or an error (Go's lone `error` result).
template <>
class [[nodiscard]] result<void> {
public:
    using value_type = void;

    /// Success.
    result() noexcept = default;
    /// The error `e`. Throws goro::panic if `e` is empty (value 0).
    result(std::error_code e) : e_(e)
    {
        if (!e)
            detail::empty_error_code();
    }

    bool ok() const noexcept { return !e_; }
    explicit operator bool() const noexcept { return ok(); }
    /// Returns if it holds success; throws std::system_error carrying
    /// error() otherwise.
    void value() const
    {
        if (e_) [[unlikely]]
            throw std::system_error(e_);
    }
    /// The error, or an empty error_code on success.
    std::error_code error() const noexcept { return e_; }

private:
    std::error_code e_;
};

/// The error of errno value `err` (> 0), in std::system_category().
inline std::error_code errno_code(int err) noexcept { return std::error_code(err, std::system_category()); }

} // namespace goro
