// goro::yield: Go's runtime.Gosched.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/sched.hpp>

#include <coroutine>

namespace goro::inline GORO_ABI {

namespace detail {
struct [[nodiscard]] yield_awaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> leaf) const noexcept { gosched(leaf); }
    void await_resume() const noexcept {}
};
} // namespace detail

/// `co_await goro::yield()` always suspends the running goroutine and queues it
/// on the global run queue, as Go's Gosched does; it resumes on whichever
/// worker picks it up next (every P takes from that queue at least every 61
/// goroutines, and whenever its own queue is empty). Never throws. Awaited outside a goroutine
/// (impossible from a goro::task run by goro) it ends the program with
/// "fatal error: goro::yield: awaited outside a goroutine".
inline detail::yield_awaiter yield() noexcept { return {}; }

} // namespace goro
