// Choosing the netpoll backend: parsing a request, applying it to what the
// probe found (with stand-in probes, so both outcomes run on any kernel),
// the locked-memory rule, and the real probe on this kernel: whatever it
// decides, its result must be consistent with what the kernel says.
#include "netpoll/probe.hpp"
#include "netpoll/sys.hpp"

#include <goro/panic.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <sys/utsname.h>

using namespace goro::detail;

namespace {

int probes_run = 0;

uring_support passing_probe()
{
    ++probes_run;
    uring_support s;
    s.ok = true;
    s.setup_flags = uring_ladder[0] | IORING_SETUP_CQSIZE;
    return s;
}

uring_support refused_probe()
{
    ++probes_run;
    uring_support s;
    s.failure = "io_uring_setup: Operation not permitted";
    s.error = -EPERM;
    return s;
}

std::size_t open_fds()
{
    auto it = std::filesystem::directory_iterator("/proc/self/fd");
    return std::size_t(std::distance(it, std::filesystem::directory_iterator()));
}

} // namespace

TEST_CASE("netpoll request: auto, uring and epoll, and nothing else", "[netpoll][probe]")
{
    CHECK(parse_netpoll_request("auto", "GORO_NETPOLL").mode == netpoll_mode::automatic);
    CHECK(parse_netpoll_request("uring", "GORO_NETPOLL").mode == netpoll_mode::uring);
    netpoll_request epoll = parse_netpoll_request("epoll", "-Dnetpoll");
    CHECK(epoll.mode == netpoll_mode::epoll);
    CHECK(epoll.source == "-Dnetpoll=epoll");
    CHECK_THROWS_WITH(parse_netpoll_request("io_uring", "GORO_NETPOLL"),
                      "GORO_NETPOLL=\"io_uring\": want auto, uring or epoll");
    CHECK_THROWS_AS(parse_netpoll_request("", "GORO_NETPOLL"), std::invalid_argument);
    CHECK_THROWS_AS(parse_netpoll_request("EPOLL", "GORO_NETPOLL"), std::invalid_argument);
}

TEST_CASE("netpoll choice: auto takes io_uring when the probe passes, quietly", "[netpoll][probe]")
{
    netpoll_choice c = choose_netpoll(parse_netpoll_request("auto", "GORO_NETPOLL"), passing_probe);
    CHECK(c.backend == backend_kind::uring);
    CHECK(c.reason.empty());
    REQUIRE(c.uring);
    CHECK(c.uring->ok);
}

TEST_CASE("netpoll choice: auto falls back to epoll with the probe's reason", "[netpoll][probe]")
{
    netpoll_choice c = choose_netpoll(parse_netpoll_request("auto", "-Dnetpoll"), refused_probe);
    CHECK(c.backend == backend_kind::epoll);
    CHECK(c.reason == "io_uring_setup: Operation not permitted");
    REQUIRE(c.uring);
    CHECK(c.uring->error == -EPERM);
}

TEST_CASE("netpoll choice: epoll forced does not run the probe", "[netpoll][probe]")
{
    probes_run = 0;
    netpoll_choice c = choose_netpoll(parse_netpoll_request("epoll", "GORO_NETPOLL"), passing_probe);
    CHECK(c.backend == backend_kind::epoll);
    CHECK(c.reason == "GORO_NETPOLL=epoll");
    CHECK_FALSE(c.uring);
    CHECK(probes_run == 0);
}

TEST_CASE("netpoll choice: uring forced is io_uring, or a panic naming the request and the failure", "[netpoll][probe]")
{
    netpoll_choice c = choose_netpoll(parse_netpoll_request("uring", "GORO_NETPOLL"), passing_probe);
    CHECK(c.backend == backend_kind::uring);
    CHECK(c.reason == "GORO_NETPOLL=uring");

    CHECK_THROWS_WITH(choose_netpoll(parse_netpoll_request("uring", "-Dnetpoll"), refused_probe),
                      "goro: netpoll: -Dnetpoll=uring asks for io_uring, which is unusable here: io_uring_setup: "
                      "Operation not permitted (GORO_NETPOLL=auto would fall back to epoll)");
    CHECK_THROWS_AS(choose_netpoll(parse_netpoll_request("uring", "-Dnetpoll"), refused_probe), goro::panic);
}

