// goro::fs: files, as Go's os package has them (os.OpenFile, File.ReadAt,
// WriteAt, Sync, Stat, Close, os.ReadFile, os.WriteFile), for goroutines.
//
// Every operation suspends the goroutine, never its worker: on the io_uring
// backend it is an io_uring operation (OPENAT, READ, WRITE, FSYNC, STATX,
// CLOSE) reaped by the worker's P; on the epoll backend, whose readiness means
// nothing for regular files, the system call runs through goro::blocking.
// The goroutine resumes when the operation completes, on whichever worker
// runs it next. What the kernel says comes back as a goro::result error
// (std::system_category, errno values: ENOENT, EISDIR, EBADF, ...); nothing
// here throws for it. What throws is the runtime: every await throws
// goro::panic outside a goroutine, std::bad_alloc when memory runs out, and on
// the epoll backend std::system_error when no blocking thread exists and none
// can be started (as goro::blocking). How it works: lib/fs/file.cpp.
#pragma once

#include <goro/config.hpp>
#include <goro/context.hpp>
#include <goro/detail/fs_op.hpp>
#include <goro/result.hpp>
#include <goro/task.hpp>

#include <cerrno>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>

namespace goro::inline GORO_ABI::fs {

class file;

/// What stat() reports (Go's FileInfo, as numbers).
struct file_info {
    std::int64_t size = 0;   // bytes
    std::uint32_t mode = 0;  // st_mode: the file's type and permission bits
    std::uint32_t nlink = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint64_t ino = 0;
    std::uint64_t dev = 0;
    std::int64_t mtime_ns = 0; // last modification, nanoseconds since the Unix epoch

    bool is_dir() const noexcept { return S_ISDIR(mode); }
    bool is_regular() const noexcept { return S_ISREG(mode); }
};

namespace detail_fs {

using goro::detail::fs_op;
using goro::detail::fs_opcode;

// The parts every awaiter shares: one operation, submitted when awaited.
// Not copyable or movable (the kernel or a blocking thread points into it).
class op_awaiter {
public:
    op_awaiter(const op_awaiter&) = delete;
    op_awaiter& operator=(const op_awaiter&) = delete;
    ~op_awaiter() { goro::detail::fs_op_end(op_); }

    bool await_ready() noexcept
    {
        if (op_.result != fs_op::no_result) // a closed file: EBADF at once
            return true;
        return op_.ctx && goro::detail::fs_context_ended(op_); // cancelled already: its err() at once
    }
    bool await_suspend(std::coroutine_handle<> leaf) { return goro::detail::fs_submit(op_, leaf); }

protected:
    op_awaiter(fs_opcode code, int fd) noexcept : op_(code, fd)
    {
        if (fd < 0 && code != fs_opcode::open)
            op_.result = -EBADF;
    }
    op_awaiter(const context& c, fs_opcode code, int fd) noexcept : op_awaiter(code, fd)
    {
        ctx_ = c;
        op_.ctx = goro::detail::context_access::state(ctx_);
    }
    std::int64_t finish() noexcept { return goro::detail::fs_finish(op_); }
    /// A negative outcome as an error: errno, or the context's error.
    std::error_code code_of(std::int64_t r) const noexcept
    {
        if (r == fs_op::context_result)
            return make_error_code(static_cast<errc>(op_.ctx_err));
        return errno_code(int(-r));
    }

