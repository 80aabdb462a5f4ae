// The io_uring poller's own paths, at every rung of the probe's ladder the
// kernel accepts from the probe's down (a kernel that stops lower takes
// those): a full SQ is flushed and nothing is dropped, an overflowing CQ is
// reaped and nothing is lost, and a watch the kernel ends on overflow still
// ends with exactly one last completion.
#include "netpoll/uring_poller.hpp"

#include "netpoll/key.hpp"
#include "poller_checks.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

using namespace goro::detail;
using goro_test::collect;

namespace {

// The probe's result, once per rung from its own down.
std::vector<uring_support> rungs()
{
    uring_support probed = probe_uring();
    std::vector<uring_support> out;
    unsigned accepted = probed.setup_flags & ~unsigned(IORING_SETUP_CQSIZE);
    auto at = std::find(std::begin(uring_ladder), std::end(uring_ladder), accepted);
    for (; at != std::end(uring_ladder); ++at) {
        uring_support s = probed;
        s.setup_flags = *at | IORING_SETUP_CQSIZE;
        out.push_back(s);
    }
    return out;
}

// The smallest ring: 2 SQ entries (the kernel's floor is 1, rounded to a
// power of two), 8 CQ entries.
constexpr unsigned tiny_sq = 2;

} // namespace

TEST_CASE("uring_poller: the ring is set up with the probe's flags", "[netpoll][uring]")
{
    for (const uring_support& s : rungs()) {
        uring_poller p(s);
        CHECK(p.setup_flags() == s.setup_flags);
    }
}

TEST_CASE("uring_poller: nops and cross-thread wakes at every rung", "[netpoll][uring]")
{
    for (const uring_support& s : rungs()) {
        INFO("setup flags " << s.setup_flags);
        uring_poller p(s);
        goro_test::check_nops(p, 100, 4);
        goro_test::check_wakes_across_threads(p, 300);
    }
}

TEST_CASE("uring_poller: a tiny SQ is flushed when full and an overflowing CQ is reaped; no nop is lost",
          "[netpoll][uring]")
{
    for (const uring_support& s : rungs()) {
        INFO("setup flags " << s.setup_flags);
        uring_poller p(s, tiny_sq);
        // 1,000 nops into 2 SQ entries with nothing reaped in between: the
        // SQ fills at every third, and the 8-entry CQ overflows by hundreds.
        goro_test::check_nops(p, 1000, 16);
        CHECK(p.stats().sq_full_flushes > 0);
        CHECK(p.stats().cq_overflow_flushes > 0);
    }
}

TEST_CASE("uring_poller: one wait takes the CQ and the kernel's backlog, as far as the buffer holds",
          "[netpoll][uring]")
{
    for (const uring_support& s : rungs()) {
        INFO("setup flags " << s.setup_flags);
        uring_poller p(s, tiny_sq);
        constexpr std::size_t nops = 1000;
        for (std::size_t i = 0; i < nops; ++i)
            p.nop(i);
        p.flush(); // every nop has completed: 8 in the CQ, the rest backed up
        std::vector<completion> out(2 * nops);
        std::atomic<long> progress{0};
        goro_test::watchdog dog(progress, "lost completion");
        CHECK(p.wait(-1, out) == nops);
        // A buffer smaller than what is ready takes what fits; the rest stays.
        for (std::size_t i = 0; i < nops; ++i)
            p.nop(i);
        p.flush();
        CHECK(p.wait(-1, std::span(out).first(300)) == 300);
        CHECK(p.wait(-1, out) == nops - 300);
    }
}

