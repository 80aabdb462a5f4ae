// select: Go's selectgo (select.go) over goro channels.
//
// Pass 0, without locks: scan the cases in a random order (below) and try the
// first one that looks ready (a hint from fields the channel writes as
// relaxed atomics) under its own channel's lock alone: a select that finds a
// partner waiting takes one lock, not one per channel. A case whose hint was
// stale goes on to pass 1. The choice stays uniform among the cases ready
// when scanned (the first of a random permutation), and a case that was not
// ready when scanned may be passed over, as it would have been a moment
// earlier.
// Pass 1, under the locks of every channel involved (taken in address order,
// each once, so two selects over the same channels cannot deadlock): poll the
// cases in a random order — a Fisher-Yates permutation from the P's
// generator, so each ready case is equally likely to be chosen — and complete
// the first one that can proceed. Else take the default, if any.
// Pass 2, still under all the locks: put a waiter (chan_waiter with `sel`
// set) on every case's queue and park. Holding every lock while enqueueing
// means no waker can see a half-registered select.
// Pass 3, after being readied: relock, unlink every waiter still queued,
// unlock, disarm every timer case, and report the winner.
//
// Timer cases (goro::after): a case with no channel, so no lock and no
// place in the poll order. Passes 0 and 1 never touch one, unless its
// duration is not positive (then it is ready in pass 1, after the channel
// cases: it needs no clock read to say so). Pass 2 reads the clock once and
// constructs and arms the node of the timer case with the shortest
// duration — the only one that can fire first, since all start together;
// the others stay unarmed, their nodes never constructed —
// with a fire function that competes for `winner` exactly as a channel
// waker does (try_win), and readies the goroutine if it wins. It is armed
// while every channel lock is still held, as the last step before the
// unlock: once it is armed (or the locks go), the goroutine may be readied,
// finish the select and free the frame, so nothing may be armed after it.
// A timer that fires before the locks are released readies a goroutine
// whose pass 3 waits for those locks, like a channel waker's. Pass 3 disarms every timer
// case: a losing timer is taken out of its heap, or, if it is firing on
// another thread, waited for (it lost the CAS and touches nothing after),
// so no timer outlives its select. A select that never parks arms nothing:
// an after() case costs a few stores. The timer work is in three cold
// functions, reached only when a case has no channel of its own (m < n in
// select_start, nlocks < n in select_finish), so a select of channels
// alone runs no timer code at all: inline, it cost the select benchmark
// 1-2 ns at one P.
//
// Winning: a waker that dequeues one of our waiters must first win
// select_state::winner by CAS (wait_queue::dequeue); losers skip the waiter.
// So exactly one case completes, and the waker that completes it is the only
// one to ready the goroutine: a parked select is woken exactly once.
//
// Lifetime: the waiters, the scratch arrays and the select_state live in the
// awaiter, in the parked goroutine's frame. Once pass 2 starts releasing the
// locks, a waker may ready the goroutine; it cannot get through pass 3 until
// every lock is released, so the frame stays valid until the last unlock —
// and nothing is touched after that.

#include "base/clock.hpp"
#include "chan/chan_ops.hpp"
#include "sched/park.hpp"
#include "sched/timer.hpp"

#include <goro/detail/sched.hpp>
#include <goro/after.hpp>
#include <goro/panic.hpp>
#include <goro/select.hpp>

#include <fmt/format.h>

