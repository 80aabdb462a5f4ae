// Not a test: the program the select and seccomp tests run in a fresh
// process (the backend is chosen once per process), with the environment
// and the seccomp filter they choose. It does what a runtime will do at
// start, netpoll_backend(), and reports on stdout:
//   "backend: <io_uring|epoll>" then "selfcheck: ok" (or what failed), exit 0
//     (6 if the self-check failed)
//   "panic: <what>", exit 3, for goro::panic
//   "invalid: <what>", exit 4, for std::invalid_argument
// Whatever netpoll logs goes to stderr, which the tests read too.
#include "base/clock.hpp"
#include "netpoll/poller.hpp"
#include "netpoll/probe.hpp"

#include <goro/panic.hpp>

#include <fmt/format.h>

#include <array>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

using namespace goro::detail;

namespace {

// The chosen backend works: a nop round trip, a wake from another thread,
// and a deadline that is not cut short.
std::string selfcheck(const netpoll_choice& choice)
{
    poller p(choice);
    if (p.backend() != choice.backend)
        return "a poller on the other backend";
    std::array<completion, 4> out;
    p.nop(1);
    if (p.wait(-1, out) != 1 || out[0] != completion{1, 0, false})
        return "nop round trip";
    int payload = 0;
    std::thread waker([&] {
        payload = 7;
        p.wake();
    });
    std::size_t n = p.wait(-1, out);
    int seen = payload; // ordered by wake(); the waker writes nothing after it
    waker.join();
    if (n != 0 || seen != 7)
        return "wake from another thread";
    std::int64_t deadline = monotonic_ns() + 5'000'000;
    if (p.wait(deadline, out) != 0 || monotonic_ns() < deadline)
        return "deadline";
    return "ok";
}

} // namespace

int main()
{
    alarm(120); // a hang ends as SIGALRM, which the tests report
    try {
        const netpoll_choice& choice = netpoll_backend();
        if (&netpoll_backend() != &choice) // a second call neither chooses nor logs again
            return 5;
        fmt::print("backend: {}\n", backend_name(choice.backend));
        std::string check = selfcheck(choice);
        fmt::print("selfcheck: {}\n", check);
        return check == "ok" ? 0 : 6;
    } catch (const goro::panic& e) {
        fmt::print("panic: {}\n", e.what());
        return 3;
    } catch (const std::invalid_argument& e) {
        fmt::print("invalid: {}\n", e.what());
        return 4;
    }
}
