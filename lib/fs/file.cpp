// goro::fs: file operations for goroutines, on either netpoll backend.
//
// # One operation, in the frame
// Each awaiter (include/goro/fs.hpp) holds a detail::fs_op: the operation's
// parameters, room for what the kernel writes (a statx buffer in the stat
// awaiter), the path of an open (a copy owned by the awaiter), and an opaque
// `backend` area where fs_submit builds the backend's record. The awaiter
// lives in the goroutine's frame, and the goroutine stays parked until the
// operation's final completion, so everything the kernel or a blocking thread
// reads or writes outlives the operation without an allocation.
//
// # io_uring: a ring_op per operation
// fs_submit builds a sched/io.hpp ring_op in `backend`, preps OPENAT, READ,
// WRITE, FSYNC, STATX (AT_EMPTY_PATH on the fd) or CLOSE on the current P's
// ring and parks; the completion's result (-errno or the value) is the
// outcome. READ and WRITE at offset -1 use the file position (Linux 5.6,
// implied by the probe's 5.11 floor); a length is clamped to the kernel's
// per-call limit, 2^31 - 4096, which read(2) applies anyway.
//
// # epoll: goro::blocking
// Readiness means nothing for a regular file (it is always "ready", and a
// read may still wait for the disk), so on the epoll backend every operation
// is the plain system call (openat, pread/read, pwrite/write, fsync, fstat,
// close) run on goro::blocking's pool: fs_submit builds a blocking_job in
// `backend`, whose invoke makes the call on the pool thread and stores
// -errno or the value in fs_op::result before the pool readies the
// goroutine.
//
// # First, without waiting
// A read whose data is in the page cache, or a write the filesystem takes
// without blocking, is done at once by the goroutine's worker with
// preadv2/pwritev2(RWF_NOWAIT): no submission, no thread handoff. Only when
// that would block (EAGAIN, or EOPNOTSUPP) does the backend take over. ext4
// refuses RWF_NOWAIT for buffered writes (Linux 6.18 here), and so does
// io_uring's inline path: its buffered writes go through the kernel's
// io-wq threads, a handoff of several microseconds each (tools/bench
// file_rw: docs/performance.md). A plain pwrite on the worker, as Go makes
// (its sysmon hands the P off if the call blocks), would be faster, but
// goro has no handoff yet: a write stalled by dirty-page throttling would
// stall every goroutine of the P. That becomes the fast path once
// syscall_scope's handoff exists.
//
// # Outcomes stay -errno until the awaiter
// The kernel's result (or the call's, -errno) is carried as an int64 to
// fs_finish, and the awaiter's await_resume turns it into a goro::result:
// the one conversion point.
//
// # What an abandoned operation owns (the fd rule)
// An operation's goroutine may never resume from it: today when the run ends
// (each worker cancels what is in flight on its ring and reaps every final
// completion before the drain destroys frames; a blocking call whose
// function runs is waited for, one still queued is dropped), later when a
// context gives up. Some outcomes own a resource the goroutine was to take:
//   - an open that completed with an fd: nobody else knows the number;
//   - a close that never ran (a queued blocking call dropped, an awaiter
//     never awaited): the file object already gave the fd up.
// fs_state records whether the outcome was taken. The awaiter's destructor,
// for an operation not taken, calls fs_abandon, which closes the fd of either
// case; every other outcome owns nothing. A cancel of an OPENAT that loses
// the race to the open delivers the fd as the final completion's result, so
// the same rule would cover a goroutine that gave up on its open; a
// context never makes it give up (below).
//
// # Contexts
// An operation with a context (fs_op::ctx, held alive by the awaiter's
// copy) that is cancelled already never starts: await_ready's
// fs_context_ended makes ctx.err() its outcome (fs_op::context_result and
// ctx_err). Otherwise, on io_uring, fs_submit registers fs_op::hook on the
// context (goro/detail/context_hook.hpp) after ring_op::begin took the key
// and the owner P; a cancel (its own, a parent's, its deadline's timer)
// runs the hook under the context's lock, and the hook calls
// ring_op::cancel, which only queues the key on the owner P and rings its
// doorbell, or, on the owner itself, preps the cancel SQE behind the
// operation's. A cancel between await_ready and the registration makes the
// registration fail, and fs_submit cancels the operation itself. The
// goroutine still resumes only at the final completion; fs_finish removes
// the hook (waiting, through the context's lock, for a call of it in
// progress) and reads the outcome: ECANCELED, or EINTR from an io-wq
// worker the cancel interrupted, after the hook fired is ctx.err();
// anything else is what the operation did (bytes read, an fd), returned as
// without a context. The end of a run removes the hook in fs_abandon. A
// deadline goes through the same hook (the context's timer cancels it):
// one mechanism, and the error is always ctx.err().
//
// On epoll a call in flight is not interrupted: it runs on its blocking
// thread and its outcome is returned. The thread reads or writes the
// caller's buffer, so letting the goroutine leave (as blocking(ctx, fn)
// does) would leave the thread writing into memory the goroutine may no
// longer own, or cost a heap copy of every buffer; Go's os.File calls
// cannot be interrupted either.
//
// Rejected: doing the whole operation on the blocking pool on both backends
// (a thread handoff and two context switches per read even where the ring
// does it in one system call, or none, batched with others); registered
// (direct) descriptors for opens (a file would be tied to one P's ring, and
// fds are what users pass to other libraries); waiting for readiness on
// files under epoll (regular files are always ready); a context's deadline
// as ring_op's linked timeout (its -ECANCELED would have to be told from a
// cancel's, and a parent's cancel needs the hook anyway); on epoll with a
// context, letting the goroutine leave a call in flight (the pool thread
// would write into a buffer the goroutine no longer owns, or every read
// would pay a heap copy).
#include <goro/config.hpp>
#include <goro/blocking.hpp>
#include <goro/detail/context_hook.hpp>
#include <goro/fs.hpp>