    context ctx_; // background unless the call took a context; keeps op_.ctx alive
    fs_op op_;
};

} // namespace detail_fs

/// What read_at, write_at, read and write return: `co_await` it for the
/// bytes transferred (result<std::size_t>).
class [[nodiscard]] io_awaiter : public detail_fs::op_awaiter {
public:
    /// `offset` -1: at the file position. A negative `offset` with `at`
    /// (read_at, write_at) completes at once with EINVAL, as pread(2) does.
    io_awaiter(detail::fs_opcode code, int fd, void* buf, std::size_t n, std::int64_t offset, bool at) noexcept
        : io_awaiter(context(), code, fd, buf, n, offset, at)
    {
    }
    /// With a context that can end the operation (fs::file's ctx overloads).
    io_awaiter(const context& c, detail::fs_opcode code, int fd, void* buf, std::size_t n, std::int64_t offset,
               bool at) noexcept
        : op_awaiter(c, code, fd)
    {
        op_.buf = buf;
        op_.len = n;
        op_.offset = offset;
        if (at && offset < 0 && op_.result == detail::fs_op::no_result)
            op_.result = -EINVAL;
    }
    result<std::size_t> await_resume() noexcept
    {
        std::int64_t r = finish();
        if (r < 0)
            return code_of(r);
        return std::size_t(r);
    }
};

/// What fsync and close return: `co_await` it for result<void>.
class [[nodiscard]] void_awaiter : public detail_fs::op_awaiter {
public:
    void_awaiter(detail::fs_opcode code, int fd) noexcept : op_awaiter(code, fd) {}
    void_awaiter(const context& c, detail::fs_opcode code, int fd) noexcept : op_awaiter(c, code, fd) {}
    result<void> await_resume() noexcept
    {
        std::int64_t r = finish();
        if (r < 0)
            return code_of(r);
        return {};
    }
};

/// What stat returns: `co_await` it for result<file_info>.
class [[nodiscard]] stat_awaiter : public detail_fs::op_awaiter {
public:
    explicit stat_awaiter(int fd) noexcept : op_awaiter(detail::fs_opcode::stat, fd)
    {
        op_.buf = buf_;
        op_.len = sizeof buf_;
    }
    result<file_info> await_resume() noexcept
    {
        std::int64_t r = finish();
        if (r < 0)
            return code_of(r);
        return info(op_);
    }

private:
    GORO_API static file_info info(const detail::fs_op& op) noexcept;

