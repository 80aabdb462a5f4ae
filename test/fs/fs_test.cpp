// goro::fs on the backend this process runs (GORO_NETPOLL; run the suite
// once normally and once with GORO_NETPOLL=epoll): round trips, positioned
// and positional reads and writes, EOF, errors as results, concurrent file
// I/O on 2 Ps, and the end of a run with file operations in flight, which
// must leave no descriptor open.
#include "sched/io.hpp"
#include "support/open_fds.hpp"
#include "support/temp_dir.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace d = goro::detail;

namespace {

using goro_test::open_fds;
using goro_test::temp_dir;

std::string pattern(std::size_t n, unsigned seed)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = char('a' + (i * 7 + seed) % 26);
    return s;
}

std::string backend() { return std::string(d::backend_name(d::io_backend())); }

// ---------------------------------------------------------------------------

struct round_trip_out {
    std::error_code write_error, read_error;
    std::string got;
};

goro::task<> round_trip(std::string path, const std::string* data, round_trip_out* out)
{
    auto writing = goro::fs::write_file(path, *data);
    goro::result<void> w = co_await writing;
    out->write_error = w.error();
    auto reading = goro::fs::read_file(path);
    goro::result<std::string> r = co_await reading;
    out->read_error = r.error();
    if (r)
        out->got = std::move(r).value();
}

} // namespace

TEST_CASE("write_file then read_file returns the bytes written", "[fs]")
{
    temp_dir dir("goro-fs-test");
    for (unsigned procs : {1u, 2u}) {
        for (std::size_t size : {std::size_t(0), std::size_t(1), std::size_t(4096), std::size_t((1 << 20) + 1),
                                 std::size_t(3 << 20)}) {
            const std::string data = pattern(size, unsigned(size));
            round_trip_out out;
            goro::runtime rt(goro::runtime_config{procs});
            rt.run(round_trip(dir / "f", &data, &out));
            INFO("backend " << backend() << ", procs " << procs << ", size " << size);
            CHECK(!out.write_error);
            CHECK(!out.read_error);
            CHECK(out.got.size() == size);
            CHECK(out.got == data);
        }
    }
}

namespace {

struct positions_out {
    std::vector<std::string> failures;
    std::int64_t size_after_writes = -1;
    bool is_regular = false;
    std::size_t past_eof = 99, straddle = 0, empty_read = 99;
    std::string straddle_bytes, middle, sequential, overwritten;
};

#define EXPECT_OK(r, what)                                                                                             \
    if (!(r)) {                                                                                                        \
        out->failures.push_back(std::string(what) + ": " + (r).error().message());                                    \
        co_return;                                                                                                     \
    }

goro::task<> positions(std::string path, positions_out* out)
{
    auto creating = goro::fs::create(path);
    goro::result<goro::fs::file> opened = co_await creating;
    EXPECT_OK(opened, "create");
    goro::fs::file f = std::move(opened).value();

    // Writes at offsets, out of order, leaving no hole.
    const std::string a = pattern(100, 1), b = pattern(50, 2);
    auto w1 = f.write_at(b.data(), b.size(), 100);
    goro::result<std::size_t> n1 = co_await w1;
    EXPECT_OK(n1, "write_at 100");
    auto w2 = f.write_at(a.data(), a.size(), 0);
    goro::result<std::size_t> n2 = co_await w2;
    EXPECT_OK(n2, "write_at 0");
    if (*n1 != 50 || *n2 != 100)
        out->failures.push_back("short writes");

    auto syncing = f.fsync();
    goro::result<void> synced = co_await syncing;
    EXPECT_OK(synced, "fsync");
    auto stating = f.stat();
    goro::result<goro::fs::file_info> info = co_await stating;
    EXPECT_OK(info, "stat");
    out->size_after_writes = info->size;
    out->is_regular = info->is_regular() && !info->is_dir();

    char buf[64];
    auto r1 = f.read_at(buf, 20, 90); // a's last 10 bytes, b's first 10
    goro::result<std::size_t> m = co_await r1;
    EXPECT_OK(m, "read_at 90");
    out->middle.assign(buf, *m);

    auto r2 = f.read_at(buf, sizeof buf, 140); // 10 bytes left before EOF
    goro::result<std::size_t> s = co_await r2;
    EXPECT_OK(s, "read_at 140");
    out->straddle = *s;
    out->straddle_bytes.assign(buf, *s);

    auto r3 = f.read_at(buf, sizeof buf, 150); // exactly at EOF
    goro::result<std::size_t> e = co_await r3;
    EXPECT_OK(e, "read_at 150");
    out->past_eof = *e;
    auto r4 = f.read_at(buf, sizeof buf, 1 << 20); // far past it
    goro::result<std::size_t> e2 = co_await r4;
    EXPECT_OK(e2, "read_at 1 MiB");
    out->past_eof += *e2;
    auto r5 = f.read_at(buf, 0, 0);
    goro::result<std::size_t> z = co_await r5;
    EXPECT_OK(z, "read_at of 0 bytes");
    out->empty_read = *z;

    // read and write at the file position: the position is at 0 (only
    // positioned calls so far); write 3 bytes, then read the next 5.
    auto w3 = f.write("XYZ", 3);
    goro::result<std::size_t> n3 = co_await w3;
    EXPECT_OK(n3, "write");
    auto r6 = f.read(buf, 5);
    goro::result<std::size_t> n6 = co_await r6;
    EXPECT_OK(n6, "read");
    out->sequential.assign(buf, *n6);
    auto r7 = f.read_at(buf, 4, 0);
    goro::result<std::size_t> n7 = co_await r7;
    EXPECT_OK(n7, "read_at 0");
    out->overwritten.assign(buf, *n7);

    auto closing = f.close();
    goro::result<void> closed = co_await closing;
    EXPECT_OK(closed, "close");
}

} // namespace