#include "sched/io.hpp"
#include "sched/park.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

namespace {

static_assert(std::is_standard_layout_v<fs_op> && offsetof(fs_op, backend) == 0);
static_assert(sizeof(ring_op) <= sizeof(fs_op::backend) && alignof(ring_op) <= alignof(fs_op));
static_assert(sizeof(blocking_job) <= sizeof(fs_op::backend) && alignof(blocking_job) <= alignof(fs_op));
static_assert(std::is_trivially_destructible_v<ring_op> && std::is_trivially_destructible_v<blocking_job>);
static_assert(sizeof(struct statx) <= 256 && sizeof(struct stat) <= 256, "stat_awaiter's buffer");

// A ring_op's result before its final completion.
constexpr std::int32_t ring_pending = INT32_MIN;

// The most one read or write moves (Linux's MAX_RW_COUNT).
constexpr std::uint64_t max_rw = INT_MAX & ~std::uint64_t(4095);

ring_op& ring_of(fs_op& op) noexcept { return *std::launder(reinterpret_cast<ring_op*>(op.backend)); }

unsigned rw_len(const fs_op& op) noexcept { return unsigned(std::min(op.len, max_rw)); }

void prep(io_uring_sqe* sqe, fs_op& op) noexcept
{
    switch (op.code) {
    case fs_opcode::open:
        io_uring_prep_openat(sqe, AT_FDCWD, op.path, op.flags | O_CLOEXEC, op.mode);
        break;
    case fs_opcode::read:
        io_uring_prep_read(sqe, op.fd, op.buf, rw_len(op), std::uint64_t(op.offset)); // -1: the file position
        break;
    case fs_opcode::write:
        io_uring_prep_write(sqe, op.fd, op.buf, rw_len(op), std::uint64_t(op.offset));
        break;
    case fs_opcode::fsync:
        io_uring_prep_fsync(sqe, op.fd, 0);
        break;
    case fs_opcode::stat:
        io_uring_prep_statx(sqe, op.fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, static_cast<struct statx*>(op.buf));
        break;
    case fs_opcode::close:
        io_uring_prep_close(sqe, op.fd);
        break;
    }
}

// The system call of `op`, on a blocking thread: -errno or its value.
std::int64_t call(fs_op& op) noexcept
{
    long r = -1;
    switch (op.code) {
    case fs_opcode::open:
        r = ::openat(AT_FDCWD, op.path, op.flags | O_CLOEXEC, mode_t(op.mode));
        break;
    case fs_opcode::read:
        r = op.offset < 0 ? ::read(op.fd, op.buf, rw_len(op)) : ::pread(op.fd, op.buf, rw_len(op), op.offset);
        break;
    case fs_opcode::write:
        r = op.offset < 0 ? ::write(op.fd, op.buf, rw_len(op)) : ::pwrite(op.fd, op.buf, rw_len(op), op.offset);
        break;
    case fs_opcode::fsync:
        r = ::fsync(op.fd);
        break;
    case fs_opcode::stat:
        r = ::fstat(op.fd, static_cast<struct stat*>(op.buf));
        break;
    case fs_opcode::close:
        r = ::close(op.fd); // Linux frees the descriptor even when close fails
        break;
    }
    return r < 0 ? -std::int64_t(errno) : std::int64_t(r); // errno of this thread, read at once
}

void run_blocking(blocking_job& job) noexcept
{
    // The job was built at offset 0 of its fs_op (static_assert above).
    auto& op = *reinterpret_cast<fs_op*>(reinterpret_cast<unsigned char*>(&job));
    op.result = call(op); // published to the goroutine by the pool's ready()
}

// Whether filesystems take RWF_NOWAIT buffered writes (ext4 does not, up to
// at least Linux 6.18: EOPNOTSUPP). relaxed: a hint; a thread that misses
// the update tries once more.
std::atomic<bool> nowait_writes{true};

// A read whose data is in the page cache, or a write the filesystem takes
// without blocking, done at once on this thread (preadv2/pwritev2 with
// RWF_NOWAIT): no submission, no completion to reap, no thread handoff.
// True with op.result set; false when it would have had to wait (EAGAIN),
// and then the backend does it.
bool try_without_waiting(fs_op& op) noexcept
{
    const bool read = op.code == fs_opcode::read;
    if (!read && !(op.code == fs_opcode::write && nowait_writes.load(std::memory_order_relaxed)))
        return false;
    iovec iov{op.buf, rw_len(op)};
    const ssize_t r = read ? ::preadv2(op.fd, &iov, 1, op.offset, RWF_NOWAIT)
                           : ::pwritev2(op.fd, &iov, 1, op.offset, RWF_NOWAIT);
    if (r >= 0) {
        op.result = r;
        return true;
    }
    const int e = errno; // at once: nothing suspends in between
    if (e == EAGAIN)
        return false;
    if (e == EOPNOTSUPP) { // the filesystem (or file) cannot: the backend can
        if (!read)
            nowait_writes.store(false, std::memory_order_relaxed);
        return false;
    }
    op.result = -std::int64_t(e); // EBADF, EINVAL, EISDIR...: the backend would say the same
    return true;
}

// The outcome so far: fs_op::no_result until the operation completed.
std::int64_t outcome(fs_op& op) noexcept
{
    if (op.state == fs_state::ring) {
        std::int32_t r = ring_of(op).result;
        return r == ring_pending ? fs_op::no_result : r;
    }
    return op.result;
}

// A context's hook (goro/detail/context_hook.hpp): runs under the context's
// lock, on whichever thread cancels it. ring_op::cancel only queues the key
// on the owner P and rings its doorbell (or, on the owner, preps the cancel
// SQE), so it may. The hook is the first member of nothing: find the op.
void cancel_on_context(context_hook& h) noexcept
{
    auto* op = reinterpret_cast<fs_op*>(reinterpret_cast<unsigned char*>(&h) - offsetof(fs_op, hook));
    ring_of(*op).cancel();
}

// After the final completion (or at the end of a run): takes the hook off
// the context. On return the hook's function has run or never will.
void unhook(fs_op& op) noexcept
{
    if (op.hook.fn) {
        context_hook_remove(op.ctx, op.hook);
        op.hook.fn = nullptr;
    }
}

} // namespace

