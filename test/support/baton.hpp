// A test-only awaitable on the runtime semaphore: lets tests build handoffs
// (one goroutine readies another through runnext) before channels exist.
#pragma once

#include <goro/detail/sema.hpp>

#include <coroutine>

namespace goro_test {

struct baton {
    goro::detail::sema sema;

    struct awaiter {
        baton& b;
        goro::detail::sema_waiter w;
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h)
        {
            w.parked = {&withdraw, &b.sema}; // a baton counts nothing: the sema's withdraw is all
            return b.sema.acquire_or_park(w, h, goro::detail::wait_reason::semacquire);
        }
        static bool withdraw(goro::detail::parked_on& p) noexcept
        {
            return static_cast<goro::detail::sema*>(p.object)->withdraw(reinterpret_cast<goro::detail::sema_waiter&>(p));
        }
        void await_resume() const noexcept {}
    };
    awaiter take() { return awaiter{*this, {}}; }
    void give() { sema.release(1); }
};

} // namespace goro_test
