// The poller, on the backend this binary is built for
// (GORO_TEST_NETPOLL_BACKEND, "uring" or "epoll"; test/meson.build builds it
// once for each): nop round trips, wakes across threads, deadlines, watches
// with several completions per key, and buffers smaller than what is ready.
#include "netpoll/poller.hpp"

#include "base/clock.hpp"
#include "netpoll/key.hpp"
#include "poller_checks.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

using namespace goro::detail;
using goro_test::collect;

namespace {

const netpoll_choice& tested_choice()
{
    static const netpoll_choice choice =
        choose_netpoll(parse_netpoll_request(GORO_TEST_NETPOLL_BACKEND, "test"), [] { return probe_uring(); });
    return choice;
}

constexpr std::int64_t ms = 1'000'000;

void signal(int efd)
{
    std::uint64_t one = 1;
    REQUIRE(write(efd, &one, sizeof one) == sizeof one);
}

} // namespace

TEST_CASE("poller: the backend asked for", "[netpoll][poller]")
{
    poller p(tested_choice());
    CHECK(p.backend() == (std::string_view(GORO_TEST_NETPOLL_BACKEND) == "uring" ? backend_kind::uring
                                                                                 : backend_kind::epoll));
}

TEST_CASE("poller: a nop completes once with its key", "[netpoll][poller]")
{
    poller p(tested_choice());
    key_table keys;
    int op = 0;
    std::uint64_t key = keys.acquire(&op);
    p.nop(key);
    std::vector<completion> got = collect(p, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == completion{key, 0, false});
    keys.release(key);
}

TEST_CASE("poller: many nops through a small buffer, each exactly once", "[netpoll][poller]")
{
    poller p(tested_choice());
    goro_test::check_nops(p, 300, 3);
}

TEST_CASE("poller: wake() from another thread ends a wait and publishes what came before it", "[netpoll][poller]")
{
    poller p(tested_choice());
    goro_test::check_wakes_across_threads(p, 2000);
}

TEST_CASE("poller: wake_from() on the thread that owns another poller ends a wait, with either doorbell",
          "[netpoll][poller]")
{
    // io_uring with msg_ring rings with a MSG_RING where the kernel has it;
    // everywhere else wake_from() is wake().
    for (doorbell_kind d : {doorbell_kind::eventfd, doorbell_kind::msg_ring}) {
        INFO("doorbell " << doorbell_name(d));
        netpoll_choice choice = tested_choice();
        choice.doorbell = d;
        poller p(choice);
        goro_test::check_wakes_across_threads(p, 500, [&] {
            auto own = std::make_unique<poller>(choice);
            return [&p, own = std::move(own)] { p.wake_from(*own); };
        });
        const bool msg_ring = d == doorbell_kind::msg_ring && choice.uring && choice.uring->msg_ring &&
                              p.backend() == backend_kind::uring;
        if (msg_ring)
            CHECK(p.msg_ring_wakes() == p.doorbell_rings());
        else
            CHECK(p.msg_ring_wakes() == 0);
    }
}

TEST_CASE("poller: no wake is lost among wakers with and without a poller of their own", "[netpoll][poller]")
{
    netpoll_choice choice = tested_choice();
    choice.doorbell = doorbell_kind::msg_ring;
    poller p(choice);
    goro_test::check_no_lost_wake(p, 3, 3000, [&](int w) {
        std::unique_ptr<poller> own;
        if (w != 0)
            own = std::make_unique<poller>(choice);
        return [&p, own = std::move(own)] {
            if (own)
                p.wake_from(*own);
            else
                p.wake();
        };
    });
}

TEST_CASE("poller: wakes while the owner is awake coalesce and make no system call", "[netpoll][poller]")
{
    poller p(tested_choice());
    for (int i = 0; i < 100; ++i)
        p.wake();
    CHECK(p.doorbell_rings() == 0);
    std::vector<completion> out(4);
    {
        std::atomic<long> progress{0};
        goro_test::watchdog dog(progress, "a pending wake did not end the wait");
        CHECK(p.wait(-1, out) == 0);
    }
    // The hundred were one: this wait runs to its deadline.
    goro_test::check_deadline(p, 20 * ms);
    CHECK(p.doorbell_rings() == 0);
}

TEST_CASE("poller: a deadline ends a wait at or after it", "[netpoll][poller]")
{
    poller p(tested_choice());
    goro_test::check_deadline(p, 1000);
    goro_test::check_deadline(p, 1 * ms);
    goro_test::check_deadline(p, 30 * ms);
}

TEST_CASE("poller: a deadline already passed only polls", "[netpoll][poller]")
{
    poller p(tested_choice());
    std::vector<completion> out(4);
    std::atomic<long> progress{0};
    goro_test::watchdog dog(progress, "a passed deadline blocked");
    CHECK(p.wait(monotonic_ns() - 1, out) == 0);
    CHECK(p.wait(0, out) == 0);
    p.nop(7);
    CHECK(p.wait(0, out) == 1);
    CHECK(out[0] == completion{7, 0, false});
}

TEST_CASE("poller: a watch completes each time its fd becomes readable, then once more when removed",
          "[netpoll][poller]")
{
    poller p(tested_choice());
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    REQUIRE(efd >= 0);
    key_table keys;
    int op = 0;
    std::uint64_t key = keys.acquire(&op);
    p.watch_readable(efd, key);
    for (int i = 0; i < 3; ++i) {
        signal(efd);
        std::vector<completion> got = collect(p, 1);
        REQUIRE(got.size() == 1);
        CHECK(got[0].key == key);
        CHECK((got[0].result & POLLIN) != 0);
        CHECK(got[0].more);
    }
    p.unwatch(efd, key);
    std::vector<completion> last = collect(p, 1);
    REQUIRE(last.size() == 1);
    CHECK(last[0] == completion{key, -ECANCELED, false});
    keys.release(key);
    // Nothing comes for the key after its last completion.
    signal(efd);
    goro_test::check_deadline(p, 20 * ms);
    close(efd);
}

TEST_CASE("poller: a watch the kernel refuses ends with one completion carrying the error", "[netpoll][poller]")
{
    poller p(tested_choice());
    p.watch_readable(-1, 11);
    std::vector<completion> got = collect(p, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == completion{11, -EBADF, false});
}

TEST_CASE("poller: more ready than the buffer holds: the rest waits for the next call", "[netpoll][poller]")
{
    poller p(tested_choice());
    constexpr int n = 20;
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        REQUIRE(efd >= 0);
        fds.push_back(efd);
        p.watch_readable(efd, std::uint64_t(100 + i));
    }
    for (int efd : fds)
        signal(efd);
    std::map<std::uint64_t, int> seen;
    for (const completion& c : collect(p, n, 3)) {
        CHECK(c.more);
        ++seen[c.key];
    }
    CHECK(seen.size() == std::size_t(n));
    CHECK(std::all_of(seen.begin(), seen.end(), [](const auto& kv) { return kv.second == 1; }));
    for (int i = 0; i < n; ++i)
        p.unwatch(fds[std::size_t(i)], std::uint64_t(100 + i));
    std::map<std::uint64_t, int> ended;
    for (const completion& c : collect(p, n, 3)) {
        CHECK(c.result == -ECANCELED);
        CHECK_FALSE(c.more);
        ++ended[c.key];
    }
    CHECK(ended.size() == std::size_t(n));
    for (int efd : fds)
        close(efd);
}