namespace goro::inline GORO_ABI::detail {

namespace {

void lock_all(chan_base** locks, std::uint16_t n) noexcept
{
    for (std::uint16_t i = 0; i < n; ++i)
        locks[i]->lock.lock();
}

void unlock_all(chan_base** locks, std::uint16_t n) noexcept
{
    // Reads of `locks` stay valid until the last unlock (see "Lifetime").
    for (std::uint16_t i = n; i-- > 0;) {
        chan_base* c = locks[i];
        c->lock.unlock();
    }
}

// A hint, read without the lock (chan_base's lock_written fields): could
// this case proceed now? A closed channel counts, so a send panics and a
// receive reports the close.
bool looks_ready(const select_case& sc) noexcept
{
    const chan_base& c = *sc.c;
    if (c.closed)
        return true;
    if (sc.kind == case_kind::send)
        return c.recvq.first != nullptr || c.count < c.cap;
    return c.sendq.first != nullptr || c.count > 0;
}

// One case's send_now / recv_now; its channel's lock held.
try_status step(select_case& sc, goroutine*& wake) noexcept
{
    return sc.kind == case_kind::send ? send_now(*sc.c, sc.slot, wake) : recv_now(*sc.c, sc.slot, wake);
}

// A parked select at the end of a run (lib/sched/park.hpp): it withdraws by
// claiming itself, as a waker would, so no case can complete any more. Its
// waiters stay queued until the awaiter's destructor runs select_finish.
bool withdraw(parked_on& p) noexcept
{
    auto& st = *static_cast<select_state*>(p.object);
    std::uint32_t expected = select_state::none;
    return st.winner.compare_exchange_strong(expected, select_state::withdrawn, std::memory_order_acq_rel,
                                             std::memory_order_acquire);
}

// Case `index` completed with `s` and every lock is released: wake the
// partner it took a value from or handed one to, record the outcome.
bool fire(select_case& sc, try_status s, goroutine* wake, std::uint16_t index, std::coroutine_handle<> leaf,
          int& fired)
{
    if (s == try_status::closed && sc.kind == case_kind::send)
        throw panic("goro::chan: send on closed channel");
    if (wake)
        ready_here(*wake);
    sc.w->success = s == try_status::done;
    fired = index;
    return completed_here(leaf);
}

// A timer case's fire: wins the select as a channel waker would, or does
// nothing (the select disarms it in pass 3, waiting for this to return).
void timer_fire(runtime_timer& t) noexcept
{
    timer_case& tc = timer_owner<timer_case>(t);
    std::uint32_t expected = select_state::none;
    if (!tc.sel->winner.compare_exchange_strong(expected, tc.case_index, std::memory_order_acq_rel,
                                                std::memory_order_acquire)) // acq_rel: as try_win in chan.cpp
        return;
    tc.fired_at = monotonic_ns(); // read after the goroutine resumes: ordered by ready's publish
    ready_in_order(*tc.g);
}

// Pass 1 for the timer cases: the first whose duration is not positive is
// ready; it fires now. Its index, or -1. Out of line and cold, like the two
// below: a select of channels alone never calls them, and they stay out of
// select_start's code (inline, they cost the select benchmark 1-2 ns).
[[gnu::cold]] GORO_NOINLINE int expired_timer_case(select_case* cs, std::uint16_t n) noexcept
{
    for (std::uint16_t i = 0; i < n; ++i) {
        if (cs[i].c || cs[i].kind != case_kind::timer)
            continue;
        auto& tc = *static_cast<timer_case*>(cs[i].slot);
        if (tc.ns <= 0) {
            tc.fired_at = monotonic_ns();
            return i;
        }
    }
    return -1;
}

// Pass 2 for the timer cases: constructs and arms the node of the one with
// the shortest duration. The last thing that touches the select's frame
// before the unlock (see "Timer cases").
[[gnu::cold]] GORO_NOINLINE void arm_timer_case(select_case* cs, std::uint16_t n, select_state& st,
                                                goroutine& g) noexcept
{
    timer_case* first = nullptr;
    std::uint16_t first_index = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
        if (cs[i].c || cs[i].kind != case_kind::timer)
            continue;
        auto* tc = static_cast<timer_case*>(cs[i].slot);
        if (!first || tc->ns < first->ns) {
            first = tc;
            first_index = i;
        }
    }
    if (!first)
        return; // only nil channels
    ::new (&first->node) runtime_timer(&timer_fire);
    first->armed = true;
    first->sel = &st;
    first->g = &g;
    first->case_index = first_index;
    first->node.arm(monotonic_ns() + first->ns);
}

// Pass 3 for the timer cases: disarms the armed one.
[[gnu::cold]] GORO_NOINLINE void disarm_timer_cases(select_case* cs, std::uint16_t n) noexcept
{
    for (std::uint16_t i = 0; i < n; ++i)
        if (!cs[i].c && cs[i].kind == case_kind::timer)
            if (auto* tc = static_cast<timer_case*>(cs[i].slot); tc->armed)
                tc->node.disarm();
}

} // namespace

