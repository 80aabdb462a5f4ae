// The process's backend as a program gets it (netpoll_backend() in a fresh
// process: select_helper.cpp): GORO_NETPOLL forces either backend, bad
// values are refused, an unset or empty GORO_NETPOLL means the build's
// -Dnetpoll, and the choice is logged once, exactly when it is epoll. What
// io_uring gives on this kernel is asked of the probe here, so every case
// has one right answer on any kernel.
#include "child.hpp"
#include "netpoll/probe.hpp"

#include <goro_build_config.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <optional>
#include <string>

using namespace goro::detail;
using goro_test::run_select_helper;
using goro_test::syscall_filter;

namespace {

const uring_support& here()
{
    static const uring_support s = probe_uring();
    return s;
}

// What a request of `mode` (spelled as in `source`) must produce here.
void check_request(std::optional<std::string> env, std::string_view mode, std::string_view source)
{
    goro_test::child_result r = run_select_helper(env, syscall_filter::none);
    INFO("stdout: " << r.out << "stderr: " << r.err);
    if (mode == "epoll") {
        CHECK(r.status == 0);
        CHECK(r.out == "backend: epoll\nselfcheck: ok\n");
        CHECK(r.err == fmt::format("goro: netpoll: epoll ({})\n", source));
    } else if (here().ok) {
        CHECK(r.status == 0);
        CHECK(r.out == "backend: io_uring\nselfcheck: ok\n");
        CHECK(r.err.empty());
    } else if (mode == "auto") {
        CHECK(r.status == 0);
        CHECK(r.out == "backend: epoll\nselfcheck: ok\n");
        CHECK(r.err == fmt::format("goro: netpoll: epoll ({})\n", here().failure));
    } else {
        CHECK(r.status == 3);
        CHECK(r.out == fmt::format("panic: goro: netpoll: {} asks for io_uring, which is unusable here: {} "
                                   "(GORO_NETPOLL=auto would fall back to epoll)\n",
                                   source, here().failure));
        CHECK(r.err.empty());
    }
}

} // namespace

TEST_CASE("netpoll select: GORO_NETPOLL=epoll forces epoll and says so once", "[netpoll][select]")
{
    check_request("epoll", "epoll", "GORO_NETPOLL=epoll");
}

TEST_CASE("netpoll select: GORO_NETPOLL=uring forces io_uring, or panics where there is none", "[netpoll][select]")
{
    check_request("uring", "uring", "GORO_NETPOLL=uring");
}

TEST_CASE("netpoll select: GORO_NETPOLL=auto takes io_uring quietly, or falls back loudly", "[netpoll][select]")
{
    check_request("auto", "auto", "GORO_NETPOLL=auto");
}

TEST_CASE("netpoll select: unset or empty GORO_NETPOLL means the build's -Dnetpoll", "[netpoll][select]")
{
    std::string build = GORO_NETPOLL_BUILD_DEFAULT;
    check_request(std::nullopt, build, "-Dnetpoll=" + build);
    check_request("", build, "-Dnetpoll=" + build);
}

TEST_CASE("netpoll select: a GORO_NETPOLL that names no backend is refused", "[netpoll][select]")
{
    goro_test::child_result r = run_select_helper("io_uring", syscall_filter::none);
    CHECK(r.status == 4);
    CHECK(r.out == "invalid: GORO_NETPOLL=\"io_uring\": want auto, uring or epoll\n");
    CHECK(r.err.empty());
}
