// goro::fs with a context, on the backend this process runs (GORO_NETPOLL;
// run the suite once normally and once with GORO_NETPOLL=epoll). A read from
// a FIFO (opened O_RDWR, so the open does not wait for a writer) waits until
// someone writes: on io_uring the context ends it (canceled, or
// deadline_exceeded and never early); on epoll the call runs on (documented:
// the blocking thread writes into the caller's buffer), so the test releases
// it with a byte and checks that the outcome is the truth. Either way a
// context cancelled already returns at once, a read that completed returns
// its bytes, nothing written is lost, and no descriptor leaks.
#include "base/clock.hpp"
#include "sched/io.hpp"
#include "support/open_fds.hpp"
#include "support/temp_dir.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

using namespace std::chrono_literals;
namespace d = goro::detail;

namespace {

using goro_test::open_fds;
using goro_test::temp_dir;

bool on_uring() { return d::io_backend() == d::backend_kind::uring; }
std::string backend() { return std::string(d::backend_name(d::io_backend())); }

std::string make_fifo(const temp_dir& dir, const char* name)
{
    std::string path = dir / name;
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    return path;
}

// Warms the process up (the backend probe's descriptors come first), so
// that open_fds() before and after a run can be compared.
goro::task<> nothing() { co_return; }
void warm_up()
{
    goro::runtime rt(goro::runtime_config{1});
    rt.run(nothing());
}

// Runs `main` on `procs` Ps: whether the descriptor table is as before.
bool runs_without_leaking(unsigned procs, goro::task<> main)
{
    const std::set<int> before = open_fds();
    {
        goro::runtime rt(goro::runtime_config{procs});
        rt.run(std::move(main));
    }
    return open_fds() == before;
}

struct read_out {
    bool opened = false;
    std::error_code err;   // the read's error
    std::string got;       // the read's bytes
    std::string leftover;  // what a plain read found afterwards (nothing written is lost)
    std::int64_t started_ns = 0, ended_ns = 0;
};

goro::task<> reader(goro::fs::file* f, goro::context ctx, read_out* out, goro::wait_group* wg)
{
    char buf[16];
    out->started_ns = d::monotonic_ns();
    auto reading = f->read(ctx, buf, sizeof buf);
    goro::result<std::size_t> n = co_await reading;
    out->ended_ns = d::monotonic_ns();
    if (n)
        out->got.assign(buf, *n);
    else
        out->err = n.error();
    wg->done();
}

// After the reader ended: if it got nothing, the byte the test wrote is
// still in the FIFO.
goro::task<> take_leftover(goro::fs::file* f, read_out* out)
{
    char buf[16];
    auto reading = f->read(buf, sizeof buf);
    goro::result<std::size_t> n = co_await reading;
    if (n)
        out->leftover.assign(buf, *n);
}

goro::task<> write_byte(goro::fs::file* f, char c)
{
    auto writing = f->write(&c, 1);
    goro::result<std::size_t> n = co_await writing;
    (void)n;
}

// The FIFO opened under a context and a reader goroutine waiting on it.
struct fifo_reader {
    std::optional<goro::fs::file> f;
    goro::wait_group wg;

    // Opens `path` with `ctx` and starts the reader; false if the open failed.
    goro::task<bool> start(std::string path, goro::context ctx, read_out* out)
    {
        auto opening = goro::fs::open(ctx, path, O_RDWR);
        goro::result<goro::fs::file> opened = co_await opening;
        if (!opened)
            co_return false;
        out->opened = true;
        f.emplace(std::move(opened).value());
        wg.add(1);
        goro::go(reader(&*f, ctx, out, &wg));
        co_return true;
    }

    // Waits for the reader; on epoll, takes the byte it may have left.
    goro::task<> finish(read_out* out)
    {
        co_await wg.wait();
        if (!on_uring() && out->got.empty())
            co_await take_leftover(&*f, out);
    }
};

// A read that never gets data, cancelled from this goroutine while the
// reader (another goroutine) waits. On epoll, a byte then ends the call.
goro::task<> cancel_main(std::string path, read_out* out)
{
    goro::cancellable c = goro::with_cancel(goro::background());
    fifo_reader r;
    auto starting = r.start(path, c.ctx, out);
    const bool started = co_await starting;
    if (!started)
        co_return;
    co_await goro::sleep(20ms); // most likely parked in the read by now; canceled either way
    c.cancel();
    if (!on_uring())
        co_await write_byte(&*r.f, 'x');
    auto finishing = r.finish(out);
    co_await finishing;
}

// The same, ended by a deadline. On epoll the byte comes once the deadline
// passed.
goro::task<> deadline_main(std::string path, std::int64_t* deadline_ns, read_out* out)
{
    goro::cancellable c = goro::with_timeout(goro::background(), 50ms);
    *deadline_ns = d::time_point_ns(*c.ctx.deadline());
    fifo_reader r;
    auto starting = r.start(path, c.ctx, out);
    const bool started = co_await starting;
    if (!started)
        co_return;
    if (!on_uring()) {
        co_await c.ctx.done();
        co_await write_byte(&*r.f, 'x');
    }
    auto finishing = r.finish(out);
    co_await finishing;
}

} // namespace

