// The stack guard: a chain of co_awaits that complete without suspending never
// overflows a worker's stack, whatever the compiler made of it.
//
// `co_await task` and a task's return are symmetric transfers: await_suspend
// returns the next coroutine's handle, which the compiler should resume with a
// tail call, so such a chain runs in constant stack. It does not always: g++
// 12 needs -foptimize-sibling-calls (and, under ASan,
// -fno-sanitize-address-use-after-scope), and even with both, g++ at -O2 with
// -fsanitize=address,undefined grows the stack by a frame per transfer (10
// million synchronous co_awaits overflow 8 MiB). A user picks their own
// flags, so the library does not rely on any: both transfer points (the task
// awaiter, the final awaiter of a nested task) go through
// detail::symmetric_transfer (lib/sched/scheduler.cpp), which compares its
// frame address with the floor of the running P, `budget` bytes below its
// worker loop (p_state::stack_floor, set from stack_floor_below when the loop
// starts). Above the floor it returns the handle (the transfer happens as
// before); below it, it parks the goroutine at that handle through yield_now
// (the global queue) and returns noop_coroutine, so the thread unwinds back to
// the worker loop and the chain continues from the top of a worker's stack.
// As with any park, nothing touches the goroutine after yield_now publishes
// it; the unwinding resume functions return without touching their frames.
//
// The budget is 256 KiB, or half of what is left of the thread's stack below
// the worker loop if that is less: a user thread with a small stack may call
// run(), and the other workers are std::threads, whose stacks glibc sizes by
// RLIMIT_STACK (8 MiB by default, 2 MiB when unlimited, 1 MiB under
// `ulimit -s 1024`).
//
// The cost is an out-of-line call, two loads and a compare per transfer:
// measured 3-4 ns more per co_await of a task that completes at once (13 to
// 16.6 ns with g++, 10.3 to 14.3 ns with clang); tools/bench/spawn and
// chan_pingpong run no transfer and did not move. The floor lives in the P,
// not in a thread_local of its own: with one more thread_local in libgoro,
// spawn measured 8% slower (88 to 96 ns, medians of 16 runs), for no reason
// found in the code it runs.
#pragma once

#include <goro/config.hpp>

#include <cstddef>

namespace goro::inline GORO_ABI::detail {

/// The floor of a worker loop whose frame is at `here`: `here` minus the
/// budget, or minus half of the stack left below `here` if that is less.
char* stack_floor_below(char* here) noexcept;

/// For tests: the budget of workers armed from now on (0: every transfer goes
/// through the scheduler). Returns the previous one.
std::size_t set_stack_guard_budget(std::size_t bytes) noexcept;

} // namespace goro::detail