TEST_CASE("read_at and write_at at offsets; reads at and past EOF; read and write at the position", "[fs]")
{
    temp_dir dir("goro-fs-test");
    positions_out o;
    goro::runtime rt(goro::runtime_config{1});
    rt.run(positions(dir / "p", &o));
    INFO("backend " << backend());
    CHECK(o.failures == std::vector<std::string>{});
    const std::string a = pattern(100, 1), b = pattern(50, 2);
    CHECK(o.size_after_writes == 150);
    CHECK(o.is_regular);
    CHECK(o.middle == a.substr(90) + b.substr(0, 10));
    CHECK(o.straddle == 10); // the remainder, not an error
    CHECK(o.straddle_bytes == b.substr(40));
    CHECK(o.past_eof == 0);
    CHECK(o.empty_read == 0);
    CHECK(o.sequential == a.substr(3, 5));
    CHECK(o.overwritten == "XYZ" + a.substr(3, 1));
}

namespace {

struct errors_out {
    std::error_code missing_open, missing_read_file, dir_for_write, read_file_of_dir;
    std::error_code closed_read, closed_write, closed_fsync, closed_stat, closed_close, default_read, moved_read;
    std::error_code negative_offset, write_to_read_only;
    bool closed_read_suspended = true;
    bool closed_is_open = true;
};

goro::task<> errors(std::string dir, errors_out* out)
{
    auto o1 = goro::fs::open(dir + "/missing");
    goro::result<goro::fs::file> missing = co_await o1;
    out->missing_open = missing.error();
    auto rf = goro::fs::read_file(dir + "/missing");
    goro::result<std::string> missing_data = co_await rf;
    out->missing_read_file = missing_data.error();
    auto o2 = goro::fs::open(dir, O_WRONLY);
    goro::result<goro::fs::file> dir_w = co_await o2;
    out->dir_for_write = dir_w.error();
    auto rd = goro::fs::read_file(dir);
    goro::result<std::string> dir_data = co_await rd;
    out->read_file_of_dir = dir_data.error();

    auto wf = goro::fs::write_file(dir + "/ro", "read only");
    goro::result<void> written = co_await wf;
    if (!written)
        co_return;
    auto o3 = goro::fs::open(dir + "/ro");
    goro::result<goro::fs::file> ro = co_await o3;
    if (!ro)
        co_return;
    goro::fs::file f = std::move(ro).value();
    char buf[8];
    auto w = f.write_at("x", 1, 0);
    goro::result<std::size_t> wr = co_await w;
    out->write_to_read_only = wr.error();
    auto neg = f.read_at(buf, sizeof buf, -5);
    goro::result<std::size_t> nr = co_await neg;
    out->negative_offset = nr.error();

    auto c1 = f.close();
    goro::result<void> closed = co_await c1;
    if (!closed)
        co_return;
    out->closed_is_open = f.is_open();
    {
        auto r = f.read_at(buf, sizeof buf, 0);
        out->closed_read_suspended = !r.await_ready(); // EBADF at once, without the kernel
        goro::result<std::size_t> n = co_await r;
        out->closed_read = n.error();
    }
    auto w2 = f.write_at("x", 1, 0);
    goro::result<std::size_t> n2 = co_await w2;
    out->closed_write = n2.error();
    auto s = f.fsync();
    goro::result<void> synced = co_await s;
    out->closed_fsync = synced.error();
    auto st = f.stat();
    goro::result<goro::fs::file_info> info = co_await st;
    out->closed_stat = info.error();
    auto c2 = f.close();
    goro::result<void> closed2 = co_await c2;
    out->closed_close = closed2.error();

    { // a close never awaited still closes the descriptor it took
        auto o5 = goro::fs::open(dir + "/ro");
        goro::result<goro::fs::file> unawaited = co_await o5;
        if (unawaited) {
            auto never = unawaited->close();
            out->closed_is_open = out->closed_is_open || unawaited->is_open();
        }
    }

    goro::fs::file none;
    auto r3 = none.read(buf, sizeof buf);
    goro::result<std::size_t> n3 = co_await r3;
    out->default_read = n3.error();

    auto o4 = goro::fs::open(dir + "/ro");
    goro::result<goro::fs::file> again = co_await o4;
    if (!again)
        co_return;
    goro::fs::file from = std::move(again).value();
    goro::fs::file to = std::move(from);
    auto r4 = from.read_at(buf, sizeof buf, 0);
    goro::result<std::size_t> n4 = co_await r4;
    out->moved_read = n4.error();
}

} // namespace