TEST_CASE("netpoll probe: locked memory counts only before Linux 5.12", "[netpoll][probe]")
{
    CHECK(uring_memlock_need("6.18.44-fc-v1045", 256, 3) == 0);
    CHECK(uring_memlock_need("5.12.0", 256, 3) == 0);
    CHECK(uring_memlock_need("10.0", 256, 3) == 0);
    // 256 SQ entries, 1,024 CQEs: a 20 KiB ring (header, SQ index, CQEs) and
    // 16 KiB of SQEs, each rounded to pages.
    CHECK(uring_memlock_need("5.11.22-generic", 256, 1) == 20480 + 16384);
    CHECK(uring_memlock_need("5.11.22-generic", 256, 3) == 3 * (20480 + 16384));
    CHECK(uring_memlock_need("4.19.0", 256, 1) > 0);
    CHECK(uring_memlock_need("unknown", 256, 1) > 0); // unparsable counts as old
}

TEST_CASE("netpoll probe: its verdict on this kernel agrees with the kernel", "[netpoll][probe]")
{
    std::size_t fds_before = open_fds();
    uring_support s = probe_uring();
    CHECK(open_fds() == fds_before); // the probe's ring and eventfd are gone

    utsname u{};
    REQUIRE(uname(&u) == 0);
    CHECK(s.kernel == u.release);
    if (!s.ok) {
        INFO("io_uring unusable here: " << s.failure);
        CHECK_FALSE(s.failure.empty());
        return;
    }
    CHECK(s.failure.empty());
    CHECK(s.error == 0);
    CHECK((s.setup_flags & IORING_SETUP_CQSIZE) != 0);
    unsigned rung = s.setup_flags & ~unsigned(IORING_SETUP_CQSIZE);
    auto at = std::find(std::begin(uring_ladder), std::end(uring_ladder), rung);
    REQUIRE(at != std::end(uring_ladder));
    // Every rung above the accepted one is one the kernel rejects with
    // EINVAL: the probe did not step down for any other reason.
    for (auto higher = std::begin(uring_ladder); higher != at; ++higher) {
        io_uring ring;
        io_uring_params p{};
        p.flags = *higher | IORING_SETUP_CQSIZE;
        p.cq_entries = 4 * default_sq_entries;
        auto mapping = ring_mapping_lock();
        int r = io_uring_queue_init_params(default_sq_entries, &ring, &p);
        if (r == 0)
            io_uring_queue_exit(&ring);
        CHECK(r == -EINVAL);
    }
    CHECK((s.features & IORING_FEAT_NODROP) != 0);
    CHECK((s.features & IORING_FEAT_EXT_ARG) != 0);
    io_uring_probe* probe = io_uring_get_probe();
    REQUIRE(probe);
    for (const required_op& op : uring_required_ops) {
        INFO("IORING_OP_" << op.name);
        CHECK(io_uring_opcode_supported(probe, op.op));
    }
    CHECK(s.msg_ring == bool(io_uring_opcode_supported(probe, IORING_OP_MSG_RING)));
    io_uring_free_probe(probe);
}

TEST_CASE("probe: GORO_DOORBELL's values, and a bad one names the setting", "[netpoll][probe]")
{
    CHECK(parse_doorbell("eventfd", "GORO_DOORBELL") == doorbell_kind::eventfd);
    CHECK(parse_doorbell("msg_ring", "GORO_DOORBELL") == doorbell_kind::msg_ring);
    CHECK(doorbell_name(doorbell_kind::eventfd) == "eventfd");
    CHECK(doorbell_name(doorbell_kind::msg_ring) == "msg_ring");
    CHECK_THROWS_WITH(parse_doorbell("msgring", "GORO_DOORBELL"),
                      Catch::Matchers::Contains("GORO_DOORBELL") && Catch::Matchers::Contains("msgring"));
}
