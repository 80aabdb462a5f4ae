// A resume hook: runtime code that a parked goroutine runs when it is next
// scheduled, before its own coroutine resumes.
//
// Go's mutex lets a woken waiter compete with new arrivals and go back to
// sleep if it loses; a goroutine woken from a condition variable must take
// the mutex again, which may mean parking again. A coroutine's await_resume
// cannot suspend, so such a waiter parks with a resume hook as its `leaf`:
// the worker that picks the goroutine up "resumes" the hook, which runs the
// retry on that goroutine's behalf and either parks it again (the worker
// then moves on) or resumes the awaiting coroutine itself.
//
// The hook stands in for a coroutine frame: g++ and clang both begin a frame
// with its resume and destroy function pointers, and
// std::coroutine_handle<>::resume() calls the first with the frame's address
// (libstdc++'s noop_coroutine relies on the same layout). The hook lives in
// the awaiter, so in the parked goroutine's own frame: it allocates nothing.
// Nothing in the runtime destroys a goroutine's leaf (shutdown destroys root
// frames, which own the awaiter and so the hook), so `destroy` only reports
// a broken invariant. Hooks are armed by arm_hook (lib/sync/resume_hook.hpp);
// the destroy entry, resume_hook_destroyed, is in lib/sync/sema.cpp.
#pragma once

#include <goro/config.hpp>

#include <coroutine>

namespace goro::inline GORO_ABI::detail {

/// Left uninitialized until arm_hook sets both pointers, so an awaiter that
/// holds one pays nothing for it on its fast path.
struct resume_hook {
    // Layout fixed by the compilers' coroutine ABI: resume, then destroy.
    void (*resume)(void* self);
    void (*destroy)(void* self);
};

} // namespace goro::detail