TEST_CASE("uring_poller: a watch ended by CQ overflow ends with exactly one last completion", "[netpoll][uring]")
{
    for (const uring_support& s : rungs()) {
        INFO("setup flags " << s.setup_flags);
        uring_poller p(s, tiny_sq);
        int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        REQUIRE(efd >= 0);
        constexpr std::uint64_t watch = 1;
        p.watch_readable(efd, watch);
        p.flush();
        constexpr int nops = 100;
        for (int i = 0; i < nops; ++i)
            p.nop(std::uint64_t(1000 + i));
        p.flush(); // the CQ now overflows
        std::uint64_t one = 1;
        REQUIRE(write(efd, &one, sizeof one) == sizeof one); // the watch must post into a full CQ

        std::vector<completion> of_watch;
        int nops_seen = 0;
        bool unwatched = false;
        std::vector<completion> out(16);
        std::atomic<long> progress{0};
        goro_test::watchdog dog(progress, "lost completion");
        while (nops_seen < nops || of_watch.empty() || of_watch.back().more) {
            if (nops_seen == nops && !unwatched && !of_watch.empty()) {
                // The kernel kept the watch: end it, to see its last one.
                p.unwatch(efd, watch);
                unwatched = true;
            }
            std::size_t n = p.wait(-1, out);
            for (std::size_t i = 0; i < n; ++i)
                (out[i].key == watch ? (void)of_watch.push_back(out[i]) : (void)++nops_seen);
            progress.fetch_add(1);
        }
        CHECK(nops_seen == nops);
        REQUIRE_FALSE(of_watch.empty());
        // The readiness was reported (not lost with the overflow) ...
        CHECK(std::any_of(of_watch.begin(), of_watch.end(),
                          [](const completion& c) { return c.result > 0 && (c.result & POLLIN); }));
        // ... and exactly one completion, the last, ended the watch.
        CHECK(std::count_if(of_watch.begin(), of_watch.end(), [](const completion& c) { return !c.more; }) == 1);
        CHECK_FALSE(of_watch.back().more);
        if (unwatched)
            CHECK(of_watch.back().result == -ECANCELED);
        else // the kernel ended it, reporting the readiness it could not post as more
            CHECK((of_watch.back().result > 0 && (of_watch.back().result & POLLIN)));
        close(efd);
    }
}

// The MSG_RING doorbell (poller.hpp, "Wake"): a waker that owns a ring of
// its own rings a sleeping owner with IORING_OP_MSG_RING from that ring; a
// waker without one, or a ring that sends none (doorbell eventfd, or a
// kernel without MSG_RING: the probe's msg_ring), writes the eventfd.

TEST_CASE("uring_poller: a wake from a thread that owns a ring is a MSG_RING, at every rung", "[netpoll][uring]")
{
    for (const uring_support& s : rungs()) {
        INFO("setup flags " << s.setup_flags << ", msg_ring " << s.msg_ring);
        uring_poller p(s, default_sq_entries, doorbell_kind::msg_ring);
        std::atomic<bool> sends{false};
        goro_test::check_wakes_across_threads(p, 300, [&] {
            // Built on the waker thread, its owner; destroyed there at the end.
            auto own = std::make_unique<uring_poller>(s, default_sq_entries, doorbell_kind::msg_ring);
            sends.store(own->sends_msg_ring());
            return [&p, own = std::move(own)] { p.wake_from(*own); };
        });
        CHECK(sends.load() == s.msg_ring); // without MSG_RING, the eventfd
        if (!s.msg_ring) {
            WARN("skipped: this kernel has no IORING_OP_MSG_RING; the wakes took the eventfd");
            CHECK(p.msg_ring_wakes() == 0);
            continue;
        }
        // Every wake that found the owner asleep rang it with a MSG_RING.
        CHECK(p.doorbell_rings() > 0);
        CHECK(p.msg_ring_wakes() == p.doorbell_rings());
    }
}

TEST_CASE("uring_poller: with the eventfd doorbell, a ring-owning waker writes the eventfd", "[netpoll][uring]")
{
    uring_support s = probe_uring();
    uring_poller p(s, default_sq_entries, doorbell_kind::eventfd);
    goro_test::check_wakes_across_threads(p, 200, [&] {
        auto own = std::make_unique<uring_poller>(s, default_sq_entries, doorbell_kind::eventfd);
        return [&p, own = std::move(own)] { p.wake_from(*own); };
    });
    CHECK(p.msg_ring_wakes() == 0);
}

