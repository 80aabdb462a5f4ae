// Choosing the netpoller's backend, io_uring or epoll, once per process.
//
// One backend serves every P of a process: the probe runs once, on a
// throwaway ring the size of a P's, and the choice never changes, so a
// process never mixes an io_uring P with an epoll P.
//
// The io_uring probe (probe_uring) passes only if every step does; the first
// step that fails is remembered as the reason, and selects epoll. There is no
// errno allowlist: EPERM (a seccomp profile such as Docker's, or
// kernel.io_uring_disabled), ENOSYS (no io_uring), ENOMEM, EOPNOTSUPP or
// anything else means epoll.
//
//  1. Locked memory. Kernels before 5.12 charge ring memory to
//     RLIMIT_MEMLOCK (later ones to the memory cgroup); there the limit must
//     hold a ring for every online CPU and the probe's own.
//  2. io_uring_setup, down a ladder of flags, each rung with CQSIZE = 4 x SQ
//     (multishot operations post several completions per submission). A rung
//     the kernel rejects with EINVAL names a flag it does not know: step down.
//     Any other error does not depend on the flags and ends the probe.
//       SINGLE_ISSUER | DEFER_TASKRUN  (6.1) completions are posted only
//           when the owner enters the kernel to reap them: no interrupts of
//           a running worker, and the ring belongs to one thread, which is
//           how a P owns it
//       COOP_TASKRUN | TASKRUN_FLAG    (5.19) no interrupts either; the
//           kernel flags pending completion work in the SQ ring
//       nothing
//  3. Features: IORING_FEAT_NODROP (5.5; an overflowing CQ is backed up in
//     the kernel, not dropped) and IORING_FEAT_EXT_ARG (5.11; a wait takes a
//     timeout without spending a submission on it).
//  4. Opcodes (IORING_REGISTER_PROBE): the ones uring_required_ops lists,
//     each with why. IORING_OP_MSG_RING (5.18) is optional and recorded:
//     the ring-to-ring doorbell (GORO_DOORBELL=msg_ring, below) needs it.
//  5. A NOP round trip: submit a NOP, wait for its completion, check its key
//     and its result.
//  6. A doorbell round trip: a multishot poll on an eventfd, a write to the
//     eventfd, and a completion with IORING_CQE_F_MORE. This is the wake
//     path of every poller (poller.hpp, "Wake"); multishot poll is 5.13.
// A registered ring fd (5.18) is recorded too; without one each
// io_uring_enter costs a file-table lookup, which is no reason for epoll.
//
// Selection (netpoll_backend): the request is GORO_NETPOLL=auto|uring|epoll
// if set and not empty, else the build's -Dnetpoll (default auto). The
// environment wins so that whoever runs a program can override whoever
// packaged it.
//   auto   io_uring if the probe passes, else epoll.
//   epoll  epoll, without running the probe (a seccomp profile that kills
//          the process on io_uring_setup instead of refusing it needs that).
//   uring  io_uring; if the probe fails, netpoll_backend() throws
//          goro::panic naming the request and the failure. The process asked
//          for something it cannot have, and falling back would hide that. A
//          panic rather than a fatal error: the runtime's constructor throws
//          it to its caller, as it throws std::invalid_argument for a bad
//          GORO_MAXPROCS (so does a bad GORO_NETPOLL here), and tests can
//          check it. The choice is not cached then, so each start fails the
//          same way.
// The choice is logged once, as one line on stderr, exactly when it is
// epoll, whatever the reason ("goro: netpoll: epoll (io_uring_setup:
// Operation not permitted)"): a fallback always shows, and the expected case,
// io_uring, stays quiet.
//
// The doorbell (poller.hpp, "Wake") is chosen with the backend:
// GORO_DOORBELL=eventfd|msg_ring if set and not empty, else default_doorbell.
// A tuning and measurement knob (tools/bench/wake_latency alternates it in
// one binary), not a feature switch: msg_ring only changes how a P that owns
// a ring rings another P's doorbell, and falls back to the eventfd wherever
// it cannot be used (epoll, a kernel without IORING_OP_MSG_RING, a waker
// that owns no ring). A bad value throws std::invalid_argument, as a bad
// GORO_NETPOLL does.
#pragma once

#include <goro/config.hpp>

#include <liburing.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace goro::inline GORO_ABI::detail {

/// Submission queue entries of a P's ring (the CQ has four times as many).
inline constexpr unsigned default_sq_entries = 256;

/// The io_uring_setup flags the probe tries, best first (CQSIZE is added to
/// each). TASKRUN_FLAG makes the kernel raise IORING_SQ_TASKRUN while
/// completions wait for the owner to enter the kernel, so the scheduler's
/// non-blocking poll costs no system call when there is nothing to reap.
inline constexpr unsigned uring_ladder[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    0,
};

