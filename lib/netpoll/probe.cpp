#include "netpoll/probe.hpp"

#include "netpoll/sys.hpp"

#include <goro/panic.hpp>
#include <goro_build_config.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

namespace {

// The keys of the probe's own operations; any value does, the checks only
// need the completion to carry back what the submission set.
constexpr std::uint64_t nop_key = 0x6e6f'7020'6b65'7921;
constexpr std::uint64_t doorbell_key = 0x6265'6c6c'206b'6579;

// The probe waits for a completion it has every reason to expect at once; a
// kernel (or an emulation of one) that never posts it must not hang the
// process, so the wait is bounded, and running out is a failure like any other.
constexpr __kernel_timespec probe_wait_limit{5, 0};

std::string kernel_release()
{
    utsname u{};
    if (uname(&u) != 0)
        return "unknown";
    return u.release;
}

class ring_guard {
public:
    explicit ring_guard(io_uring* ring) noexcept : ring_(ring) {}
    ~ring_guard()
    {
        auto mapping = ring_mapping_lock();
        io_uring_queue_exit(ring_);
    }
    ring_guard(const ring_guard&) = delete;
    ring_guard& operator=(const ring_guard&) = delete;

private:
    io_uring* ring_;
};

class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

// Submits what is queued and waits (bounded) for one completion; returns
// -errno, or 0 with *cqe set.
int submit_and_wait_one(io_uring* ring, io_uring_cqe** cqe)
{
    __kernel_timespec limit = probe_wait_limit;
    *cqe = nullptr;
    int r = io_uring_submit_and_wait_timeout(ring, cqe, 1, &limit, nullptr);
    if (r < 0)
        return r;
    if (!*cqe)
        return io_uring_peek_cqe(ring, cqe);
    return 0;
}

// Steps 5 and 6 of the probe (probe.hpp); an empty string when both pass.
std::string round_trips(io_uring* ring, int& error)
{
    io_uring_sqe* sqe = io_uring_get_sqe(ring); // the SQ is empty: never null
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, nop_key);
    io_uring_cqe* cqe;
    if (int r = submit_and_wait_one(ring, &cqe); r < 0) {
        error = r;
        return fmt::format("NOP round trip: {}", errno_text(r));
    }
    if (cqe->user_data != nop_key || cqe->res != 0)
        return fmt::format("NOP round trip: completion (key {:#x}, result {}), want (key {:#x}, result 0)",
                           cqe->user_data, cqe->res, nop_key);
    io_uring_cqe_seen(ring, cqe);

    long efd = sys_result(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (efd < 0) {
        error = int(efd);
        return fmt::format("doorbell round trip: eventfd: {}", errno_text(int(efd)));
    }
    fd_guard doorbell{int(efd)};
    sqe = io_uring_get_sqe(ring);
    io_uring_prep_poll_multishot(sqe, doorbell.get(), POLLIN);
    io_uring_sqe_set_data64(sqe, doorbell_key);
    if (int r = io_uring_submit(ring); r < 0) {
        error = r;
        return fmt::format("doorbell round trip: {}", errno_text(r));
    }
    std::uint64_t one = 1;
    if (long w = sys_result(write(doorbell.get(), &one, sizeof one)); w < 0) {
        error = int(w);
        return fmt::format("doorbell round trip: write: {}", errno_text(int(w)));
    }
    if (int r = submit_and_wait_one(ring, &cqe); r < 0) {
        error = r;
        return fmt::format("doorbell round trip: {}", errno_text(r));
    }
    if (cqe->user_data != doorbell_key || cqe->res < 0 || !(cqe->res & POLLIN) ||
        !(cqe->flags & IORING_CQE_F_MORE)) {
        if (cqe->res < 0)
            error = cqe->res;
        return fmt::format("doorbell round trip: completion (key {:#x}, result {}, flags {:#x}), want (key {:#x}, "
                           "POLLIN, IORING_CQE_F_MORE)",
                           cqe->user_data, cqe->res, cqe->flags, doorbell_key);
    }
    io_uring_cqe_seen(ring, cqe);
    return {};
}

} // namespace

std::uint64_t uring_memlock_need(std::string_view kernel, unsigned sq_entries, unsigned rings) noexcept
{
    int major = 0, minor = 0;
    const char* p = kernel.data();
    const char* end = p + kernel.size();
    auto [after_major, e1] = std::from_chars(p, end, major);
    if (e1 == std::errc{} && after_major < end && *after_major == '.')
        std::from_chars(after_major + 1, end, minor);
    if (major > 5 || (major == 5 && minor >= 12))
        return 0;
    // io_uring_setup of those kernels charges the pages of the SQ and CQ
    // ring (a header of under a KiB, a 4-byte SQ index and a 16-byte CQE a
    // slot) and of the SQE array (64 bytes an entry).
    const std::uint64_t page = 4096;
    auto pages = [&](std::uint64_t bytes) { return (bytes + page - 1) / page * page; };
    std::uint64_t sq = sq_entries, cq = 4 * std::uint64_t(sq_entries);
    return std::uint64_t(rings) * (pages(1024 + 4 * sq + 16 * cq) + pages(64 * sq));
}

