// The fallback where io_uring is forbidden: a child process installs a
// seccomp filter that makes io_uring's system calls fail with EPERM, as
// Docker's default profile does, and then chooses its backend. It must get
// epoll, say why on stderr, and work; forcing io_uring there must panic.
// Skipped (exit 77) where this kernel or architecture cannot install such a
// filter.
#include "child.hpp"
#include "support/catch_session.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using goro_test::run_select_helper;
using goro_test::syscall_filter;

TEST_CASE("seccomp: io_uring refused with EPERM: epoll, with the reason logged once, and a runtime that "
          "runs goroutines, timers and file I/O on it", "[netpoll][seccomp]")
{
    goro_test::child_result r = run_select_helper("auto", syscall_filter::no_io_uring, true);
    INFO("stdout: " << r.out << "stderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "backend: epoll\nselfcheck: ok\nruntime: ok\n");
    CHECK(r.err == "goro: netpoll: epoll (io_uring_setup: Operation not permitted)\n");
}

TEST_CASE("seccomp: io_uring refused and GORO_NETPOLL=uring: a panic, and no fallback", "[netpoll][seccomp]")
{
    goro_test::child_result r = run_select_helper("uring", syscall_filter::no_io_uring);
    INFO("stdout: " << r.out << "stderr: " << r.err);
    CHECK(r.status == 3);
    CHECK(r.out == "panic: goro: netpoll: GORO_NETPOLL=uring asks for io_uring, which is unusable here: "
                   "io_uring_setup: Operation not permitted (GORO_NETPOLL=auto would fall back to epoll)\n");
    CHECK(r.err.empty());
}

TEST_CASE("seccomp: no epoll_pwait2 either (an older profile): epoll still waits, wakes and keeps deadlines",
          "[netpoll][seccomp]")
{
    goro_test::child_result r = run_select_helper("auto", syscall_filter::no_io_uring_nor_epoll_pwait2);
    INFO("stdout: " << r.out << "stderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "backend: epoll\nselfcheck: ok\n");
    CHECK(r.err == "goro: netpoll: epoll (io_uring_setup: Operation not permitted)\n");
}

int main(int argc, char** argv)
{
    if (!goro_test::seccomp_filters_work()) {
        fmt::print("skipped: this kernel or architecture cannot install a seccomp filter that returns an errno\n");
        return 77;
    }
    return goro_test::run_catch_session(argc, argv);
}
