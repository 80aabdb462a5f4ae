// Arming a resume hook (include/goro/detail/resume_hook.hpp): library code
// only, since only the library knows what a hook runs.
#pragma once

#include <goro/detail/resume_hook.hpp>

#include <coroutine>

namespace goro::inline GORO_ABI::detail {

/// A hook's destroy entry: nothing may destroy a goroutine's leaf, so this
/// reports a broken runtime invariant and aborts.
[[noreturn]] void resume_hook_destroyed(void* self) noexcept;

/// Points `h` at `fn` and returns the handle that stands for it as a
/// goroutine's leaf: resuming it calls fn(&h) on the worker that picked the
/// goroutine up.
inline std::coroutine_handle<> arm_hook(resume_hook& h, void (*fn)(void*) noexcept) noexcept
{
    h.resume = fn;
    h.destroy = &resume_hook_destroyed;
    return std::coroutine_handle<>::from_address(&h);
}

/// The handle of an armed hook.
inline std::coroutine_handle<> hook_handle(resume_hook& h) noexcept
{
    return std::coroutine_handle<>::from_address(&h);
}

} // namespace goro::detail
