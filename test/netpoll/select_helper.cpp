// Not a test: the program the select and seccomp tests run in a fresh
// process (the backend is chosen once per process), with the environment
// and the seccomp filter they choose. It does what a runtime will do at
// start, netpoll_backend(), and reports on stdout:
//   "backend: <io_uring|epoll>" then "selfcheck: ok" (or what failed), exit 0
//     (6 if the self-check failed)
//   with --runtime, then "runtime: ok" (or what failed; exit 7): a goro
//     runtime on that backend runs goroutines over channels, sleepers that
//     wake in deadline order and never early, and file I/O
//   "panic: <what>", exit 3, for goro::panic
//   "invalid: <what>", exit 4, for std::invalid_argument
// Whatever netpoll logs goes to stderr, which the tests read too.
#include "base/clock.hpp"
#include "netpoll/poller.hpp"
#include "netpoll/probe.hpp"
#include "sched/io.hpp"

#include <goro/goro.hpp>
#include <goro/blocking.hpp>
#include <goro/panic.hpp>
#include <goro/sleep.hpp>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
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

goro::task<> relay(goro::chan<int> in, goro::chan<int> out)
{
    while (auto v = co_await in.recv())
        co_await out.send(*v + 1);
    out.close();
}

goro::task<> sleeper(int id, std::chrono::milliseconds d, goro::chan<int> woke, bool* early)
{
    const auto deadline = std::chrono::steady_clock::now() + d;
    co_await goro::sleep(d);
    if (std::chrono::steady_clock::now() < deadline)
        *early = true;
    co_await woke.send(id);
}

goro::task<std::string> runtime_check_main()
{
    // Goroutines: a chain of 100 relays adds 1 per hop.
    goro::chan<int> first(0);
    goro::chan<int> in = first;
    for (int i = 0; i < 100; ++i) {
        goro::chan<int> out(0);
        goro::go(relay(in, out));
        in = out;
    }
    co_await first.send(0);
    auto hops = co_await in.recv();
    first.close();
    if (!hops || *hops != 100)
        co_return "channels";

    // Timers: three sleepers wake in deadline order, none early.
    goro::chan<int> woke(3);
    bool early = false;
    goro::go(sleeper(0, std::chrono::milliseconds(30), woke, &early));
    goro::go(sleeper(1, std::chrono::milliseconds(10), woke, &early));
    goro::go(sleeper(2, std::chrono::milliseconds(20), woke, &early));
    std::string order;
    for (int i = 0; i < 3; ++i)
        order += char('0' + *co_await woke.recv());
    if (order != "120" || early)
        co_return "timers (order " + order + (early ? ", early)" : ")");

    // File I/O.
    char path[] = "/tmp/goro-fallback-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0)
        co_return "mkstemp";
    ::unlink(path);
    static const char text[] = "written and read back";
    auto write_it = [fd] { return ::pwrite(fd, text, sizeof text, 0); };
    ssize_t w = co_await goro::blocking(write_it);
    char back[sizeof text] = {};
    auto read_it = [fd, &back] { return ::pread(fd, back, sizeof back, 0); };
    ssize_t r = co_await goro::blocking(read_it);
    ::close(fd);
    if (w != ssize_t(sizeof text) || r != ssize_t(sizeof text) || std::string_view(back) != text)
        co_return "file I/O";
    co_return "ok";
}

} // namespace

int main(int argc, char** argv)
{
    alarm(120); // a hang ends as SIGALRM, which the tests report
    try {
        const netpoll_choice& choice = netpoll_backend();
        if (&netpoll_backend() != &choice) // a second call neither chooses nor logs again
            return 5;
        fmt::print("backend: {}\n", backend_name(choice.backend));
        std::string check = selfcheck(choice);
        fmt::print("selfcheck: {}\n", check);
        if (check != "ok")
            return 6;
        if (argc > 1 && std::string_view(argv[1]) == "--runtime") {
            goro::runtime rt(goro::runtime_config{2});
            std::string got = rt.run(runtime_check_main());
            if (got == "ok" && goro::detail::io_backend() != choice.backend)
                got = "the runtime's backend differs";
            fmt::print("runtime: {}\n", got);
            return got == "ok" ? 0 : 7;
        }
        return 0;
    } catch (const goro::panic& e) {
        fmt::print("panic: {}\n", e.what());
        return 3;
    } catch (const std::invalid_argument& e) {
        fmt::print("invalid: {}\n", e.what());
        return 4;
    }
}
