// The stack guard; its design is at the top of stack_guard.hpp.
#include <goro/config.hpp>
#include "sched/stack_guard.hpp"

#include <algorithm>
#include <atomic>
#include <pthread.h>

namespace goro::inline GORO_ABI::detail {

namespace {

constexpr std::size_t default_budget = 256 * 1024;
std::atomic<std::size_t> budget{default_budget};

// How far this thread's stack goes below `here`, or 0 if unknown.
std::size_t stack_left_below(const char* here) noexcept
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    void* low = nullptr;
    std::size_t size = 0;
    const bool ok = pthread_attr_getstack(&attr, &low, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!ok || here <= static_cast<const char*>(low))
        return 0;
    return std::size_t(here - static_cast<const char*>(low));
}

} // namespace

char* stack_floor_below(char* here) noexcept
{
    std::size_t b = budget.load(std::memory_order_relaxed);
    if (std::size_t left = stack_left_below(here))
        b = std::min(b, left / 2);
    return here - b;
}

std::size_t set_stack_guard_budget(std::size_t bytes) noexcept
{
    return budget.exchange(bytes, std::memory_order_relaxed);
}

} // namespace goro::detail
