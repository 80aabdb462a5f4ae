// blocking_files: file I/O through goro::blocking. Each goroutine creates a
// temporary file, writes a line, reads it back and removes the file with
// plain POSIX calls, which block their thread; goro::blocking runs them on
// goro's pool of blocking threads, so the workers go on running the other
// goroutines meanwhile. The read goes straight into a buffer in the
// goroutine's frame: the frame outlives the call.
//
// The output is the same on every run.
#include <goro/goro.hpp>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// One file's round trip; returns the text read back. errno is read inside
// the functions, on the thread that made the call.
goro::task<std::string> round_trip(int id)
{
    char path[] = "/tmp/goro-blocking-files-XXXXXX";
    const std::string text = "file " + std::to_string(id) + " says hello";

    auto create = [&path] {
        const int fd = ::mkstemp(path);
        if (fd < 0)
            fail("mkstemp");
        return fd;
    };
    const int fd = co_await goro::blocking(create);

    char buf[64] = {};
    auto write_and_read = [fd, &text, &buf] {
        if (::pwrite(fd, text.data(), text.size(), 0) != ssize_t(text.size()))
            fail("pwrite");
        const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
        if (n < 0)
            fail("pread");
        return std::size_t(n);
    };
    auto remove = [fd, &path] {
        ::close(fd);
        ::unlink(path);
    };
    std::size_t n = 0;
    std::exception_ptr error; // co_await may not appear in a catch handler
    try {
        n = co_await goro::blocking(write_and_read);
    } catch (...) {
        error = std::current_exception();
    }
    co_await goro::blocking(remove);
    if (error)
        std::rethrow_exception(error);
    co_return std::string(buf, n);
}

goro::task<int> app()
{
    std::vector<goro::join_handle<std::string>> handles;
    for (int id = 0; id < 8; ++id)
        handles.push_back(goro::spawn(round_trip(id)));
    int status = 0;
    for (auto& h : handles) {
        try {
            std::string line = co_await h;
            std::printf("%s\n", line.c_str());
        } catch (const std::exception& e) {
            std::printf("error: %s\n", e.what());
            status = 1;
        }
    }
    co_return status;
}

} // namespace

int main() { return goro::run(app()); }