bool select_start(select_case* cs, std::uint16_t n, bool has_default, std::uint16_t* order, chan_base** locks,
                  std::uint16_t& nlocks, select_state& st, parked_on& parked, std::coroutine_handle<> leaf,
                  int& fired)
{
    goroutine& g = running_g("goro::select");

    // Poll order: a random permutation of the non-nil cases (inside-out
    // Fisher-Yates; one draw from the P's generator seeds a cheap LCG for the
    // rest, and multiply-shift maps to [0, m] without a division). Lock
    // order: their distinct channels by address.
    // Timer cases (like nil channels) have no channel and stay off the poll
    // order; m < n says there may be some (see "Timer cases").
    std::uint16_t m = 0;
    std::uint16_t nl = 0;
    std::uint32_t r = fastrand();
    for (std::uint16_t i = 0; i < n; ++i) {
        chan_base* c = cs[i].c;
        if (!c)
            continue;
        r = r * 1664525u + 1013904223u;
        auto j = std::uint16_t((std::uint64_t(r) * (m + 1u)) >> 32);
        order[m] = order[j];
        order[j] = i;
        ++m;
        std::uint16_t at = nl;
        while (at > 0 && locks[at - 1] > c)
            --at;
        if (at > 0 && locks[at - 1] == c)
            continue;
        for (std::uint16_t k = nl; k > at; --k)
            locks[k] = locks[k - 1];
        locks[at] = c;
        ++nl;
    }
    nlocks = nl;

    // Pass 0: the first case in poll order that looks ready, tried under its
    // own channel's lock alone.
    for (std::uint16_t k = 0; k < m; ++k) {
        select_case& sc = cs[order[k]];
        if (!looks_ready(sc))
            continue;
        sc.c->lock.lock();
        goroutine* wake = nullptr;
        try_status s = step(sc, wake);
        sc.c->lock.unlock();
        if (s == try_status::would_block)
            break; // a stale hint: pass 1 decides
        return fire(sc, s, wake, order[k], leaf, fired);
    }

    lock_all(locks, nl);
    for (std::uint16_t k = 0; k < m; ++k) {
        select_case& sc = cs[order[k]];
        goroutine* wake = nullptr;
        try_status s = step(sc, wake);
        if (s == try_status::would_block)
            continue;
        unlock_all(locks, nl);
        return fire(sc, s, wake, order[k], leaf, fired);
    }
    if (m != n) [[unlikely]] {
        if (const int i = expired_timer_case(cs, n); i >= 0) {
            unlock_all(locks, nl);
            fired = i;
            return completed_here(leaf);
        }
    }
    if (has_default) {
        unlock_all(locks, nl);
        fired = -1;
        return completed_here(leaf);
    }

    fired = -2;
    parked = {&withdraw, &st};
    return park(g, leaf, wait_reason::select, &parked, [&] {
        for (std::uint16_t i = 0; i < n; ++i) {
            select_case& sc = cs[i];
            if (!sc.c)
                continue;
            chan_waiter& w = *sc.w;
            w.g = &g;
            w.slot = sc.slot;
            w.sel = &st;
            w.case_index = i;
            w.success = false;
            (sc.kind == case_kind::send ? sc.c->sendq : sc.c->recvq).push_back(w);
        }
        if (m != n) [[unlikely]] // before the unlock: see "Timer cases"
            arm_timer_case(cs, n, st, g); // from here on the timer may ready us
        unlock_all(locks, nl); // from here on a waker may ready us
        return true;
    });
}

void throw_case_did_not_fire(std::size_t asked, std::size_t fired)
{
    throw panic(fmt::format("goro::select_result::get: case {} did not fire (case {} did)", asked, fired));
}

std::uint16_t select_finish(select_case* cs, std::uint16_t n, chan_base** locks, std::uint16_t nlocks,
                            select_state& st) noexcept
{
    lock_all(locks, nlocks);
    for (std::uint16_t i = 0; i < n; ++i) {
        select_case& sc = cs[i];
        if (sc.c)
            (sc.kind == case_kind::send ? sc.c->sendq : sc.c->recvq).remove(*sc.w);
    }
    unlock_all(locks, nlocks);
    if (nlocks != n) [[unlikely]] // a case without a channel of its own (nil, timer) or a channel twice
        disarm_timer_cases(cs, n);
    return std::uint16_t(st.winner.load(std::memory_order_acquire)); // acquire: pairs with the waker's CAS
}

} // namespace goro::detail
