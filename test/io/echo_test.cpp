// The netpoller's path end to end, on the backend this process runs
// (GORO_NETPOLL; tools/test.sh runs the suite on both): goroutines accept,
// connect, send and receive on loopback TCP through io_uring operations or
// epoll readiness, a deadline and a cancel end an operation with nothing
// lost, and the end of a run drains operations still in flight.
#include "io_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

using namespace goro_test;

namespace {

goro::task<> echo_server(int fd, int* status, goro::wait_group* wg)
{
    sock c = sock::make(fd);
    std::vector<char> buf(4096);
    for (;;) {
        int n = co_await recv_some(c, buf.data(), buf.size());
        if (n <= 0) {
            *status = n; // 0: the client closed
            break;
        }
        int w = co_await send_all(c, buf.data(), std::size_t(n));
        if (w < 0) {
            *status = w;
            break;
        }
    }
    c.close();
    wg->done();
}

// Sends `rounds` messages of growing size and reads each echo back.
goro::task<> echo_client(const sockaddr_in* addr, int rounds, std::string* failure, goro::wait_group* wg)
{
    sock s = sock::make(tcp_socket());
    if (int r = co_await connect_to(s, addr); r != 0) {
        *failure = "connect: " + std::string(std::strerror(-r));
    } else {
        for (int i = 0; i < rounds && failure->empty(); ++i) {
            std::string msg(std::size_t(1 + i * 997 % 20000), char('a' + i % 26));
            if (int r = co_await send_all(s, msg.data(), msg.size()); r < 0) {
                *failure = "send: " + std::string(std::strerror(-r));
                break;
            }
            std::string got(msg.size(), '\0');
            std::size_t have = 0;
            while (have < got.size()) {
                int r = co_await recv_some(s, got.data() + have, got.size() - have);
                if (r <= 0) {
                    *failure = r == 0 ? "early EOF" : "recv: " + std::string(std::strerror(-r));
                    break;
                }
                have += std::size_t(r);
            }
            if (failure->empty() && got != msg)
                *failure = "echo differs in round " + std::to_string(i);
        }
    }
    s.close();
    wg->done();
}

struct echo_result {
    std::vector<int> server_status;
    std::vector<std::string> failures;
};

goro::task<> echo_main(int conns, int rounds, echo_result* out)
{
    sockaddr_in addr{};
    int lfd = listen_loopback(addr);
    sock listener = sock::make(lfd);
    out->server_status.assign(std::size_t(conns), 1);
    out->failures.assign(std::size_t(conns), std::string());
    goro::wait_group wg;
    wg.add(2 * conns);
    for (int i = 0; i < conns; ++i)
        goro::go(echo_client(&addr, rounds, &out->failures[std::size_t(i)], &wg));
    // One acceptor, as Go serializes Accept calls on one listener.
    for (int i = 0; i < conns; ++i) {
        int fd = co_await accept_one(listener);
        if (fd < 0) {
            out->server_status[std::size_t(i)] = fd;
            wg.done();
            continue;
        }
        goro::go(echo_server(fd, &out->server_status[std::size_t(i)], &wg));
    }
    co_await wg.wait();
    listener.close();
}

} // namespace

TEST_CASE("goroutines accept, connect and echo over loopback TCP", "[io]")
{
    for (unsigned procs : {1u, 2u}) {
        for (int conns : {1, 24}) {
            echo_result r;
            goro::runtime rt(goro::runtime_config{procs});
            rt.run(echo_main(conns, 12, &r));
            INFO("procs " << procs << ", " << conns << " connections, backend "
                          << d::backend_name(d::io_backend()));
            for (int i = 0; i < conns; ++i) {
                CHECK(r.failures[std::size_t(i)] == "");
                CHECK(r.server_status[std::size_t(i)] == 0); // the server saw the client's EOF
            }
        }
    }
}

