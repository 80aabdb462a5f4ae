// The netpoller's one conversion point for kernel errors.
//
// io_uring reports a failure as a negative errno, and the netpoller keeps
// every kernel result that way: a libc call's -1 becomes -errno at once
// (sys_result), completions carry the kernel's value untouched, and only the
// functions below turn a -errno into text, an exception or a fatal error.
#pragma once

#include <mutex>

#include <goro/config.hpp>

#include <cerrno>
#include <string>

namespace goro::inline GORO_ABI::detail {

/// A libc call's result, with -1 turned into -errno.
inline long sys_result(long r) noexcept { return r == -1 ? -errno : r; }

/// The text of -errno: "Operation not permitted" for -EPERM.
std::string errno_text(int neg_errno);

/// Throws std::system_error with what() "<what>: <errno text>", for a
/// constructor whose resource the kernel refuses (out of fds, of memory).
[[noreturn]] void throw_errno(const char* what, int neg_errno);

/// fatal("netpoll: <what>: <errno text>"): a kernel call that cannot fail
/// unless the netpoller's invariants are broken.
[[noreturn]] void fatal_errno(const char* what, int neg_errno) noexcept;

/// Held while a ring is set up or torn down. liburing maps a ring's queues
/// with the raw mmap system call, which ThreadSanitizer does not see, so a
/// ring mapped where another thread's old ring was looks like that thread's
/// writes racing this one's. One lock around every unmapping and every
/// mapping orders each teardown before any setup that can reuse its
/// addresses (for TSan; the kernel already does). A lock taken just before
/// the setup and just after the teardown left a window: a setup could slip
/// in between another thread's unmapping and its lock. Rings are set up
/// once per P per run: the lock costs nothing.
[[nodiscard]] std::unique_lock<std::mutex> ring_mapping_lock() noexcept;

} // namespace goro::detail