TEST_CASE("what the world does comes back as errors: ENOENT, EISDIR, EBADF, EINVAL", "[fs]")
{
    temp_dir dir("goro-fs-test");
    errors_out o;
    const std::set<int> before = open_fds();
    {
        goro::runtime rt(goro::runtime_config{1});
        rt.run(errors(dir.dir.string(), &o));
    }
    INFO("backend " << backend());
    CHECK(o.missing_open == std::errc::no_such_file_or_directory);
    CHECK(o.missing_open.category() == std::system_category());
    CHECK(o.missing_read_file == std::errc::no_such_file_or_directory);
    CHECK(o.dir_for_write == std::errc::is_a_directory);
    CHECK(o.read_file_of_dir == std::errc::is_a_directory);
    CHECK(o.write_to_read_only == std::errc::bad_file_descriptor);
    CHECK(o.negative_offset == std::errc::invalid_argument);
    CHECK(!o.closed_is_open);
    CHECK(!o.closed_read_suspended);
    CHECK(o.closed_read == std::errc::bad_file_descriptor);
    CHECK(o.closed_write == std::errc::bad_file_descriptor);
    CHECK(o.closed_fsync == std::errc::bad_file_descriptor);
    CHECK(o.closed_stat == std::errc::bad_file_descriptor);
    CHECK(o.closed_close == std::errc::bad_file_descriptor);
    CHECK(o.default_read == std::errc::bad_file_descriptor);
    CHECK(o.moved_read == std::errc::bad_file_descriptor);
    CHECK(open_fds() == before); // files closed by close() and by destructors
}

namespace {

constexpr int concurrent_goroutines = 32;
constexpr int blocks_per_file = 16;
constexpr std::size_t block = 4096;

// Writes its own file block by block at offsets, in reverse order, then
// reads it back block by block and checks it, and reads the shared file.
goro::task<> file_worker(std::string dir, int id, const std::string* shared, std::string* failure,
                         goro::wait_group* wg)
{
    const std::string path = dir + "/w" + std::to_string(id);
    const std::string data = pattern(block * blocks_per_file, unsigned(id));
    auto creating = goro::fs::create(path);
    goro::result<goro::fs::file> opened = co_await creating;
    if (!opened) {
        *failure = "create: " + opened.error().message();
    } else {
        goro::fs::file f = std::move(opened).value();
        for (int i = blocks_per_file; i-- > 0 && failure->empty();) {
            const std::size_t off = std::size_t(i) * block;
            auto w = f.write_at(data.data() + off, block, std::int64_t(off));
            goro::result<std::size_t> n = co_await w;
            if (!n || *n != block)
                *failure = "write_at block " + std::to_string(i);
        }
        std::string got(data.size(), '\0');
        for (int i = 0; i < blocks_per_file && failure->empty(); ++i) {
            const std::size_t off = std::size_t(i) * block;
            auto r = f.read_at(got.data() + off, block, std::int64_t(off));
            goro::result<std::size_t> n = co_await r;
            if (!n || *n != block)
                *failure = "read_at block " + std::to_string(i);
        }
        if (failure->empty() && got != data)
            *failure = "read back differs";
        auto reading = goro::fs::read_file(dir + "/shared");
        goro::result<std::string> s = co_await reading;
        if (failure->empty() && (!s || *s != *shared))
            *failure = "shared file differs";
    }
    wg->done();
}

goro::task<> concurrent_main(std::string dir, const std::string* shared, std::vector<std::string>* failures)
{
    auto writing = goro::fs::write_file(dir + "/shared", *shared);
    goro::result<void> w = co_await writing;
    if (!w) {
        failures->at(0) = "shared: " + w.error().message();
        co_return;
    }
    goro::wait_group wg;
    wg.add(concurrent_goroutines);
    for (int i = 0; i < concurrent_goroutines; ++i)
        goro::go(file_worker(dir, i, shared, &failures->at(std::size_t(i)), &wg));
    co_await wg.wait();
}

} // namespace