uring_support probe_uring(unsigned sq_entries)
{
    uring_support s;
    s.kernel = kernel_release();
    auto fail = [&](std::string why, int error) {
        s.failure = std::move(why);
        s.error = error;
        return s;
    };

    // 1. Locked memory, where the kernel charges rings to it.
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned rings = unsigned(cpus > 0 ? cpus : 1) + 1;
    if (std::uint64_t need = uring_memlock_need(s.kernel, sq_entries, rings)) {
        rlimit limit{};
        if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < need)
            return fail(fmt::format("RLIMIT_MEMLOCK is {} bytes; kernel {} charges io_uring rings to it, and {} "
                                    "rings need about {}",
                                    limit.rlim_cur, s.kernel, rings, need),
                        0);
    }

    // 2. The ladder.
    io_uring ring;
    io_uring_params params{};
    int r = -EINVAL;
    for (unsigned rung : uring_ladder) {
        params = io_uring_params{};
        params.flags = rung | IORING_SETUP_CQSIZE;
        params.cq_entries = 4 * sq_entries;
        auto mapping = ring_mapping_lock();
        r = io_uring_queue_init_params(sq_entries, &ring, &params);
        if (r != -EINVAL)
            break;
    }
    if (r < 0)
        return fail(fmt::format("io_uring_setup: {}", errno_text(r)), r);
    ring_guard guard(&ring);
    s.setup_flags = params.flags;
    s.features = params.features;

    // 3. Features.
    if (!(params.features & IORING_FEAT_NODROP))
        return fail("io_uring lacks IORING_FEAT_NODROP (Linux 5.5): an overflowing CQ would lose completions", 0);
    if (!(params.features & IORING_FEAT_EXT_ARG))
        return fail("io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11): no timeout on a wait", 0);
    s.registered_ring_fd = io_uring_register_ring_fd(&ring) == 1;

    // 4. Opcodes. The probe is registered by hand rather than with
    // io_uring_get_probe_ring, which drops the kernel's error.
    constexpr unsigned probe_ops = 256;
    std::unique_ptr<io_uring_probe, decltype(&std::free)> probe(
        static_cast<io_uring_probe*>(std::calloc(1, sizeof(io_uring_probe) + probe_ops * sizeof(io_uring_probe_op))),
        &std::free);
    if (!probe)
        return fail("io_uring opcode probe: out of memory", -ENOMEM);
    if (int pr = io_uring_register_probe(&ring, probe.get(), probe_ops); pr < 0)
        return fail(fmt::format("io_uring opcode probe: {}", errno_text(pr)), pr);
    for (const required_op& op : uring_required_ops)
        if (!io_uring_opcode_supported(probe.get(), op.op))
            return fail(fmt::format("io_uring lacks IORING_OP_{} ({})", op.name, op.why), 0);
    s.msg_ring = io_uring_opcode_supported(probe.get(), IORING_OP_MSG_RING);

    // 5 and 6. The round trips.
    int error = 0;
    if (std::string why = round_trips(&ring, error); !why.empty())
        return fail(std::move(why), error);
    s.ok = true;
    return s;
}

std::string_view backend_name(backend_kind b) noexcept
{
    return b == backend_kind::uring ? "io_uring" : "epoll";
}

netpoll_request parse_netpoll_request(std::string_view value, std::string_view setting)
{
    netpoll_mode mode;
    if (value == "auto")
        mode = netpoll_mode::automatic;
    else if (value == "uring")
        mode = netpoll_mode::uring;
    else if (value == "epoll")
        mode = netpoll_mode::epoll;
    else
        throw std::invalid_argument(fmt::format("{}=\"{}\": want auto, uring or epoll", setting, value));
    return {mode, fmt::format("{}={}", setting, value)};
}

netpoll_request netpoll_request_from_environment()
{
    const char* env = std::getenv("GORO_NETPOLL");
    if (env && *env)
        return parse_netpoll_request(env, "GORO_NETPOLL");
    return parse_netpoll_request(GORO_NETPOLL_BUILD_DEFAULT, "-Dnetpoll");
}

std::string_view doorbell_name(doorbell_kind d) noexcept
{
    return d == doorbell_kind::msg_ring ? "msg_ring" : "eventfd";
}

doorbell_kind parse_doorbell(std::string_view value, std::string_view setting)
{
    if (value == "eventfd")
        return doorbell_kind::eventfd;
    if (value == "msg_ring")
        return doorbell_kind::msg_ring;
    throw std::invalid_argument(fmt::format("{}=\"{}\": want eventfd or msg_ring", setting, value));
}

doorbell_kind doorbell_from_environment()
{
    const char* env = std::getenv("GORO_DOORBELL");
    if (env && *env)
        return parse_doorbell(env, "GORO_DOORBELL");
    return default_doorbell;
}

netpoll_choice choose_netpoll(const netpoll_request& request, uring_support (*probe)())
{
    if (request.mode == netpoll_mode::epoll)
        return {backend_kind::epoll, request.source, std::nullopt};
    uring_support found = probe();
    if (found.ok) {
        std::string reason = request.mode == netpoll_mode::uring ? request.source : std::string();
        return {backend_kind::uring, std::move(reason), std::move(found)};
    }
    if (request.mode == netpoll_mode::uring)
        throw goro::panic(fmt::format("goro: netpoll: {} asks for io_uring, which is unusable here: {} "
                                      "(GORO_NETPOLL=auto would fall back to epoll)",
                                      request.source, found.failure));
    std::string reason = found.failure;
    return {backend_kind::epoll, std::move(reason), std::move(found)};
}

const netpoll_choice& netpoll_backend()
{
    static const netpoll_choice choice = [] {
        netpoll_choice c = choose_netpoll(netpoll_request_from_environment(), [] { return probe_uring(); });
        c.doorbell = doorbell_from_environment();
        if (c.backend == backend_kind::epoll)
            fmt::print(stderr, "goro: netpoll: epoll ({})\n", c.reason);
        return c;
    }();
    return choice;
}

} // namespace goro::detail