TEST_CASE("a read of a FIFO that never gets data is cancelled by its context", "[fs][context]")
{
    temp_dir dir("goro-fsctx-test");
    const std::string path = make_fifo(dir, "fifo");
    warm_up();
    for (unsigned procs : {1u, 2u}) {
        read_out out;
        const bool clean = runs_without_leaking(procs, cancel_main(path, &out));
        INFO("backend " << backend() << ", procs " << procs);
        REQUIRE(out.opened);
        if (on_uring()) {
            CHECK(out.err == goro::errc::canceled);
            CHECK(out.got.empty());
        } else {
            // The call ran on and read the byte; or the cancel came first,
            // the read never started, and the byte is still there.
            CHECK(((out.got == "x" && !out.err) || (out.err == goro::errc::canceled && out.leftover == "x")));
        }
        CHECK(clean);
    }
}

TEST_CASE("a context's deadline ends a read of a FIFO, not before it passes", "[fs][context]")
{
    temp_dir dir("goro-fsctx-test");
    const std::string path = make_fifo(dir, "fifo");
    warm_up();
    for (unsigned procs : {1u, 2u}) {
        read_out out;
        std::int64_t deadline_ns = 0;
        const bool clean = runs_without_leaking(procs, deadline_main(path, &deadline_ns, &out));
        INFO("backend " << backend() << ", procs " << procs);
        REQUIRE(out.opened);
        if (on_uring()) {
            CHECK(out.err == goro::errc::deadline_exceeded);
            CHECK(out.err != std::errc::operation_canceled);
        } else {
            CHECK(((out.got == "x" && !out.err) || (out.err == goro::errc::deadline_exceeded && out.leftover == "x")));
        }
        CHECK(out.ended_ns >= deadline_ns); // never early
        CHECK(clean);
    }
}

namespace {

struct early_out {
    std::error_code open_err, read_err, write_err, fsync_err, read_file_err, write_file_err;
    bool write_file_created = false;
};

// Every call with a context cancelled already returns its err() at once.
goro::task<> early_main(std::string dir, std::string fifo, early_out* out)
{
    goro::cancellable c = goro::with_cancel(goro::background());
    c.cancel();
    auto opening = goro::fs::open(c.ctx, fifo, O_RDWR);
    goro::result<goro::fs::file> o = co_await opening;
    out->open_err = o.error();

    auto plain = goro::fs::open(fifo, O_RDWR);
    goro::result<goro::fs::file> p = co_await plain;
    if (!p)
        co_return;
    goro::fs::file f = std::move(p).value();
    char buf[4];
    auto reading = f.read(c.ctx, buf, sizeof buf); // would wait forever if it were submitted
    goro::result<std::size_t> r = co_await reading;
    out->read_err = r.error();
    auto writing = f.write(c.ctx, "y", 1);
    goro::result<std::size_t> w = co_await writing;
    out->write_err = w.error();
    auto syncing = f.fsync(c.ctx);
    goro::result<void> s = co_await syncing;
    out->fsync_err = s.error();

    auto rf = goro::fs::read_file(c.ctx, dir + "/missing");
    goro::result<std::string> rfr = co_await rf;
    out->read_file_err = rfr.error();
    const std::string data = "data";
    auto wf = goro::fs::write_file(c.ctx, dir + "/new", data);
    goro::result<void> wfr = co_await wf;
    out->write_file_err = wfr.error();
    out->write_file_created = ::access((dir + "/new").c_str(), F_OK) == 0;
}

} // namespace

TEST_CASE("a context cancelled already ends every fs call at once, before any system call", "[fs][context]")
{
    temp_dir dir("goro-fsctx-test");
    const std::string fifo = make_fifo(dir, "fifo");
    warm_up();
    early_out out;
    const bool clean = runs_without_leaking(1, early_main(dir.dir.string(), fifo, &out));
    INFO("backend " << backend());
    CHECK(out.open_err == goro::errc::canceled);
    CHECK(out.read_err == goro::errc::canceled);
    CHECK(out.write_err == goro::errc::canceled);
    CHECK(out.fsync_err == goro::errc::canceled);
    CHECK(out.read_file_err == goro::errc::canceled); // not ENOENT: the open never ran
    CHECK(out.write_file_err == goro::errc::canceled);
    CHECK(!out.write_file_created);
    CHECK(clean);
}