TEST_CASE("uring_poller: a wake from a thread without a ring writes the eventfd", "[netpoll][uring]")
{
    uring_support s = probe_uring();
    uring_poller p(s, default_sq_entries, doorbell_kind::msg_ring);
    goro_test::check_wakes_across_threads(p, 300);
    CHECK(p.msg_ring_wakes() == 0);
}

TEST_CASE("uring_poller: no wake is lost between MSG_RING wakers and eventfd wakers at once", "[netpoll][uring]")
{
    uring_support s = probe_uring();
    if (!s.msg_ring)
        WARN("this kernel has no IORING_OP_MSG_RING: every wake takes the eventfd");
    uring_poller p(s, default_sq_entries, doorbell_kind::msg_ring);
    // Waker threads 0 and 2 own rings (MSG_RING), 1 and 3 do not (eventfd).
    goro_test::check_no_lost_wake(p, 4, 3000, [&](int w) {
        std::unique_ptr<uring_poller> own;
        if (w % 2 == 0)
            own = std::make_unique<uring_poller>(s, default_sq_entries, doorbell_kind::msg_ring);
        return [&p, own = std::move(own)] {
            if (own)
                p.wake_from(*own);
            else
                p.wake();
        };
    });
    // Which waker finds the owner asleep is up to the machine's timing, so
    // only the bookkeeping is asserted here; that a ring-owning waker rings
    // with MSG_RING is asserted by the test above.
    CHECK(p.msg_ring_wakes() <= p.doorbell_rings());
}

TEST_CASE("uring_poller: a MSG_RING wake rides with what the waker's ring has queued", "[netpoll][uring]")
{
    // The waker's own queued operations reach the kernel with the wake.
    uring_support s = probe_uring();
    if (!s.msg_ring) {
        WARN("skipped: this kernel has no IORING_OP_MSG_RING");
        return;
    }
    uring_poller p(s, default_sq_entries, doorbell_kind::msg_ring);
    goro_test::check_wakes_across_threads(p, 100, [&] {
        auto own = std::make_unique<uring_poller>(s, default_sq_entries, doorbell_kind::msg_ring);
        return [&p, own = std::move(own), n = std::uint64_t(0)]() mutable {
            own->nop(++n);
            p.wake_from(*own);
            // The nop was submitted by the wake (or by a flush the wake did
            // not need): it is complete or completing; reap it.
            std::array<completion, 4> out;
            std::size_t got = 0;
            while (got == 0)
                got = own->wait(-1, out);
            if (got != 1 || out[0].key != n)
                std::abort(); // a stray or missing completion on the waker's ring
        };
    });
}

TEST_CASE("uring_poller: a wake never joins the waker's unfinished linked pair", "[netpoll][uring]")
{
    // An operation flagged IOSQE_IO_LINK whose linked timeout is not queued
    // yet: a MSG_RING queued now would join its chain, so the wake takes the
    // eventfd.
    uring_support s = probe_uring();
    uring_poller p(s, default_sq_entries, doorbell_kind::msg_ring);
    goro_test::check_wakes_across_threads(p, 100, [&] {
        auto own = std::make_unique<uring_poller>(s, default_sq_entries, doorbell_kind::msg_ring);
        return [&p, own = std::move(own), n = std::uint64_t(0)]() mutable {
            own->reserve(2);
            io_uring_sqe* sqe = own->prepare(++n);
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, n);
            sqe->flags |= IOSQE_IO_LINK;
            p.wake_from(*own);
            const __kernel_timespec never{std::int64_t(1) << 40, 0}; // absolute, far away: the nop wins
            own->link_timeout(&never);
            own->flush();
            std::array<completion, 4> out;
            std::size_t got = 0;
            while (got == 0)
                got = own->wait(-1, out);
            if (got != 1 || out[0].key != n || out[0].result != 0)
                std::abort(); // the linked pair did not complete as one
        };
    });
    CHECK(p.msg_ring_wakes() == 0);
}