bool fs_context_ended(fs_op& op) noexcept
{
    const int e = context_err(op.ctx);
    if (e == 0)
        return false;
    op.ctx_err = e;
    op.result = fs_op::context_result;
    return true;
}

bool fs_submit(fs_op& op, std::coroutine_handle<> leaf)
{
    goroutine& g = running_g("goro::fs");
    if (try_without_waiting(op))
        return completed_here(leaf);
    if (io_backend() == backend_kind::uring) {
        ring_op* r = ::new (op.backend) ring_op{};
        r->result = ring_pending;
        io_uring_sqe* sqe = r->begin();
        prep(sqe, op);
        op.state = fs_state::ring; // before park: after it, nothing touches op
        if (op.ctx) {
            // After begin: the hook's cancel needs the key and the owner P.
            // A cancel that comes before park queues the key (or preps its
            // SQE behind ours), and the owner P, busy running this
            // goroutine, submits it only after the operation.
            op.hook.fn = &cancel_on_context;
            if (context_hook_add(op.ctx, op.hook) != 0) {
                // Cancelled since await_ready: the kernel gets the operation,
                // then its cancel. The cancel's SQE fits without a flush
                // (begin reserved two), but stamp the key first anyway (park
                // stamps it again): a flush must never submit it unstamped.
                io_uring_sqe_set_data64(sqe, r->key);
                op.hook.fn = nullptr; // not registered: nothing to remove
                op.hook.fired = true;
                r->cancel();
            }
        }
        return r->park(g, leaf, sqe, wait_reason::io_wait);
    }
    blocking_job* job = ::new (op.backend) blocking_job{};
    job->invoke = &run_blocking;
    op.state = fs_state::blocking;
    try {
        return blocking_park(*job, leaf);
    } catch (...) {
        op.state = fs_state::fresh; // never queued: a close still owns its fd (fs_abandon)
        throw;
    }
}