/// The opcodes io_uring must support for the netpoller to use it.
struct required_op {
    int op;
    const char* name;
    const char* why;
};
inline constexpr required_op uring_required_ops[] = {
    {IORING_OP_NOP, "NOP", "the probe's round trip; the pollers' self-test operation"},
    {IORING_OP_POLL_ADD, "POLL_ADD", "the doorbell (a multishot poll on an eventfd); watches"},
    {IORING_OP_POLL_REMOVE, "POLL_REMOVE", "ending a watch"},
    {IORING_OP_READ, "READ", "pipes, terminals and files: fds that are not sockets"},
    {IORING_OP_WRITE, "WRITE", "the same, for writing"},
    {IORING_OP_ACCEPT, "ACCEPT", "listening sockets"},
    {IORING_OP_CONNECT, "CONNECT", "outgoing connections"},
    {IORING_OP_RECV, "RECV", "socket reads"},
    {IORING_OP_SEND, "SEND", "socket writes"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL", "abandoning an operation (a select case lost, a deadline moved)"},
    {IORING_OP_TIMEOUT, "TIMEOUT", "timers in the ring"},
    {IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT", "a deadline fixed when an operation is submitted"},
    {IORING_OP_OPENAT, "OPENAT", "goro::fs::open"},
    {IORING_OP_FSYNC, "FSYNC", "goro::fs::file::fsync"},
    {IORING_OP_STATX, "STATX", "goro::fs::file::stat"},
    {IORING_OP_CLOSE, "CLOSE", "goro::fs::file::close"},
};

/// What the io_uring probe found.
struct uring_support {
    /// Every step passed: the pollers may use io_uring.
    bool ok = false;
    /// When !ok: the step that failed and why, e.g. "io_uring_setup:
    /// Operation not permitted".
    std::string failure;
    /// When !ok and the kernel refused a call: its -errno; 0 otherwise (a
    /// missing feature or opcode, a wrong result).
    int error = 0;
    /// The running kernel's release (uname -r).
    std::string kernel;
    /// The accepted rung of uring_ladder, with IORING_SETUP_CQSIZE.
    unsigned setup_flags = 0;
    /// io_uring_params::features of the probe's ring.
    unsigned features = 0;
    /// IORING_OP_MSG_RING is supported.
    bool msg_ring = false;
    /// io_uring_register_ring_fd works (5.18).
    bool registered_ring_fd = false;
};

/// Runs the io_uring probe (steps 1-6 above) on the calling thread with a
/// ring of `sq_entries`. Never throws for what the kernel says; the result
/// says it.
uring_support probe_uring(unsigned sq_entries = default_sq_entries);

/// Bytes of locked memory that `rings` rings of `sq_entries` (CQ 4x) are
/// charged on a kernel of release `kernel` ("5.11.22-..."): an estimate of
/// io_uring_setup's own accounting, or 0 where the kernel charges nothing to
/// RLIMIT_MEMLOCK (5.12 on). A release that does not start with
/// <major>.<minor> counts as old.
std::uint64_t uring_memlock_need(std::string_view kernel, unsigned sq_entries, unsigned rings) noexcept;

enum class backend_kind : std::uint8_t { uring, epoll };

/// "io_uring" or "epoll".
std::string_view backend_name(backend_kind b) noexcept;

enum class netpoll_mode : std::uint8_t { automatic, uring, epoll };

/// How a P that owns an io_uring rings another P's doorbell: an eventfd
/// write, or an IORING_OP_MSG_RING from its own ring (poller.hpp, "Wake").
enum class doorbell_kind : std::uint8_t { eventfd, msg_ring };

/// The doorbell when GORO_DOORBELL is not set (poller.hpp, "Wake", has the
/// figures behind it).
inline constexpr doorbell_kind default_doorbell = doorbell_kind::eventfd;

/// "eventfd" or "msg_ring".
std::string_view doorbell_name(doorbell_kind d) noexcept;

/// Parses "eventfd" or "msg_ring", given as `setting`. Throws
/// std::invalid_argument naming the setting and the value otherwise.
doorbell_kind parse_doorbell(std::string_view value, std::string_view setting);

/// GORO_DOORBELL if set and not empty, else default_doorbell.
doorbell_kind doorbell_from_environment();

/// A request for a backend and where it came from.
struct netpoll_request {
    netpoll_mode mode;
    /// How it was asked for, for messages: "GORO_NETPOLL=uring",
    /// "-Dnetpoll=auto".
    std::string source;
};

/// Parses "auto", "uring" or "epoll", given as `setting` (GORO_NETPOLL or
/// -Dnetpoll). Throws std::invalid_argument naming the setting and the value
/// otherwise.
netpoll_request parse_netpoll_request(std::string_view value, std::string_view setting);

/// GORO_NETPOLL if set and not empty, else the build's -Dnetpoll.
netpoll_request netpoll_request_from_environment();

/// A process's backend.
struct netpoll_choice {
    backend_kind backend;
    /// Why, for the log: the request's source when it forced the backend,
    /// the probe's failure when auto fell back to epoll, empty when auto
    /// found io_uring.
    std::string reason;
    /// What the probe found; empty when epoll was forced (it did not run).
    std::optional<uring_support> uring;
    /// The doorbell asked for; io_uring pollers ring with IORING_OP_MSG_RING
    /// only when it is msg_ring and uring->msg_ring.
    doorbell_kind doorbell = default_doorbell;
};

/// Applies `request`, running `probe` unless the request forces epoll.
/// Throws goro::panic when the request forces io_uring and the probe fails.
netpoll_choice choose_netpoll(const netpoll_request& request, uring_support (*probe)());

/// The process's backend: chosen on the first call that succeeds (from
/// netpoll_request_from_environment(), probe_uring() and
/// doorbell_from_environment()), logged then if it
/// is epoll, and fixed from then on. Throws what choose_netpoll and
/// parse_netpoll_request throw, and then chooses again on the next call.
const netpoll_choice& netpoll_backend();

} // namespace goro::detail
