// A function that runs when a context is cancelled (Go's context.AfterFunc,
// internal): how an operation in flight (goro::fs on io_uring) learns that
// its context ended. The protocol is at the top of lib/context/context.cpp,
// "Hooks".
#pragma once

#include <goro/config.hpp>

namespace goro::inline GORO_ABI::detail {

struct context_state;

/// An intrusive node on a context's list of hooks; lives with its
/// registrant (an awaiter), which removes it before it goes.
struct context_hook {
    /// Runs at most once, on the cancelling thread, under the context's lock:
    /// it must not block, take a context's lock or register or remove hooks.
    void (*fn)(context_hook&) noexcept = nullptr;
    // --- Guarded by the context's lock ---
    context_hook* prev = nullptr;
    context_hook* next = nullptr;
    bool linked = false;
    bool fired = false; // fn ran (read by the registrant after removing it)
};

/// Registers `h` on `s` (not background): 0, or the context's error (a
/// goro::errc value) when it is already cancelled, and then `h` is not
/// registered and its fn never runs.
GORO_API int context_hook_add(context_state* s, context_hook& h) noexcept;
/// Removes `h` (registered by context_hook_add, which returned 0). On return
/// its fn has either run to completion or will never run, and `h.fired`
/// says which; the caller may then free it. Never call it from fn.
GORO_API void context_hook_remove(context_state* s, context_hook& h) noexcept;

} // namespace goro::detail