    alignas(8) unsigned char buf_[256]; // struct statx (io_uring) or struct stat (epoll)
};

/// What fs::open returns: `co_await` it for result<file>.
class [[nodiscard]] open_awaiter : public detail_fs::op_awaiter {
public:
    open_awaiter(std::string_view path, int flags, unsigned mode) : open_awaiter(context(), path, flags, mode) {}
    open_awaiter(const context& c, std::string_view path, int flags, unsigned mode)
        : op_awaiter(c, detail::fs_opcode::open, -1), path_(path)
    {
        op_.path = path_.c_str();
        op_.flags = flags;
        op_.mode = mode;
    }
    inline result<file> await_resume() noexcept;

private:
    std::string path_; // read by the kernel (or the blocking thread) until the open completes
};

/// An open file: Go's *os.File. Move-only; owns its descriptor.
///
/// Operations may run concurrently from several goroutines (read_at and
/// write_at at their own offsets are pread/pwrite), except close(), which
/// must not overlap another operation on the same file: like a raw
/// descriptor, an operation racing a close may get EBADF or reach a file
/// that reused the number.
///
/// A default-constructed, moved-from or closed file holds no descriptor;
/// every operation on it completes at once, without suspending, with EBADF
/// (Go's os.ErrClosed).
class file {
public:
    file() noexcept = default;
    /// Adopts `fd`: the file closes it.
    explicit file(int fd) noexcept : fd_(fd) {}
    file(file&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    file& operator=(file&& other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    /// Closes the descriptor if still open, synchronously, on the calling
    /// thread, ignoring close(2)'s result. `co_await close()` to see it.
    ~file() { reset(); }

    /// The descriptor, or -1.
    int fd() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    /// Gives up the descriptor without closing it; returns it (or -1).
    int release() noexcept { return std::exchange(fd_, -1); }

    /// `co_await f.read_at(buf, n, offset)` reads up to n bytes at `offset`
    /// (Go's ReadAt, one pread(2)): the bytes read, fewer than n where the
    /// file ends within the range, 0 at or past the end; an error
    /// (EISDIR, EBADF, EINVAL for a negative offset, ...). buf must stay
    /// valid until the await completes. At most 2^31 - 4096 bytes per call
    /// (the kernel's limit; larger n reads that many).
    io_awaiter read_at(void* buf, std::size_t n, std::int64_t offset) noexcept
    {
        return io_awaiter(detail::fs_opcode::read, fd_, buf, n, offset, true);
    }
    /// `co_await f.write_at(buf, n, offset)` writes up to n bytes at
    /// `offset` (one pwrite(2); O_APPEND files append): the bytes written,
    /// which may be fewer than n (a full disk, RLIMIT_FSIZE) — unlike Go's
    /// WriteAt it does not loop; fs::write_file does.
    io_awaiter write_at(const void* buf, std::size_t n, std::int64_t offset) noexcept
    {
        return io_awaiter(detail::fs_opcode::write, fd_, const_cast<void*>(buf), n, offset, true);
    }
    /// `co_await f.read(buf, n)`: read_at at the file position, which
    /// advances (Go's Read, read(2)). 0 at the end of the file. Concurrent
    /// read/write calls on one file interleave in no defined order.
    io_awaiter read(void* buf, std::size_t n) noexcept
    {
        return io_awaiter(detail::fs_opcode::read, fd_, buf, n, -1, false);
    }
    /// `co_await f.write(buf, n)`: write_at at the file position (Go's
    /// Write, write(2)), one call: it may write fewer than n bytes.
    io_awaiter write(const void* buf, std::size_t n) noexcept
    {
        return io_awaiter(detail::fs_opcode::write, fd_, const_cast<void*>(buf), n, -1, false);
    }
    /// `co_await f.fsync()` flushes the file to its device (Go's Sync).
    void_awaiter fsync() noexcept { return void_awaiter(detail::fs_opcode::fsync, fd_); }

    /// The same calls with a context (Go passes one to every I/O call; the
    /// guide's "Contexts" section, docs/guide/fs.md): a context cancelled
    /// already gives its err() (goro::errc::canceled or deadline_exceeded) at
    /// once, without a system call. One cancelled, or whose deadline passes,
    /// while the call is in flight ends it on the io_uring backend: the call
    /// is cancelled in the kernel, the goroutine waits for its final outcome,
    /// and that outcome is the truth: what the call did if it finished first
    /// (bytes read are returned, not lost), ctx.err() if the cancel won. On
    /// the epoll backend a call in flight runs to its end on its blocking
    /// thread (as Go's os.File calls, which cannot be interrupted either) and
    /// its outcome is returned: the thread writes into buf, which the
    /// goroutine therefore never leaves. buf must stay valid until the await
    /// completes, as without a context.
    io_awaiter read_at(const context& ctx, void* buf, std::size_t n, std::int64_t offset) noexcept
    {
        return io_awaiter(ctx, detail::fs_opcode::read, fd_, buf, n, offset, true);
    }
    io_awaiter write_at(const context& ctx, const void* buf, std::size_t n, std::int64_t offset) noexcept
    {
        return io_awaiter(ctx, detail::fs_opcode::write, fd_, const_cast<void*>(buf), n, offset, true);
    }
    io_awaiter read(const context& ctx, void* buf, std::size_t n) noexcept
    {
        return io_awaiter(ctx, detail::fs_opcode::read, fd_, buf, n, -1, false);
    }
    io_awaiter write(const context& ctx, const void* buf, std::size_t n) noexcept
    {
        return io_awaiter(ctx, detail::fs_opcode::write, fd_, const_cast<void*>(buf), n, -1, false);
    }
    void_awaiter fsync(const context& ctx) noexcept { return void_awaiter(ctx, detail::fs_opcode::fsync, fd_); }
    /// `co_await f.stat()` (Go's Stat; fstat(2)).
    stat_awaiter stat() noexcept { return stat_awaiter(fd_); }
    /// `co_await f.close()` closes the descriptor and reports close(2)'s
    /// error (Go's Close). The file holds no descriptor from this call on,
    /// whatever the outcome; closing a closed file gives EBADF. If the
    /// awaiter is destroyed without completing (never awaited, or the end of
    /// a run), the descriptor is closed synchronously.
    void_awaiter close() noexcept { return void_awaiter(detail::fs_opcode::close, release()); }

private:
    void reset() noexcept
    {
        if (fd_ >= 0)
            detail::fs_close_now(std::exchange(fd_, -1));
    }

    int fd_ = -1;
};

inline result<file> open_awaiter::await_resume() noexcept
{
    std::int64_t r = finish();
    if (r < 0)
        return code_of(r);
    return file(int(r));
}

/// `co_await fs::open(path, flags, mode)` opens `path` (relative to the
/// working directory) as open(2) does, always adding O_CLOEXEC (Go's
/// os.OpenFile): the file, or an error (ENOENT for a missing path, EISDIR
/// for a directory opened for writing, EACCES, ...). `mode` (less the
/// umask) applies when O_CREAT creates the file. The path is copied into the awaiter; throws
/// std::bad_alloc if the copy cannot be made. If the goroutine never resumes
/// from the open (the run ends first), a descriptor it returned is closed.
inline open_awaiter open(std::string_view path, int flags = O_RDONLY, unsigned mode = 0666)
{
    return open_awaiter(path, flags, mode);
}

/// `co_await fs::open(ctx, path, flags, mode)`: open with a context (see
/// file::read_at(ctx, ...) for what it ends, on which backend). An open that
/// completed before its cancel took effect returns the file; a context
/// cancelled already gives its err() without opening anything.
inline open_awaiter open(const context& ctx, std::string_view path, int flags = O_RDONLY, unsigned mode = 0666)
{
    return open_awaiter(ctx, path, flags, mode);
}

/// `co_await fs::create(path)`: open(path, O_RDWR | O_CREAT | O_TRUNC, 0666)
/// (Go's os.Create).
inline open_awaiter create(std::string_view path) { return open(path, O_RDWR | O_CREAT | O_TRUNC, 0666); }

/// `co_await fs::read_file(path)` reads the whole file (Go's os.ReadFile):
/// its bytes, or the first error of the open, a read or the close. Reads
/// until a read returns 0, so files that grow or that stat cannot size
/// (/proc) are read whole.
GORO_API task<result<std::string>> read_file(std::string path);
/// read_file whose open and reads take `ctx` (file::read_at(ctx, ...)):
/// ctx.err() if the context ends it first; the file is closed either way.
GORO_API task<result<std::string>> read_file(context ctx, std::string path);

/// `co_await fs::write_file(path, data, mode)` writes `data` to `path`,
/// creating it with `mode` or truncating it (Go's os.WriteFile), looping over
/// short writes; the first error of the open, a write or the close. `data`
/// must stay valid until the await completes.
GORO_API task<result<void>> write_file(std::string path, std::string_view data, unsigned mode = 0666);
/// write_file whose open and writes take `ctx` (file::read_at(ctx, ...)):
/// ctx.err() if the context ends it first; the file then holds what the
/// writes that completed wrote, and is closed.
GORO_API task<result<void>> write_file(context ctx, std::string path, std::string_view data, unsigned mode = 0666);

/// A temporary std::string as write_file's data would be destroyed before the
/// task runs (tasks start when awaited): refused at compile time.
template <class S>
    requires std::same_as<S, std::string>
task<result<void>> write_file(std::string, S&&, unsigned = 0666)
{
    static_assert(sizeof(S) == 0, "goro::fs::write_file: the data, a temporary std::string, would be gone before "
                                  "the write; keep it in a variable until the await completes");
    return write_file(std::string(), std::string_view());
}
template <class S>
    requires std::same_as<S, std::string>
task<result<void>> write_file(context, std::string, S&&, unsigned = 0666)
{
    static_assert(sizeof(S) == 0, "goro::fs::write_file: the data, a temporary std::string, would be gone before "
                                  "the write; keep it in a variable until the await completes");
    return write_file(std::string(), std::string_view());
}

} // namespace goro::fs
