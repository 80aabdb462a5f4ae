// The core of goro::fs's awaiters: one file operation, in the waiting
// goroutine's frame (the protocol is at the top of lib/fs/file.cpp). Users'
// code sees only its layout; everything that touches the kernel is in the
// library, so no liburing header reaches a public one.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/context_hook.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace goro::inline GORO_ABI::detail {

enum class fs_opcode : std::uint8_t { open, read, write, fsync, stat, close };

/// Where an operation is in its life; the awaiter's destructor acts on it.
enum class fs_state : std::uint8_t {
    fresh,    // built, not awaited
    ring,     // submitted to io_uring: the goroutine waits for (or was readied by) its completion
    blocking, // queued for goro::blocking's pool: the same
    taken,    // await_resume took the outcome; nothing left to clean up
};

/// One file operation. Standard-layout, `backend` first: the library builds
/// the backend's record (io_uring's ring_op or the blocking pool's job) in
/// it when the operation is submitted.
struct fs_op {
    /// No outcome yet (the operation never ran, or has not completed).
    static constexpr std::int64_t no_result = std::numeric_limits<std::int64_t>::min();
    /// The outcome is the context's error, `ctx_err` (negative, like -errno).
    static constexpr std::int64_t context_result = no_result + 1;

    alignas(16) unsigned char backend[80];
    /// The outcome on the blocking path: -errno or the call's value.
    std::int64_t result;
    const char* path;  // open: the awaiter's copy of the path
    void* buf;         // read, write: the caller's buffer; stat: the awaiter's
    std::uint64_t len; // bytes of buf
    std::int64_t offset; // read, write: -1 for the file position
    int fd;            // open: unused; close: the descriptor being closed
    int flags;         // open
    std::uint32_t mode; // open
    fs_opcode code;
    fs_state state;
    /// The operation's context (the awaiter holds a reference), or nullptr
    /// for background / none.
    context_state* ctx;
    /// io_uring: registered on `ctx` while the operation is in flight; its
    /// function cancels the ring_op (lib/fs/file.cpp, "Contexts").
    context_hook hook;
    /// A goro::errc value when the outcome is context_result.
    int ctx_err;

    fs_op(fs_opcode c, int file) noexcept
        : result(no_result), path(nullptr), buf(nullptr), len(0), offset(-1), fd(file), flags(0), mode(0),
          code(c), state(fs_state::fresh), ctx(nullptr), ctx_err(0)
    {
    }
    fs_op(const fs_op&) = delete;
    fs_op& operator=(const fs_op&) = delete;
};

/// In await_suspend: submits `op` (io_uring, or goro::blocking on epoll) and
/// parks the running goroutine at `leaf` until it completes. Returns true
/// (parked). Throws goro::panic outside a goroutine, std::bad_alloc or
/// std::system_error when the runtime cannot take the operation.
GORO_API bool fs_submit(fs_op& op, std::coroutine_handle<> leaf);
/// In await_ready, for an operation with a context: whether the context is
/// cancelled already; if so the outcome is context_result (nothing is submitted).
GORO_API bool fs_context_ended(fs_op& op) noexcept;
/// In await_resume: the outcome, -errno, context_result or the operation's
/// value; marks the operation taken.
GORO_API std::int64_t fs_finish(fs_op& op) noexcept;
/// The destructor of an operation not taken: closes what the operation
/// leaves unowned (an fd an open returned to a goroutine that never resumed;
/// the fd of a close that never ran).
GORO_API void fs_abandon(fs_op& op) noexcept;
/// close(2), ignoring its result: a goro::fs::file's destructor.
GORO_API void fs_close_now(int fd) noexcept;

/// Ends an operation's life in its awaiter's destructor.
inline void fs_op_end(fs_op& op) noexcept
{
    if (op.state != fs_state::taken) [[unlikely]]
        fs_abandon(op);
}

} // namespace goro::detail