std::int64_t fs_finish(fs_op& op) noexcept
{
    std::int64_t r = outcome(op);
    if (op.state == fs_state::ring && op.ctx) {
        unhook(op);
        // The final completion is the truth: a cancel that lost the race
        // left the operation's value; one that won ended it with ECANCELED
        // (EINTR from an io-wq worker it interrupted), which reads as the
        // context's error. The context's err was set before its hooks ran.
        if (op.hook.fired && (r == -ECANCELED || r == -EINTR)) {
            op.ctx_err = context_err(op.ctx);
            r = fs_op::context_result;
        }
    }
    op.state = fs_state::taken;
    return r;
}

void fs_abandon(fs_op& op) noexcept
{
    if (op.state == fs_state::ring && op.ctx)
        unhook(op); // the end of a run: the frame goes, and the hook with it
    std::int64_t r = outcome(op);
    if (op.code == fs_opcode::open && r >= 0)
        ::close(int(r)); // an fd nobody will take
    else if (op.code == fs_opcode::close && r == fs_op::no_result && op.fd >= 0)
        ::close(op.fd); // the close never ran
    op.state = fs_state::taken;
}

void fs_close_now(int fd) noexcept { ::close(fd); }

} // namespace goro::detail

namespace goro::inline GORO_ABI::fs {

file_info stat_awaiter::info(const detail::fs_op& op) noexcept
{
    file_info fi;
    if (detail::io_backend() == detail::backend_kind::uring) {
        const auto& sx = *static_cast<const struct statx*>(op.buf);
        fi.size = std::int64_t(sx.stx_size);
        fi.mode = sx.stx_mode;
        fi.nlink = sx.stx_nlink;
        fi.uid = sx.stx_uid;
        fi.gid = sx.stx_gid;
        fi.ino = sx.stx_ino;
        fi.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        fi.mtime_ns = std::int64_t(sx.stx_mtime.tv_sec) * 1'000'000'000 + sx.stx_mtime.tv_nsec;
    } else {
        const auto& st = *static_cast<const struct stat*>(op.buf);
        fi.size = st.st_size;
        fi.mode = st.st_mode;
        fi.nlink = std::uint32_t(st.st_nlink);
        fi.uid = st.st_uid;
        fi.gid = st.st_gid;
        fi.ino = st.st_ino;
        fi.dev = st.st_dev;
        fi.mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    }
    return fi;
}

namespace {

// One read of read_file moves at most this much, so a file larger than it
// takes several.
constexpr std::size_t read_file_chunk = std::size_t(1) << 20;

} // namespace

task<result<std::string>> read_file(std::string path)
{
    return read_file(context(), std::move(path));
}

task<result<std::string>> read_file(context ctx, std::string path)
{
    auto opening = open(ctx, path, O_RDONLY);
    result<file> opened = co_await opening;
    if (!opened)
        co_return opened.error();
    file f = std::move(opened).value();

    // A size hint, as Go's ReadFile takes: one byte more than the size, so
    // the read that finds the end needs no growth. /proc files say 0.
    std::size_t want = 512;
    auto stating = f.stat();
    if (result<file_info> info = co_await stating; info && info->size > 0)
        want = std::size_t(info->size) + 1;
    std::string data(std::min(want, read_file_chunk), '\0');
    std::size_t have = 0;
    for (;;) {
        if (have == data.size())
            data.resize(std::max(data.size() * 2, std::size_t(4096)));
        std::size_t room = std::min(data.size() - have, read_file_chunk);
        auto reading = f.read(ctx, data.data() + have, room);
        result<std::size_t> n = co_await reading;
        if (!n)
            co_return n.error(); // f closes itself
        if (*n == 0)
            break;
        have += *n;
    }
    data.resize(have);
    auto closing = f.close();
    if (result<void> closed = co_await closing; !closed)
        co_return closed.error();
    co_return data;
}

task<result<void>> write_file(std::string path, std::string_view data, unsigned mode)
{
    return write_file(context(), std::move(path), data, mode);
}

task<result<void>> write_file(context ctx, std::string path, std::string_view data, unsigned mode)
{
    auto opening = open(ctx, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    result<file> opened = co_await opening;
    if (!opened)
        co_return opened.error();
    file f = std::move(opened).value();
    std::size_t done = 0;
    while (done < data.size()) {
        auto writing = f.write(ctx, data.data() + done, data.size() - done);
        result<std::size_t> n = co_await writing;
        if (!n)
            co_return n.error();
        if (*n == 0)
            co_return errno_code(EIO); // no progress: Go's io.ErrShortWrite
        done += *n;
    }
    auto closing = f.close();
    if (result<void> closed = co_await closing; !closed)
        co_return closed.error();
    co_return result<void>();
}

} // namespace goro::fs