namespace {

struct cancel_result {
    int first = 1;      // the recv that was cancelled or timed out
    int second = 1;     // the recv after it
    std::string data;   // what the second one received
    std::int64_t waited_ns = 0;
};

goro::task<> peer_sends_later(sock* s, goro::chan<int> go_ahead)
{
    co_await go_ahead.recv();
    static const char msg[] = "still here";
    co_await send_all(*s, msg, sizeof msg - 1);
    co_await go_ahead.send(0); // done with *s (the kernel's ordering is invisible to TSan)
}

// A recv with a deadline (io_uring: a linked timeout) ends without data;
// bytes sent afterwards reach the next recv.
goro::task<> deadline_main(cancel_result* out)
{
    tcp_pair pair;
    co_await connect_pair(pair);
    sock& client = pair.client;
    sock& server = pair.server;
    goro::chan<int> go_ahead(0);
    goro::go(peer_sends_later(&client, go_ahead));

    char buf[64];
    const std::int64_t start = d::monotonic_ns();
    out->first = co_await recv_some(server, buf, sizeof buf, start + 20'000'000);
    out->waited_ns = d::monotonic_ns() - start;
    co_await go_ahead.send(1);
    int n = 0;
    std::size_t have = 0;
    while (have < 10) {
        n = co_await recv_some(server, buf + have, sizeof buf - have);
        if (n <= 0)
            break;
        have += std::size_t(n);
    }
    out->second = n;
    out->data.assign(buf, have);
    co_await go_ahead.recv();
    pair.close();
}

goro::task<> recv_parked(sock* s, std::atomic<d::ring_op*>* op_out, int* result, goro::wait_group* wg)
{
    char buf[16];
    // ring_op lives in this frame, inside the awaiter; publish it for the canceller.
    auto op = ring([fd = s->fd, b = &buf[0]](io_uring_sqe* q) { io_uring_prep_recv(q, fd, b, sizeof buf, 0); });
    op_out->store(&op.op);
    *result = co_await op;
    wg->done();
}

goro::task<> canceller(std::atomic<d::ring_op*>* op)
{
    op->load()->cancel();
    co_return;
}

// Another goroutine cancels a recv in flight: the recv's goroutine resumes at
// the kernel's final completion, with -ECANCELED.
goro::task<> cancel_main(int* result)
{
    tcp_pair pair;
    co_await connect_pair(pair);
    sock& server = pair.server;
    std::atomic<d::ring_op*> op{nullptr};
    goro::wait_group wg;
    wg.add(1);
    goro::go(recv_parked(&server, &op, result, &wg));
    while (!op.load()) // published just before it parks in the recv (1 P: nothing runs in between)
        co_await goro::yield();
    goro::go(canceller(&op));
    co_await wg.wait();
    pair.close();
}

goro::task<> recv_forever(sock* s, goro::wait_group* parked)
{
    char buf[16];
    parked->done(); // this goroutine is about to park in recv (1 P: nothing runs in between)
    co_await recv_some(*s, buf, sizeof buf);
}

// The run ends while goroutines wait in recv: the workers cancel and reap,
// the drain destroys them; nothing leaks (LSan) and nothing writes into a
// freed frame (ASan).
goro::task<> abandon_main(std::vector<int>* fds)
{
    sockaddr_in addr{};
    int lfd = listen_loopback(addr);
    fds->push_back(lfd);
    static sock listener;
    listener = sock::make(lfd);
    goro::wait_group parked;
    for (int i = 0; i < 8; ++i) {
        sock c = sock::make(tcp_socket());
        fds->push_back(c.fd);
        co_await connect_to(c, &addr);
        auto accepting = goro::spawn(accept_one(listener));
        int fd = co_await std::move(accepting);
        fds->push_back(fd);
        static std::array<sock, 8> servers;
        servers[std::size_t(i)] = sock::make(fd);
        parked.add(1);
        goro::go(recv_forever(&servers[std::size_t(i)], &parked));
    }
    co_await parked.wait();
    co_await goro::yield(); // let the last one reach its recv
}

} // namespace

TEST_CASE("a recv whose deadline passes ends empty, and the data sent later is not lost", "[io]")
{
    if (!on_uring())
        return; // epoll deadlines are timers (they cancel the readiness wait)
    cancel_result r;
    goro::runtime rt(goro::runtime_config{2});
    rt.run(deadline_main(&r));
    CHECK(r.first == -ECANCELED);
    CHECK(r.waited_ns >= 20'000'000); // never early
    CHECK(r.data == "still here");
}

TEST_CASE("a recv cancelled by another goroutine resumes at its final completion with -ECANCELED", "[io]")
{
    if (!on_uring())
        return; // epoll's readiness waits are cancelled by readiness_wait::cancel, below
    int result = 1;
    goro::runtime rt(goro::runtime_config{1});
    rt.run(cancel_main(&result));
    CHECK(result == -ECANCELED);
}

TEST_CASE("a run that ends with receives in flight cancels and drains them", "[io]")
{
    std::vector<int> fds;
    goro::runtime rt(goro::runtime_config{1});
    rt.run(abandon_main(&fds));
    CHECK(goro::num_goroutine() == 0);
    CHECK(fds.size() == 17);
    for (int fd : fds)
        ::close(fd);
}

namespace {

goro::task<> nothing() { co_return; }

goro::task<> open_dev_null(int* result)
{
    auto op = ring([](io_uring_sqe* q) { io_uring_prep_openat(q, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0); },
                   -1, true);
    *result = co_await op; // never resumes: the run ends first
}

goro::task<> wake_main(goro::chan<int> c)
{
    co_await c.send(1);
}

// At 1 P: main parks; the opener runs and parks with its SQE still queued;
// wake_main readies main into the P's runnext, and main returns. The P's
// local queue never runs empty meanwhile and the global queue is not used,
// so the P never polls (find_runnable's steps 3 and 4) and the open
// reaches the kernel only when the worker stops.
goro::task<> end_with_open_in_flight(int* result)
{
    goro::chan<int> c(0);
    goro::go(open_dev_null(result));
    goro::go(wake_main(c));
    auto v = co_await c.recv();
    (void)v;
}

std::size_t open_fds()
{
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)e;
        ++n;
    }
    return n;
}

} // namespace

TEST_CASE("an fd that an operation returns while the run ends is closed", "[io]")
{
    if (!on_uring())
        return; // epoll has no operation in flight that returns an fd
    goro::runtime rt(goro::runtime_config{1});
    rt.run(nothing()); // whatever the runtime keeps open across runs exists before the count
    const std::size_t before = open_fds();
    int result = 12345;
    rt.run(end_with_open_in_flight(&result));
    CHECK(result == 12345); // the opener never ran again
    CHECK(open_fds() == before);
}
