// file_rw: 4 KiB positioned reads and writes of files in the page cache.
//
// 4 goroutines each own a 1 MiB file in a fresh directory under /tmp
// (written before the clock starts) and do M operations on it (default
// 20,000; argv[1] overrides), alternating co_await f.write_at and
// co_await f.read_at of 4 KiB, at block offsets that walk the file. Prints the
// wall time from starting the goroutines to the last one finishing, divided
// by the 4*M operations:
//
//   file_rw ns_per_op <float>
//
// On the io_uring backend each operation is an io_uring READ or WRITE; with
// GORO_NETPOLL=epoll, a pread/pwrite on goro::blocking's pool. Exits with
// status 1 if an operation fails or moves fewer than 4 KiB, or a read does
// not return the block written there. Go twin: go/file_rw/main.go (os.File's
// ReadAt and WriteAt). No bar: informational.
#include "bench_args.hpp"

#include <goro/fs.hpp>
#include <goro/go.hpp>
#include <goro/runtime.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

constexpr int n_goroutines = 4;
constexpr std::size_t block = 4096;
constexpr std::size_t blocks = 256; // 1 MiB per file
long n_ops = 20'000;

goro::task<> worker(goro::fs::file* f, long ops, int id, std::atomic<int>* failures, goro::wait_group* wg)
{
    std::vector<char> out(block, char('a' + id)), in(block);
    for (long i = 0; i < ops; i += 2) {
        const auto off = std::int64_t(std::size_t(i / 2) % blocks * block);
        out[0] = char(i); // each write differs from the last one at the block
        auto writing = f->write_at(out.data(), block, off);
        goro::result<std::size_t> w = co_await writing;
        auto reading = f->read_at(in.data(), block, off);
        goro::result<std::size_t> r = co_await reading;
        if (!w || *w != block || !r || *r != block || std::memcmp(in.data(), out.data(), block) != 0) {
            failures->fetch_add(1);
            break;
        }
    }
    wg->done();
}

goro::task<int> app()
{
    char tmpl[] = "/tmp/goro-bench-file-rw-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::perror("file_rw: mkdtemp");
        co_return 1;
    }
    const std::string dir = tmpl;
    const std::string fill(blocks * block, 'x');
    std::vector<goro::fs::file> files;
    for (int i = 0; i < n_goroutines; ++i) {
        const std::string path = dir + "/f" + std::to_string(i);
        auto writing = goro::fs::write_file(path, fill);
        goro::result<void> w = co_await writing;
        auto opening = goro::fs::open(path, O_RDWR);
        goro::result<goro::fs::file> f = co_await opening;
        if (!w || !f) {
            std::fprintf(stderr, "file_rw: %s: %s\n", path.c_str(), (w ? f.error() : w.error()).message().c_str());
            std::filesystem::remove_all(dir);
            co_return 1;
        }
        files.push_back(std::move(f).value());
    }

    std::atomic<int> failures{0};
    goro::wait_group wg;
    const long ops = n_ops;
    auto start = std::chrono::steady_clock::now();
    wg.add(n_goroutines);
    for (int i = 0; i < n_goroutines; ++i)
        goro::go(worker(&files[std::size_t(i)], ops, i, &failures, &wg));
    co_await wg.wait();
    auto elapsed = std::chrono::steady_clock::now() - start;

    files.clear();
    std::filesystem::remove_all(dir);
    if (failures.load() != 0) {
        std::fprintf(stderr, "file_rw: %d goroutines saw a failed or short operation\n", failures.load());
        co_return 1;
    }
    print_ns_per_op("file_rw", elapsed, n_goroutines * ops);
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    n_ops = count_arg(argc, argv, n_ops, "operations per goroutine");
    if (n_ops % 2 != 0)
        ++n_ops; // write, read pairs
    return goro::run(app());
}
