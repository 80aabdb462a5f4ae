// The Catch2 main of the poller tests built for one backend
// (GORO_TEST_NETPOLL_BACKEND): when that backend is io_uring and the kernel
// here cannot give it, the binary exits 77, which meson counts as skipped.
#include "netpoll/probe.hpp"
#include "support/catch_session.hpp"

#include <fmt/format.h>

#include <string_view>

int main(int argc, char** argv)
{
    if (std::string_view(GORO_TEST_NETPOLL_BACKEND) == "uring") {
        goro::detail::uring_support s = goro::detail::probe_uring();
        if (!s.ok) {
            fmt::print("skipped: io_uring is unusable here: {}\n", s.failure);
            return 77;
        }
    }
    return goro_test::run_catch_session(argc, argv);
}
