// Runs the netpoll select helper (select_helper.cpp) in a child process with
// a given GORO_NETPOLL and, optionally, a seccomp filter that makes
// io_uring's system calls fail as Docker's default profile does. The filter
// is installed in the child after fork, before exec, and survives the exec
// (no_new_privs lets an unprivileged process install it).
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace goro_test {

#if defined(__x86_64__)
inline constexpr bool seccomp_arch_known = true;
inline constexpr std::uint32_t seccomp_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
inline constexpr bool seccomp_arch_known = true;
inline constexpr std::uint32_t seccomp_arch = AUDIT_ARCH_AARCH64;
#else
inline constexpr bool seccomp_arch_known = false;
inline constexpr std::uint32_t seccomp_arch = 0;
#endif

enum class syscall_filter {
    none,
    /// io_uring_setup, io_uring_enter and io_uring_register fail with EPERM.
    no_io_uring,
    /// That, and epoll_pwait2 fails with ENOSYS, as under a profile older
    /// than it.
    no_io_uring_nor_epoll_pwait2,
};

struct child_result {
    int status = -1; // the exit status, or 128 + the signal that ended it
    std::string out;
    std::string err;
};

/// Whether this kernel lets a process install a seccomp filter that returns
/// an errno (else the seccomp tests are skipped).
inline bool seccomp_filters_work()
{
    std::uint32_t action = SECCOMP_RET_ERRNO;
    return seccomp_arch_known && prctl(PR_GET_SECCOMP) >= 0 &&
           syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

namespace detail_child {

inline std::vector<sock_filter> program(syscall_filter f)
{
    auto deny = [](std::vector<sock_filter>& p, std::uint32_t nr, std::uint32_t err) {
        p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
        p.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)));
    };
    std::vector<sock_filter> p;
    p.reserve(16); // also keeps g++ 12's -Warray-bounds quiet about the growth below
    p.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, std::uint32_t(offsetof(seccomp_data, arch))));
    p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch, 1, 0));
    p.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    p.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, std::uint32_t(offsetof(seccomp_data, nr))));
    deny(p, __NR_io_uring_setup, EPERM);
    deny(p, __NR_io_uring_enter, EPERM);
    deny(p, __NR_io_uring_register, EPERM);
    if (f == syscall_filter::no_io_uring_nor_epoll_pwait2)
        deny(p, __NR_epoll_pwait2, ENOSYS);
    p.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    return p;
}

} // namespace detail_child

/// Runs the helper with GORO_NETPOLL set to `netpoll` (unset if nullopt) and
/// the rest of this process's environment, under `filter`.
/// Runs the helper; `runtime_check` adds --runtime (a goro runtime's
/// goroutines, timers and file I/O on the chosen backend).
inline child_result run_select_helper(std::optional<std::string> netpoll, syscall_filter filter,
                                      bool runtime_check = false)
{
    // Everything the child needs is built before fork: after it, in a
    // process that may have threads, the child makes system calls only.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "GORO_NETPOLL=", 13) != 0)
            env_strings.emplace_back(*e);
    if (netpoll)
        env_strings.push_back("GORO_NETPOLL=" + *netpoll);
    std::vector<char*> envp;
    for (std::string& s : env_strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string path = GORO_NETPOLL_HELPER;
    std::string runtime_flag = "--runtime";
    char* argv[] = {path.data(), runtime_check ? runtime_flag.data() : nullptr, nullptr};
    std::vector<sock_filter> insns = detail_child::program(filter);
    sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};

    int out_pipe[2], err_pipe[2];
    REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        if (filter != syscall_filter::none &&
            (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
             syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0))
            _exit(120);
        execve(path.c_str(), argv, envp.data());
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    child_result r;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_pipes = 2;
    while (open_pipes > 0) {
        if (poll(fds, 2, -1) < 0) {
            REQUIRE(errno == EINTR);
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, std::size_t(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_pipes;
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        REQUIRE(errno == EINTR);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

} // namespace goro_test
