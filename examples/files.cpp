// files: goro::fs, Go's os.File for goroutines. Eight goroutines each write a
// file with fs::write_file, then the main goroutine reads each one back with
// fs::read_file and one line of it with open + read_at + close, and asks for
// a missing file to show an error as a result (Go's errors.Is(err,
// fs.ErrNotExist)). Every operation suspends only its goroutine: an io_uring
// operation, or a call on goro::blocking's pool where io_uring is unavailable.
//
// The output is the same on every run.
#include <goro/goro.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>

namespace {

goro::task<goro::result<void>> write_one(std::string path, int id)
{
    const std::string text = "file " + std::to_string(id) + "\nsays hello\n";
    auto writing = goro::fs::write_file(path, text, 0644);
    co_return co_await writing;
}

// The second line of `path`, through a file: open, read_at, close.
goro::task<goro::result<std::string>> second_line(std::string path, std::size_t offset)
{
    auto opening = goro::fs::open(path);
    goro::result<goro::fs::file> f = co_await opening;
    if (!f)
        co_return f.error();
    char buf[64];
    auto reading = f->read_at(buf, sizeof buf, std::int64_t(offset));
    goro::result<std::size_t> n = co_await reading; // fewer than 64: the file ends first
    if (!n)
        co_return n.error();
    auto closing = f->close();
    if (goro::result<void> closed = co_await closing; !closed)
        co_return closed.error();
    co_return std::string(buf, *n);
}

goro::task<int> app(std::string dir)
{
    std::vector<goro::join_handle<goro::result<void>>> writers;
    for (int id = 0; id < 8; ++id)
        writers.push_back(goro::spawn(write_one(dir + "/f" + std::to_string(id), id)));
    int status = 0;
    for (auto& w : writers) {
        goro::result<void> r = co_await w;
        if (!r) {
            std::printf("write: %s\n", r.error().message().c_str());
            status = 1;
        }
    }
    for (int id = 0; id < 8 && status == 0; ++id) {
        const std::string path = dir + "/f" + std::to_string(id);
        auto reading = goro::fs::read_file(path);
        goro::result<std::string> data = co_await reading;
        if (!data) {
            std::printf("read_file: %s\n", data.error().message().c_str());
            status = 1;
            break;
        }
        const std::size_t newline = data->find('\n');
        auto getting = second_line(path, newline + 1);
        goro::result<std::string> line = co_await getting;
        if (!line) {
            std::printf("second_line: %s\n", line.error().message().c_str());
            status = 1;
            break;
        }
        std::printf("%s: %zu bytes, second line: %s", data->substr(0, newline).c_str(), data->size(),
                    line->c_str());
    }

    auto missing = goro::fs::open(dir + "/missing");
    goro::result<goro::fs::file> none = co_await missing;
    if (none.error() == std::errc::no_such_file_or_directory)
        std::printf("missing: %s\n", none.error().message().c_str());
    else
        status = 1;
    co_return status;
}

} // namespace

int main()
{
    char tmpl[] = "/tmp/goro-files-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::perror("mkdtemp");
        return 1;
    }
    const int status = goro::run(app(tmpl));
    std::filesystem::remove_all(tmpl);
    return status;
}