namespace {

struct race_out {
    bool opened = false;
    int completed = 0, cancelled = 0;
    std::string failure;
    std::string before_cancel; // a read that completed before its context was cancelled
    std::string whole;         // read_file and write_file with a live context
};

// A read whose data came before the cancel returns it; then, many times, a
// byte and a cancel race a waiting read: whichever wins, the byte is read
// exactly once (the read's bytes are delivered, or it stays in the FIFO).
goro::task<> race_main(std::string dir, std::string path, int rounds, race_out* out)
{
    auto opening = goro::fs::open(goro::background(), path, O_RDWR);
    goro::result<goro::fs::file> opened = co_await opening;
    if (!opened)
        co_return;
    out->opened = true;
    goro::fs::file f = std::move(opened).value();
    {
        goro::cancellable c = goro::with_cancel(goro::background());
        read_out r;
        goro::wait_group wg;
        wg.add(1);
        goro::go(reader(&f, c.ctx, &r, &wg));
        co_await goro::sleep(5ms);
        auto writing = f.write("abc", 3);
        goro::result<std::size_t> w = co_await writing;
        (void)w;
        co_await wg.wait();
        c.cancel();
        out->before_cancel = r.got;
    }
    for (int i = 0; i < rounds && out->failure.empty(); ++i) {
        goro::cancellable c = goro::with_cancel(goro::background());
        read_out r;
        goro::wait_group wg;
        wg.add(1);
        goro::go(reader(&f, c.ctx, &r, &wg));
        if (i % 2)
            co_await goro::yield();
        co_await write_byte(&f, char('a' + i % 26));
        c.cancel();
        co_await wg.wait();
        if (r.err) {
            if (r.err != goro::errc::canceled)
                out->failure = "round " + std::to_string(i) + ": " + r.err.message();
            co_await take_leftover(&f, &r);
            r.got = r.leftover;
            ++out->cancelled;
        } else {
            ++out->completed;
        }
        if (r.got != std::string(1, char('a' + i % 26)))
            out->failure = "round " + std::to_string(i) + ": got '" + r.got + "'";
    }
    goro::cancellable live = goro::with_timeout(goro::background(), 1h);
    const std::string data(100'000, 'q');
    auto wf = goro::fs::write_file(live.ctx, dir + "/whole", data);
    goro::result<void> wr = co_await wf;
    if (!wr)
        out->failure = "write_file: " + wr.error().message();
    auto rf = goro::fs::read_file(live.ctx, dir + "/whole");
    goro::result<std::string> rr = co_await rf;
    if (rr)
        out->whole = std::move(rr).value();
    live.cancel();
}

} // namespace

TEST_CASE("a read that completes before its cancel returns its bytes; nothing is lost in the race", "[fs][context]")
{
    temp_dir dir("goro-fsctx-test");
    const std::string path = make_fifo(dir, "fifo");
    warm_up();
    for (unsigned procs : {1u, 2u}) {
        race_out out;
        const bool clean = runs_without_leaking(procs, race_main(dir.dir.string(), path, 200, &out));
        INFO("backend " << backend() << ", procs " << procs << ", completed " << out.completed << ", cancelled "
                        << out.cancelled);
        REQUIRE(out.opened);
        CHECK(out.failure == "");
        CHECK(out.before_cancel == "abc");
        CHECK(out.completed + out.cancelled == 200);
        CHECK(out.whole == std::string(100'000, 'q'));
        CHECK(clean);
    }
}

namespace {

struct open_out {
    std::error_code err;
    bool got_file = false;
    bool writer_opened = false;
};

goro::task<> fifo_opener(std::string path, goro::context ctx, open_out* out, goro::wait_group* wg)
{
    auto opening = goro::fs::open(ctx, path, O_RDONLY); // waits for a writer
    goro::result<goro::fs::file> f = co_await opening;
    if (f)
        out->got_file = true; // the file closes itself here
    else
        out->err = f.error();
    wg->done();
}

// An open that waits (a FIFO's reader waits for a writer), cancelled in
// flight; then a writer comes, which releases the open if it still waits:
// on epoll, and on io_uring where the kernel cannot interrupt an open its
// io-wq worker is running (Linux 6.18 here: the open returns its file).
// Either way the outcome is the truth and the file is closed.
goro::task<> open_main(std::string path, open_out* out)
{
    goro::cancellable c = goro::with_cancel(goro::background());
    goro::wait_group wg;
    wg.add(1);
    goro::go(fifo_opener(path, c.ctx, out, &wg));
    co_await goro::sleep(20ms);
    c.cancel();
    co_await goro::sleep(5ms);
    auto writer = goro::fs::open(path, O_WRONLY | O_NONBLOCK); // ENXIO once no reader waits
    goro::result<goro::fs::file> w = co_await writer;
    out->writer_opened = bool(w);
    co_await wg.wait();
}

} // namespace

TEST_CASE("an open that waits is ended by its context, or returns its file, and no descriptor leaks",
          "[fs][context]")
{
    temp_dir dir("goro-fsctx-test");
    const std::string path = make_fifo(dir, "fifo");
    warm_up();
    for (unsigned procs : {1u, 2u}) {
        open_out out;
        const bool clean = runs_without_leaking(procs, open_main(path, &out));
        INFO("backend " << backend() << ", procs " << procs << ", error " << out.err.message() << ", writer "
                        << out.writer_opened);
        CHECK((out.got_file != bool(out.err)));
        if (out.err)
            CHECK(out.err == goro::errc::canceled);
        CHECK(clean);
    }
}
