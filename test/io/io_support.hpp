// Test-only I/O on the netpoller's internal interface (lib/sched/io.hpp),
// for either backend: awaiters on io_uring operations and on epoll
// readiness, and a few socket calls built on them.
#pragma once

#include "base/clock.hpp"
#include "sched/io.hpp"

#include <goro/goro.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace goro_test {
// Each test binary gets its own copy (the awaiters hold lambdas, whose types
// have internal linkage).
namespace {

namespace d = goro::detail;

// Test helpers run on worker threads, where Catch's assertions must not be
// used (they are not thread-safe): a setup failure ends the test binary.
[[noreturn]] inline void die(const char* what, int neg_errno)
{
    std::fprintf(stderr, "test setup failed: %s: %s\n", what, std::strerror(-neg_errno));
    std::abort();
}

inline bool on_uring() { return d::io_backend() == d::backend_kind::uring; }

template <class Prep>
struct [[nodiscard]] ring_await {
    Prep prep;
    std::int64_t deadline_ns = -1;
    d::ring_op op{};
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h)
    {
        d::goroutine& g = d::require_g("ring_await");
        io_uring_sqe* sqe = op.begin();
        prep(sqe);
        return op.park(g, h, sqe, d::wait_reason::io_wait, deadline_ns);
    }
    int await_resume() const noexcept { return op.result; }
};
template <class Prep>
ring_await<Prep> ring(Prep prep, std::int64_t deadline_ns = -1, bool result_is_fd = false)
{
    ring_await<Prep> a{std::move(prep), deadline_ns};
    a.op.result_is_fd = result_is_fd;
    return a;
}

struct [[nodiscard]] readiness_await {
    d::fd_waiter* fd;
    d::io_dir dir;
    d::readiness_wait rw{};
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h)
    {
        return rw.park(d::require_g("readiness_await"), h, fd, dir, d::wait_reason::io_wait);
    }
    bool await_resume() noexcept
    {
        rw.finish();
        return rw.cancelled;
    }
};

// A non-blocking socket and, on epoll, its registration.
struct sock {
    int fd = -1;
    d::fd_waiter* w = nullptr;

    static sock make(int fd)
    {
        sock s{fd};
        if (!on_uring()) {
            int error = 0;
            s.w = d::fd_register(fd, error);
            if (!s.w) // on a worker thread: no Catch assertion here
                die("fd_register", error);
        }
        return s;
    }
    void close()
    {
        if (w)
            d::fd_unregister(w);
        ::close(fd);
        fd = -1;
    }
};

inline int tcp_socket() { return ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

// A listener on 127.0.0.1 at a port the kernel picks; returns the fd.
inline int listen_loopback(sockaddr_in& addr)
{
    int fd = tcp_socket();
    addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0)
        return -1;
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return fd;
}

inline int neg_errno(long r) { return r < 0 ? -errno : int(r); }

inline goro::task<int> accept_one(sock& l)
{
    if (on_uring()) {
        auto op = ring([fd = l.fd](io_uring_sqe* s) { io_uring_prep_accept(s, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); },
                       -1, true);
        co_return co_await op;
    }
    for (;;) {
        int r = neg_errno(::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (r != -EAGAIN)
            co_return r;
        co_await readiness_await{l.w, d::io_dir::read};
    }
}

inline goro::task<int> connect_to(sock& s, const sockaddr_in* addr)
{
    if (on_uring()) {
        auto op = ring([fd = s.fd, addr](io_uring_sqe* q) {
            io_uring_prep_connect(q, fd, reinterpret_cast<const sockaddr*>(addr), sizeof *addr);
        });
        co_return co_await op;
    }
    int r = neg_errno(::connect(s.fd, reinterpret_cast<const sockaddr*>(addr), sizeof *addr));
    if (r != -EINPROGRESS)
        co_return r;
    co_await readiness_await{s.w, d::io_dir::write};
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    co_return -error;
}

inline goro::task<int> recv_some(sock& s, char* buf, std::size_t n, std::int64_t deadline_ns = -1)
{
    if (on_uring()) {
        auto op = ring([fd = s.fd, buf, n](io_uring_sqe* q) { io_uring_prep_recv(q, fd, buf, n, 0); }, deadline_ns);
        co_return co_await op;
    }
    for (;;) {
        int r = neg_errno(::recv(s.fd, buf, n, 0));
        if (r != -EAGAIN)
            co_return r;
        co_await readiness_await{s.w, d::io_dir::read};
    }
}

inline goro::task<int> send_all(sock& s, const char* buf, std::size_t n)
{
    std::size_t done = 0;
    while (done < n) {
        int r;
        if (on_uring()) {
            auto op = ring([fd = s.fd, p = buf + done, left = n - done](io_uring_sqe* q) {
                io_uring_prep_send(q, fd, p, left, MSG_NOSIGNAL);
            });
            r = co_await op;
        } else {
            r = neg_errno(::send(s.fd, buf + done, n - done, MSG_NOSIGNAL));
            if (r == -EAGAIN) {
                co_await readiness_await{s.w, d::io_dir::write};
                continue;
            }
        }
        if (r < 0)
            co_return r;
        done += std::size_t(r);
    }
    co_return int(done);
}

// `pairs` Unix socketpairs, registered on the current P (epoll): sockets
// 2i and 2i+1 are the two ends of pair i.
inline std::vector<sock> socket_pairs(int pairs)
{
    std::vector<sock> socks;
    socks.reserve(std::size_t(2 * pairs));
    for (int i = 0; i < pairs; ++i) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
            die("socketpair", -errno);
        socks.push_back(sock::make(sv[0]));
        socks.push_back(sock::make(sv[1]));
    }
    return socks;
}

// One side of a byte ping-pong on `s`: `rounds` round trips, the starting
// side sending first; counts each in `progress`. Returns the rounds done
// (fewer if a call failed).
inline goro::task<int> ping_pong(sock& s, bool starts, int rounds, std::atomic<long>& progress)
{
    char b = 'x';
    int ok = 0;
    for (int i = 0; i < rounds; ++i) {
        if (starts && co_await send_all(s, &b, 1) != 1)
            break;
        if (co_await recv_some(s, &b, 1) != 1)
            break;
        if (!starts && co_await send_all(s, &b, 1) != 1)
            break;
        ++ok;
        progress.fetch_add(1, std::memory_order_relaxed); // relaxed: a count, read by watchers
    }
    co_return ok;
}

// A loopback TCP connection: its listener, the connecting side and the
// accepted side.
struct tcp_pair {
    sock listener, client, server;
    void close()
    {
        server.close();
        client.close();
        listener.close();
    }
};

inline goro::task<> connect_pair(tcp_pair& p)
{
    sockaddr_in addr{};
    p.listener = sock::make(listen_loopback(addr));
    p.client = sock::make(tcp_socket());
    auto accepting = goro::spawn(accept_one(p.listener));
    co_await connect_to(p.client, &addr);
    p.server = sock::make(co_await std::move(accepting));
}

} // namespace
} // namespace goro_test
