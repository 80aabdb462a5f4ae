// The runtime semaphore every goro sync primitive parks on (Go's sema.go):
// a count plus a FIFO of parked goroutines under one spinlock. The waiter
// record lives in the parked goroutine's frame, so waiting allocates nothing.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/spinlock.hpp>

#include <coroutine>
#include <cstdint>

namespace goro::detail {

struct sema_waiter {
    sema_waiter* next = nullptr;
    goroutine* g = nullptr;
};

class sema {
public:
    /// Takes a unit if one is available (returns false: do not suspend);
    /// otherwise parks the running goroutine at `leaf` in FIFO order (returns
    /// true). `w` must stay alive until the goroutine resumes.
    GORO_API bool acquire_or_park(sema_waiter& w, std::coroutine_handle<> leaf, wait_reason why);
    /// Wakes up to `n` parked goroutines in FIFO order; units nobody waits for
    /// are kept for later acquirers.
    GORO_API void release(std::uint32_t n) noexcept;

private:
    spinlock lock_;
    std::uint32_t count_ = 0;    // guarded by lock_
    sema_waiter* head_ = nullptr; // guarded by lock_
    sema_waiter* tail_ = nullptr; // guarded by lock_
};

} // namespace goro::detail
