// The move-only lock owner behind goro::mutex::guard and rw_mutex's
// write_guard and read_guard.
#pragma once

#include <goro/panic.hpp>

#include <mutex>
#include <utility>

namespace goro::inline GORO_ABI::detail {

/// Owns one hold of an `M` and gives it back with `(m.*Unlock)()` when
/// destroyed.
template <class M, void (M::*Unlock)()>
class [[nodiscard]] basic_guard {
public:
    basic_guard() noexcept = default;
    /// Takes ownership of a hold the caller already has.
    basic_guard(M& m, std::adopt_lock_t) noexcept : m_(&m) {}
    basic_guard(basic_guard&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    basic_guard& operator=(basic_guard&& other) noexcept
    {
        if (this != &other) {
            reset();
            m_ = std::exchange(other.m_, nullptr);
        }
        return *this;
    }
    basic_guard(const basic_guard&) = delete;
    basic_guard& operator=(const basic_guard&) = delete;
    /// Unlocks if the guard still owns its hold. An unlock that throws (the
    /// lock was released behind the guard's back) ends the program.
    ~basic_guard() { reset(); }

    /// Unlocks early. Throws goro::panic if the guard owns nothing.
    void unlock()
    {
        M* m = release();
        if (!m)
            throw panic("goro: unlock of a guard that owns no lock");
        (m->*Unlock)();
    }
    /// Gives up ownership without unlocking; returns the lock (or nullptr).
    M* release() noexcept { return std::exchange(m_, nullptr); }
    bool owns_lock() const noexcept { return m_ != nullptr; }
    explicit operator bool() const noexcept { return owns_lock(); }
    /// The lock this guard holds, or nullptr.
    M* get() const noexcept { return m_; }

private:
    void reset() noexcept
    {
        if (M* m = std::exchange(m_, nullptr))
            (m->*Unlock)();
    }

    M* m_ = nullptr;
};

} // namespace goro::detail