TEST_CASE("many goroutines do file I/O at once on 2 Ps", "[fs]")
{
    temp_dir dir("goro-fs-test");
    const std::string shared = pattern(100'000, 42);
    std::vector<std::string> failures(concurrent_goroutines);
    const std::set<int> before = open_fds();
    {
        goro::runtime rt(goro::runtime_config{2});
        rt.run(concurrent_main(dir.dir.string(), &shared, &failures));
    }
    INFO("backend " << backend());
    for (const std::string& f : failures)
        CHECK(f == "");
    CHECK(open_fds() == before);
}

namespace {

// Opens, reads and closes files for as long as the run lasts.
goro::task<> churn(std::string path, goro::wait_group* started)
{
    started->done();
    char buf[256];
    for (int i = 0; i < 1'000'000; ++i) {
        auto opening = goro::fs::open(path);
        goro::result<goro::fs::file> f = co_await opening;
        if (!f)
            co_return;
        auto reading = f->read_at(buf, sizeof buf, 0);
        goro::result<std::size_t> n = co_await reading;
        (void)n;
        if (i % 2 == 0) { // every other file is left to the destructor
            auto closing = f->close();
            goro::result<void> c = co_await closing;
            (void)c;
        }
    }
}

goro::task<> abandon_main(std::string path, unsigned churners)
{
    const std::string data = pattern(1000, 3);
    auto writing = goro::fs::write_file(path, data);
    goro::result<void> w = co_await writing;
    if (!w)
        co_return;
    goro::wait_group started;
    started.add(int(churners));
    for (unsigned i = 0; i < churners; ++i)
        goro::go(churn(path, &started));
    co_await started.wait();
    co_await goro::yield();
    // Return while the churners are in the middle of operations.
}

struct opener_out {
    bool resumed = false;
    bool main_opened = false;
};

goro::task<> opener(std::string path, opener_out* out)
{
    auto opening = goro::fs::open(path);
    goro::result<goro::fs::file> f = co_await opening;
    out->resumed = true;
}

// At 1 P: main submits an open, then the opener submits one; both complete in
// that order, so main resumes first and ends the run while the opener's open
// has completed with an fd its goroutine never takes.
goro::task<> orphan_main(std::string path, opener_out* out)
{
    goro::go(opener(path, out));
    auto opening = goro::fs::open(path);
    goro::result<goro::fs::file> mine = co_await opening;
    out->main_opened = mine.ok();
}

} // namespace

TEST_CASE("a run that ends with file operations in flight leaves no descriptor open", "[fs]")
{
    temp_dir dir("goro-fs-test");
    {
        goro::runtime warm(goro::runtime_config{1}); // process-wide descriptors (the probe) come first
        warm.run(abandon_main(dir / "warm", 1));
    }
    for (unsigned procs : {1u, 2u}) {
        const std::set<int> before = open_fds();
        {
            goro::runtime rt(goro::runtime_config{procs});
            rt.run(abandon_main(dir / "a", 16));
            CHECK(goro::num_goroutine() == 0);
        }
        INFO("backend " << backend() << ", procs " << procs);
        CHECK(open_fds() == before);
    }
}

TEST_CASE("an open that completes after its goroutine's run ended has its fd closed", "[fs][policy]")
{
    temp_dir dir("goro-fs-test");
    {
        goro::runtime warm(goro::runtime_config{1});
        warm.run(abandon_main(dir / "warm", 1));
    }
    const std::set<int> before = open_fds();
    opener_out out;
    {
        goro::runtime_config cfg{1};
        cfg.max_blocking_threads = 1; // epoll: the two opens run in order on one thread
        goro::runtime rt(cfg);
        rt.run(orphan_main(dir / "warm", &out));
    }
    INFO("backend " << backend());
    CHECK(out.main_opened);
    CHECK(!out.resumed); // the opener's open completed (it was submitted first) but it never ran again
    CHECK(open_fds() == before);
}
