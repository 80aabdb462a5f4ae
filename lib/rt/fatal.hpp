// The two ways goro ends a process.
#pragma once

#include <goro/detail/goroutine.hpp>

namespace goro::detail {

/// A broken runtime invariant: prints "fatal error: <msg>" and aborts. `msg`
/// is a constant naming the subsystem ("sched: ...").
[[noreturn]] void fatal(const char* msg) noexcept;

/// An exception escaped a goroutine nobody will join: prints
/// "panic: <what()>" and where the goroutine was spawned, then exits with
/// status 2, as an unrecovered Go panic does.
[[noreturn]] void die_unrecovered(const promise_base& g) noexcept;

} // namespace goro::detail
