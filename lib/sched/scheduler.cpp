// The goro scheduler: Go's G-M-P design (proc.go) on stackless coroutines.
//
// # Concepts
// G  a goroutine: the root frame of a goro::task handed to go/spawn. Its
//    promise is the control block (include/goro/detail/goroutine.hpp).
// P  a processor: a local run queue with a runnext slot (runq.hpp), a frame
//    cache (frame_cache.hpp), a netpoller it waits in when idle (netpoll.hpp)
//    and a tick. The running G's cooperative budget is a thread_local of the
//    M (detail::budget), which users' awaitables read inline.
// M  a worker thread. Unlike Go, each M owns one P for the whole run: a
//    stackless G can only leave its thread at a suspension point, so Go's
//    handoff of a P between Ms buys nothing here yet (blocking calls will get
//    their own pool instead; see docs/design.md).
//
// # Running a G
// A worker pops a G and calls `g->leaf.resume()`. The G runs until it
// suspends; its awaiter has already published it somewhere (a run queue, a wait
// queue) by then, so once resume() returns the G may be running on another
// worker, or be freed: the worker never touches it again. Task call and
// return inside a G use symmetric transfer and never come back here.
//
// # Finding work (find_runnable), in Go's order
//  0. The P's own due timers (Go's checkTimers): one relaxed load of its
//     heap's earliest deadline and, only with a timer armed, a clock read
//     (see "Timers").
//  1. Every 61st tick, one G from the global queue, so two Gs readying each
//     other through runnext cannot starve the global queue.
//  2. The local runnext slot, unless it already ran 16 times in a row (a
//     stackless G cannot be preempted, so without this cap a ping-pong pair
//     would hold the P forever; Go bounds the pair by its 10 ms time slice).
//     A cap of 3 cut every pipeline of goroutines handing values on through
//     runnext after three stages for the oldest queued G, whose frame is
//     cold: the prime sieve ran 13% slower than with 16 to 64, and ring,
//     skynet and ping-pong were the same (docs/performance.md, "The runnext
//     cap"). Then the newest G started on this P, then
//     the oldest of the other local Gs (runq.hpp). Half-way between two
//     global looks (a fair turn), the oldest of those others first if it
//     has waited through more than 1,024 of the P's schedules (see
//     "Submitting work").
//  3. A chunk (up to half a ring) from the global queue.
//  4. The netpoller, without blocking, if the P has operations in flight and
//     its poller may hold completions (netpoll.hpp, "When the owner reaps");
//     also every 61st tick, beside the global queue.
//  5. Stealing, if allowed to spin: 4 passes over the other Ps in a random
//     order with a coprime stride; half a victim's ring per steal; a victim's
//     runnext only in the last pass, and only after a ~3us back-off if the
//     victim is running (its G is probably about to run it). A spinner that
//     finds nothing keeps trying for up to 20us before it parks: a producer
//     on another P then hands it work without a futex wake (measured: ~1800
//     park/wake cycles per million spawns without this window). A spinner
//     does not park before its steal back-off (below) ends either, so the
//     back-off is never cut short by a park and a wake.
//  6. Parking: see below.
// Steps 0 to 2 (find_local) are inline in the worker loop; the rest
// (find_runnable_slow) is a call, taken only when the P has nothing local.
//
// # Steal back-off (beyond Go)
// A P that runs dry again soon after it got work (a "short busy period",
// under 100us from finding work to finding none) probably stole a goroutine
// that only talks to goroutines on its old P: it ran for a few hundred
// nanoseconds, readied its partner over there, and parked. Stealing it again
// moves the channel, the frames and the run-queue slots across cores once
// more, and a line moves in 35-230ns on this VM (a cache-line ping-pong
// measured 70-460ns per round trip, depending on where the host put the
// vCPUs): four producers feeding one select ran at 170-470ns per message at
// 2 Ps, 105ns at 1 P. So each consecutive short busy period doubles a delay
// before the next steal, 2us up to 32us; a long one (real work found) clears
// it. The back-off is bounded, and the P keeps spinning through it (so it is
// still counted in nmspinning_ and nobody needs to wake it): a goroutine
// queued behind a P that does not yield waits at most ~32us longer to be
// stolen, never forever. Measured: the select benchmark at 2 Ps went from
// 170-470ns to 110-150ns per message (alternating runs), 150-210ns in the
// VM's slowest phase; tools/bench's other programs did not move
// (docs/performance.md).
// A G picked from any source gets a fresh cooperative budget of 128: every
// awaitable that completes without suspending spends one, and at zero the G
// yields to the back of its own P's queue (detail::yield_now): through the
// global queue, as yield() goes, eight goroutines sharing a mutex at 2 Ps
// were dealt out to both Ps every 128 locks and kept pulling its line
// between the cores (tools/bench/mutex 21-22 ns a pair against 13-16 with
// the local queue, docs/performance.md, "The mutex at two Ps").
//
// # Submitting work
// ready() (a parked G woken by a channel, a wait_group, a join...) puts the G
// in the current P's runnext, kicking the old runnext to the local queue: the
// woken G runs next, on the cache of the P that woke it. go/spawn put the G in
// the local queue's fresh ring, which the P pops newest first, after runnext
// and before the Gs readied or queued otherwise (runq.hpp). (Go puts a new
// goroutine in runnext, kicking the one before to its FIFO ring: only the
// newest jumps the queue. A ring keeps spawn free of atomic read-modify-
// writes, see below.) A full ring sends its older half to the global queue
// as one chunk (global_queue.hpp).
// Newest first for new Gs is work-first scheduling (Cilk's): a G runs the
// moment its creator blocks, while its frame, and what it shares with its
// creator, are still in this core's cache, and a program that starts
// goroutines faster than they finish runs its tree of goroutines depth
// first, where Go's FIFO runs it breadth first, each level started before
// any of the next runs. What is alive at once is then a path of the tree
// and its pending siblings instead of whole levels: skynet (1,111,111
// goroutines, 10 children each) went from 18,300 page faults and 141-160 ms
// at 1 P to 217 faults and 64 ms, and from 95-104 to 36 ms at 2 Ps
// (docs/performance.md, "The run queue's order"). Thieves take the oldest
// half of a ring, so what they move from the fresh ring is the largest
// subtree not yet started.
// Fairness: a fresh G waits for the Gs started after it on its P and theirs
// (its subtree's later siblings, in a fork-join), or until a thief takes
// it; that order is the point. Every other G waits in FIFO order, and at
// most 1,024 of its P's schedules (runq's max_wait) plus 61 per overdue G
// ahead of it: on a fair turn, every 61st tick half-way between two global
// looks, the oldest of them runs first if it has waited that long, ahead of
// fresh Gs and runnext. So a G readied by a timer or I/O is not held up by a
// fork-join burst on its P for longer than that. Rejected: one ring for
// both kinds with the same bound on its oldest G (the fair turns started
// deferred subtrees early, each of which deferred others in turn: skynet at
// 1 P took 5,100 page faults and 81 ms instead of 217 and 64).
// yield() puts
// the G on the global queue, as Go's Gosched does (a G out of budget goes to
// its own P's queue, see "Finding work"): on the local ring, a
// yielding G whose worker thread the OS preempts would wait for that thread
// while every other P, busy with its own yielder, never steals it (measured:
// a yield ping-pong went from ~0.1 to ~4 us per round under a compile load).
// A thread that owns no P puts the G on the global queue under mu_. Every
// submission that reaches a run queue's ring or the global queue then checks
// whether a P must be woken, but for two. A yield wakes one only if its own
// P has other work to run first (yield_put). One that only fills an empty
// runnext does not:
// the P that filled it is running and takes it as soon as its current G
// stops, and an idle P woken for it found nothing to steal, parked again
// and was woken again at the next hop. In a ring of goroutines passing a
// counter at 2 Ps, that cycle (a membarrier per park, a spinner reading the
// busy P's queue) cost 70-90 ns a hop against 52-55 at 1 P; without it, 2 Ps
// run the ring at the 1-P figure. For the same reason an idle P's re-check
// before parking (any_work_visible) looks at rings and the global queue, not
// at runnexts.
// The runnext watch bounds the wait of a goroutine in a runnext whose P keeps
// running something else (a stackless G that never suspends would strand it
// for good): while other Ps are busy (off the idle list), the idle P on timer
// duty ("Timers") wakes
// every runnext_patience_ns and compares each running P's (current G,
// runnext G) with what it saw at its previous look; the same pair twice
// means that P has not scheduled since, and the duty P goes spinning, whose
// last steal pass takes the runnext. So a readied G waits at most about
// twice the patience (1 ms) for a P that never yields, and an idle P wakes
// at most 2,000 times a second while another P is busy (none when every P is
// idle). Rejected: waking for every runnext put, as Go does (the cycle
// above); a private, unstealable next slot (a readied G would wait for the
// readier's next suspension, however long).
//
// # Spinning and parking (no lost wakeups)
// A P with nothing local is "spinning" while it looks for work elsewhere; at
// most half of the busy Ps spin (2*nmspinning < procs - npidle). The protocol
// is Go's, with its #StoreLoad barriers made explicit:
//   submitter: publish the G (release store) ; light barrier ;
//              if npidle > 0 && nmspinning == 0: wakep()
//   idler:     under mu_: re-check the global queue, push itself on idle_ and
//              bump npidle; drop spinning (nmspinning.fetch_sub) ; heavy barrier;
//              re-check every run queue; only then park.
// The barriers order each side's store before its load, so either the
// submitter sees the idler counted (and wakes someone) or the idler sees the
// G (and takes itself off idle_ to go get it). The pair is asymmetric
// (barrier.hpp): the light one costs the hot submit path nothing but a
// compiler barrier, the heavy one is a membarrier(2) on the rare idle path.
// A G put in runnext wakes no one (see "Submitting work"); the ring put of a
// G it kicked out takes the light barrier. A submission to the global queue
// is ordered by mu_. Go only
// re-checks when the idler was spinning, relying on the submitter to run its
// own queue; we always re-check, because a stackless G that never yields
// would strand that work.
//   wakep: CAS nmspinning 0->1 (at most one waker at a time), pop a P from
//          idle_ under mu_ (clearing its `idle` flag), unpark it. The woken P
//          starts out spinning; the spinning count was taken for it.
//   reset_spinning: a spinner that found work drops spinning and, if it was
//          the last spinner, calls wakep(): there may be more work than Ps.
// A parked P only leaves park() for real when its `idle` flag was cleared by a
// waker (or the runtime stops); anything else is spurious and it parks again.
// Invariant: p.idle == true  <=>  p is in idle_  (both written under mu_).
//
// # Timers
// Each P has a heap of timers (timer_heap.hpp; the node protocol is at the
// top of timer.cpp). Who runs due timers: every P, its own, at step 0; a
// spinning P, every P's, before it steals (so a P busy with a long chain of
// goroutines does not hold its timers back while another P is free); and
// the P on timer duty, below.
// The timer duty: at most one idle P (timer_duty_) waits in its poller with
// the earliest deadline over all heaps as its deadline; the other idle Ps
// wait without one, so an expiry wakes one thread, not every idle one. When
// its wait ends the duty P gives the duty up; if the deadline passed it
// leaves the idle list as a spinner and runs the due timers, else it takes
// the duty again (if free) and recomputes. The protocol with arm
// (add_timer -> timer_armed, Go's wakeNetPoller):
//   duty P: timer_wait_until = none ; CAS timer_duty_ null -> p ;
//           e = min over heaps of earliest ; timer_wait_until = e ; wait(e)
//   arm:    heap.earliest = when (the new top) ; d = timer_duty_ ;
//           d ? (d->timer_wait_until > when ? wake d : nothing) : wake_if_needed
// Every one of these is seq_cst, and each side stores before it loads the
// other's word: either the duty P's min sees the new deadline, or the arm
// sees the claim — and then reads `none` (wakes it: it recomputes) or e (and
// wakes it if e is later than `when`). With no P on duty, either no P is
// idle (a busy P runs its own timers when it schedules, a spinner every
// P's) or an idle P has not claimed the duty yet (it will, and then reads
// the heaps), or idle Ps wait without a deadline because the duty P just
// left to spin: wake_if_needed wakes one of them if no P spins, and a
// spinner that goes idle again claims the duty. A wake that finds the duty
// P awake is kept by the poller (its next wait returns at once) and costs a
// spurious loop.
// A P that found no work does not park while a timer is due within 50 us:
// a spinner keeps spinning while any heap has one (timer_soon), and a P that
// may not spin keeps looking while its own heap has one (own_timer_soon);
// parking and waking again cost more than that (see timer_soon).
// Goroutines that fires wake (sleep, select's after; ready_in_order) go to
// the firing P's `woken` array, up to 64, in deadline order, and step 0
// runs them before anything else; a check fires only as many timers as the
// array has room for, the rest at the next schedules. Timer wakes thus come
// before the backlog of the run queues: with 100,000 sleepers started at
// once, the ring tail put each woken goroutine behind those still starting,
// and lateness grew with every one (mean 3-5 ms; 1-2 ms with the array, at
// 2 Ps). The goroutines in it cannot be stolen (at most 64 per P), and when
// it runs empty the next schedule skips the timers once, so the run queue
// gets a turn between batches even when timers are always due. A worker
// that leaves its loop queues what is left in it, for the drain.
// Rejected: every idle P waiting with the earliest deadline (each expiry
// would wake all of them), the timer duty under mu_ (a lock on every arm
// that becomes a heap's earliest), waking timer goroutines into runnext
// (Go's goready: one slot, so a batch lands on the ring tail anyway).
//
// # The epoll duty
// On the epoll backend every fd is registered in one epoll per scheduler
// (epoll_set_), and one idle P at a time, the one whose wait claimed the
// duty, blocks in it; the other idle Ps block in their own epoll, which
// only their doorbell reaches (lib/netpoll/epoll_poller.hpp, "The shared
// epoll", holds that side and the measurements). Readiness is then
// reported as long as some P is idle, even while the P that registered the
// fd runs a goroutine that never suspends; with an epoll per P it waited
// for that P (0.8-3.2 s, measured). The duty is released inside the wait,
// so the scheduler's part is the hand-over: a P whose wait held the duty
// and that leaves its idle wait (for completions, a wake, due timers)
// rings one idle P, the heir (epoll_heir_, the front of idle_, since wakep
// pops the back). The heir wakes from its own epoll, finds itself still
// idle, waits again and claims the duty.
//   releaser: duty = null (seq_cst, in the wait) ; npidle > 0 (seq_cst) ?
//             under mu_: heir = front of idle_ if the duty is still free ;
//             ring the heir
//   idler:    under mu_: push itself on idle_, npidle++ (seq_cst) ; ... ;
//             CAS duty null -> self (seq_cst) or block in its own epoll
// Either the idler's CAS finds the duty free, or the releaser's load sees
// it counted, and then (its push under mu_ came before the releaser's
// lock, or its CAS would have found the duty free) finds it in idle_. An
// heir that leaves the idle list before it claimed (wakep popped it, or it
// found work) would strand the duty: under the same lock, the P leaving
// names and rings the next heir if the duty is still free
// (rename_epoll_heir_locked), so the chain ends only when a P claims the
// duty or no P is idle. When no P is idle no P needs the duty: the first
// to go idle claims it. A spurious ring (an heir that finds the duty taken)
// costs its P one more trip round its wait loop.
// Rejected: one P per scheduler dedicated to the epoll (a thread with no P
// to give goroutines to), and waking every idle P at a hand-over (each
// event would wake them all).
//
// # Stopping: no goroutine outlives its run
// request_stop() sets stopping_ and unparks every P. Workers leave at the top
// of find_runnable; the G that called it finishes its current resume first.
// After the threads are joined, drain() destroys every goroutine of the run,
// which the registry (registry.hpp) lists:
//   1. draining_ is set: threads without a P may no longer start goroutines
//      (go() throws goro::panic), but may still ready them, since a waker on
//      another thread may be between taking a waiter and readying it.
//   2. A pass destroys every G in a run queue, then asks every registered G
//      that is parked to withdraw (parked_on::withdraw: out of its queue,
//      under the object's lock, the object's counts undone) and destroys it.
//      A G that is not parked, or whose waker got there first, is on its way
//      into a run queue: the next pass finds it there. Destroying a frame
//      runs destructors, which may start or ready goroutines (they land on
//      the global queue, through tls_drainer) or finish others' waits.
//      One waiter is waited for without a limit: a G in goro::blocking
//      whose fn a blocking thread already runs (withdraw fails, and its wait
//      reason is wait_reason::blocking). fn may use the frame (a buffer it
//      reads into), so the frame must outlive it, however long it runs; the
//      thread readies the G when fn returns, and a later pass destroys it
//      from the queue. The drain sleeps 1 ms a pass meanwhile, and after
//      5 s says once on stderr which goroutine it waits for. Any other G
//      that stays neither parked nor queued for 30 s is a lost wake: fatal.
//   3. Passes repeat until no G is registered. Then active_scheduler is
//      cleared, the thread waits for every external entry (below) to leave,
//      and one more pass catches a G started by a thread that entered
//      before draining_ was set.
//   4. Every timer still armed is dropped (clear_timers: a goro::timer or a
//      pending after of nobody's goroutine), and the thread waits for the
//      external entries once more, since a thread without a P may hold a
//      pointer into a heap (timer.cpp, "The end of a run").
// Destroying a G: a detached G's frame is destroyed (its locals' and
// arguments' destructors run). A joinable G's frame is shared with its
// join_handle: join_abandoned is exchanged in, and whichever of the drain and
// the handle comes second destroys it (runtime.cpp, "Join handshake"). So
// nothing of a run is ever resumed by a later run, and nothing leaks.
//
// # Threads that own no P
// start_goroutine, ready and the num_goroutine/gomaxprocs queries may be
// called from any thread. A worker uses its own scheduler, which outlives
// it. Any other thread opens an external_entry: it increments
// external_entries, then loads active_scheduler (both seq_cst); drain()
// clears active_scheduler, then waits for external_entries to reach zero
// before the scheduler may be destroyed. In the single total order of the
// seq_cst operations, either the entry's load comes after the clear (it sees
// no runtime: go() throws "no goro runtime is running"), or its increment
// comes before the clear and drain() waits for it. The thread running drain()
// needs no entry: it uses tls_drainer.
//
// Rejected: one global queue (contended on every go), a Chase-Lev deque per P
// (see runq.hpp), futex-per-G parking (a G is a frame, not a thread), waking
// all idle Ps on submit (thundering herd; Go's single spinner scales).

#include "sched/scheduler.hpp"

#include "base/barrier.hpp"
#include "base/clock.hpp"
#include "base/cpu_relax.hpp"
#include "base/fatal.hpp"
#include "sched/park.hpp"
#include "sched/stack_guard.hpp"
#include "sched/timer.hpp"

#include <goro/detail/sched.hpp>
#include <goro/panic.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <new>
#include <numeric>
#include <sched.h>
#include <thread>
#include <utility>

namespace goro::inline GORO_ABI::detail {

// initial-exec: libgoro is linked, not dlopen'ed, so its TLS sits in the
// static block and needs no __tls_get_addr call.
constinit __attribute__((tls_model("initial-exec"))) thread_local p_state* tls_p = nullptr;
// The running G's budget (detail/sched.hpp): exported, and read inline by
// awaitables that g++ compiles into users' code.
constinit __attribute__((tls_model("initial-exec"))) thread_local std::int32_t budget = 0;

namespace {

// The thread inside scheduler::drain(), on that thread (see "Stopping").
__attribute__((tls_model("initial-exec"))) thread_local scheduler* tls_drainer = nullptr;
std::atomic<scheduler*> active_scheduler{nullptr};
// Threads without a P inside an external_entry (see "Threads that own no P").
std::atomic<std::uint64_t> external_entries{0};

std::uint64_t next_random(std::uint64_t& s) noexcept
{
    // xorshift64*
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
}

} // namespace

GORO_NOINLINE p_state* current_p() noexcept { return tls_p; }

GORO_NOINLINE scheduler* current_drainer() noexcept { return tls_drainer; }

external_entry::external_entry() noexcept
{
    external_entries.fetch_add(1, std::memory_order_seq_cst);
    s_ = active_scheduler.load(std::memory_order_seq_cst);
}

external_entry::~external_entry()
{
    external_entries.fetch_sub(1, std::memory_order_release); // release: pairs with drain()'s acquire
}

GORO_NOINLINE frame_cache* current_frame_cache() noexcept
{
    p_state* p = tls_p;
    return p ? &p->frames : nullptr;
}

scheduler::scheduler(unsigned procs)
{
    std::uint64_t seed = std::uint64_t(monotonic_ns()) | 1;
    ps_.reserve(procs);
    for (unsigned i = 0; i < procs; ++i) {
        ps_.push_back(std::make_unique<p_state>(*this, i, central_frames_, next_random(seed) | 1));
        registry_.attach(ps_.back()->slots);
    }
    for (std::uint32_t c = 1; c <= procs; ++c)
        if (std::gcd(c, procs) == 1)
            coprimes_.push_back(c);
    idle_.reserve(procs);
}

scheduler::~scheduler() = default;

// ---------------------------------------------------------------------------
// Run and stop

void scheduler::run(goroutine& main)
{
    scheduler* expected = nullptr;
    if (!active_scheduler.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
        main.continuation.destroy();
        throw panic("goro::runtime::run: another goro runtime is already running in this process");
    }
    stopping_.store(false, std::memory_order_relaxed);
    try {
        if (!epoll_set_ && netpoll_backend().backend == backend_kind::epoll)
            epoll_set_ = std::make_unique<shared_epoll>(); // before any worker starts: they read it unlocked
    } catch (const std::exception& e) {
        fatal("sched: cannot set up the netpoller: {}", e.what());
    }
    try {
        start_external(main);
    } catch (...) { // out of memory registering it
        main.continuation.destroy();
        active_scheduler.store(nullptr, std::memory_order_seq_cst);
        throw;
    }

    std::vector<std::thread> threads;
    try {
        threads.reserve(ps_.size() - 1);
        for (std::size_t i = 1; i < ps_.size(); ++i)
            threads.emplace_back([this, p = ps_[i].get()] { worker_main(*p); });
    } catch (...) {
        request_stop();
        for (auto& t : threads)
            t.join();
        drain();
        throw;
    }
    worker_main(*ps_[0]);
    for (auto& t : threads)
        t.join();
    drain();
}

void scheduler::request_stop() noexcept
{
    stopping_.store(true, std::memory_order_seq_cst);
    for (auto& p : ps_)
        p->io.wake();
}

void scheduler::drain() noexcept
{
    tls_drainer = this;
    draining_.store(true, std::memory_order_seq_cst);
    while (drain_pass()) {
    }
    active_scheduler.store(nullptr, std::memory_order_seq_cst);
    while (external_entries.load(std::memory_order_acquire) != 0) // acquire: pairs with the entries' release
        sched_yield();
    while (drain_pass()) {
    }
    // Timers of no goroutine (a goro::timer, a pending after) are dropped;
    // then wait once more for threads without a P that may hold a pointer
    // into a heap (timer.cpp, "The end of a run").
    for (auto& p : ps_)
        clear_timers(p->timers);
    timer_duty_.store(nullptr, std::memory_order_relaxed); // relaxed: no worker runs
    while (external_entries.load(std::memory_order_seq_cst) != 0) // seq_cst: against clear_timers' stores
        sched_yield();
    tls_drainer = nullptr;
    idle_.clear();
    epoll_heir_ = nullptr;
    npidle_.store(0, std::memory_order_relaxed);
    nmspinning_.store(0, std::memory_order_relaxed);
    for (auto& p : ps_) {
        p->idle.store(false, std::memory_order_relaxed);
        p->spinning = false;
    }
}

// One pass of "Stopping" step 2; true while goroutines remain.
bool scheduler::drain_pass() noexcept
{
    destroy_queued();
    bool waiting = false;
    goroutine* in_blocking_call = nullptr;
    const std::size_t live = registry_.for_each([&](goroutine& g) {
        if (g.wait && g.wait->withdraw(*g.wait))
            abandon(g);
        else if (g.wait && g.reason == wait_reason::blocking)
            in_blocking_call = &g; // its fn runs: wait for it, however long
        else
            waiting = true; // runnable by now, or about to be
    });
    if (live == 0)
        return false;
    if (waiting) {
        if (!drain_wait_since_)
            drain_wait_since_ = monotonic_ns();
        else if (monotonic_ns() - drain_wait_since_ > drain_give_up_ns)
            fatal("sched: at the end of a run, goroutines stay neither parked nor runnable for {} s "
                  "(a waker took a waiter and never readied it)",
                  drain_give_up_ns / 1'000'000'000);
        sched_yield(); // a waker on another thread is readying one
    } else {
        drain_wait_since_ = 0;
    }
    if (in_blocking_call) {
        if (!drain_blocking_since_)
            drain_blocking_since_ = monotonic_ns();
        else if (!drain_blocking_told_ && monotonic_ns() - drain_blocking_since_ > drain_tell_blocking_ns) {
            drain_blocking_told_ = true;
            tell_drain_waits_for(*in_blocking_call);
        }
        if (!waiting)
            std::this_thread::sleep_for(std::chrono::milliseconds(1)); // fn may take long: do not spin
    } else {
        drain_blocking_since_ = 0;
        drain_blocking_told_ = false;
    }
    return true;
}

// Says which goroutine's blocking call holds up the end of the run (once).
void scheduler::tell_drain_waits_for(const goroutine& g) noexcept
{
    try {
        const auto s = drain_tell_blocking_ns / 1'000'000'000;
        if (g.site_file)
            fmt::print(stderr, "goro: the end of the run has waited {} s for a goro::blocking call to return, "
                       "in the goroutine started at {}:{}\n", s, g.site_file, g.site_line);
        else
            fmt::print(stderr, "goro: the end of the run has waited {} s for a goro::blocking call to return, "
                       "in a goroutine started by goro::go(fn, args...)\n", s);
    } catch (...) { // out of memory formatting: the wait goes on, untold
    }
}

// Destroys every queued G, and those their destructors queue.
void scheduler::destroy_queued() noexcept
{
    for (bool again = true; again;) {
        again = false;
        for (auto& p : ps_) {
            bool from_next;
            while (goroutine* g = p->runq_.get(true, from_next)) {
                again = true;
                abandon(*g);
            }
        }
        for (;;) {
            goroutine* g;
            {
                std::lock_guard lock(mu_);
                g = global_.pop();
                global_size_.store(global_.size(), std::memory_order_relaxed);
            }
            if (!g)
                break;
            again = true;
            abandon(*g); // may queue more goroutines: take the lock afresh each time
        }
    }
}

// Destroys a G of a finished run that will never run again (see "Stopping").
void scheduler::abandon(goroutine& g) noexcept
{
    registry_.remove_shared(g);
    external_live_.fetch_sub(1, std::memory_order_relaxed); // the totals only matter summed
    if (g.kind == g_kind::detached ||
        g.join.exchange(join_abandoned, std::memory_order_acq_rel) == join_detached)
        g.continuation.destroy(); // a root keeps its own frame in `continuation`
}

// ---------------------------------------------------------------------------
// The worker loop

void scheduler::worker_main(p_state& p)
{
    tls_p = &p;
    p.stack_floor = stack_floor_below(static_cast<char*>(__builtin_frame_address(0)));
    start_netpoll(p);
    while (goroutine* g = find_runnable(p)) {
        if (p.spinning)
            reset_spinning(p);
        if (p.dry) {
            p.dry = false;
            p.busy_since = monotonic_ns();
        }
        ++p.schedtick;
        budget = budget_per_slice;
        p.current.store(g, std::memory_order_relaxed);
        g->reason = wait_reason::none;
        g->wait = nullptr;
        g->leaf.resume();
        // g may be running elsewhere or freed now: do not touch it.
        p.current.store(nullptr, std::memory_order_relaxed);
    }
    if (p.spinning) {
        p.spinning = false;
        nmspinning_.fetch_sub(1, std::memory_order_relaxed);
    }
    // Every operation in flight ends before its goroutine can be destroyed
    // (netpoll.hpp, "Stopping"); the drain finds the goroutines queued.
    p.io.stop([&](goroutine& g) { put_local(p, g, false); });
    while (p.woken_head != p.woken_tail) // woken by timers, never run: the drain finds them queued
        put_local(p, *p.woken[p.woken_head++], false);
    tls_p = nullptr;
}

void scheduler::start_netpoll(p_state& p)
{
    try {
        p.io.start(netpoll_backend(), netpoll_sq_entries, epoll_set_.get());
    } catch (const std::exception& e) {
        fatal("sched: P {} cannot set up its netpoller: {}", p.id, e.what());
    }
}

// Step 4 of find_runnable: reap what the P's poller has, without blocking.
// Returns one readied goroutine to run; the others go to the local queue.
goroutine* scheduler::poll_network(p_state& p, bool dry)
{
    if (!p.io.worth_polling(dry))
        return nullptr;
    std::size_t n = p.io.wait(0, p.polled);
    if (n == 0)
        return nullptr;
    for (std::size_t i = 1; i < n; ++i)
        put_local(p, *p.polled[i], false);
    return p.polled[0];
}

// Steps 0 to 2 of find_runnable, the common case: small enough that the
// worker loop runs it without the call into the whole search (whose
// prologue alone cost about 1 ns of a channel handoff; docs/performance.md).
inline goroutine* scheduler::find_local(p_state& p)
{
    // 0. Timers of this P that are due (Go's checkTimers), and the
    //    goroutines timers woke here.
    // (One relaxed load and two owner fields when no timer is armed.)
    if (p.woken_tail != 0 || p.ring_turn ||
        p.timers.earliest.load(std::memory_order_relaxed) != timer_heap::none) [[unlikely]] // relaxed: a hint
        if (goroutine* g = timer_step(p))
            return g;

    // 1. Fairness for the global queue and the netpoller.
    if (p.schedtick % global_check_interval == 0) [[unlikely]]
        if (goroutine* g = fairness_step(p))
            return g;

    // 2. Local: runnext (capped), then the ring's newest G, or its oldest
    //    half-way between two fairness steps.
    bool from_next = false;
    const bool fair_turn = p.schedtick % global_check_interval == global_check_interval / 2;
    if (goroutine* g = p.runq_.get(p.runnext_streak < max_runnext_streak, from_next, fair_turn)) {
        p.runnext_streak = from_next ? p.runnext_streak + 1 : 0;
        return g;
    }
    p.runnext_streak = 0;
    return nullptr;
}

// Step 1: every global_check_interval schedules, the global queue and the
// netpoller come first, so that neither starves behind a busy local queue.
GORO_NOINLINE goroutine* scheduler::fairness_step(p_state& p)
{
    if (global_size_.load(std::memory_order_relaxed) > 0) {
        std::lock_guard lock(mu_);
        if (goroutine* g = global_get_locked(p, 1))
            return g;
    }
    return poll_network(p, false);
}

inline goroutine* scheduler::find_runnable(p_state& p)
{
    if (!stopping_.load(std::memory_order_acquire))
        if (goroutine* g = find_local(p))
            return g;
    return find_runnable_slow(p);
}

// find_runnable past the local queue: steps 3 to 6, and back to the top
// whenever they may have made work appear.
GORO_NOINLINE goroutine* scheduler::find_runnable_slow(p_state& p)
{
    for (;;) {
        if (stopping_.load(std::memory_order_acquire))
            return nullptr;
        if (goroutine* g = find_local(p))
            return g;

        // 3. Global queue; before it, the netpoller if that costs no system
        //    call (io_uring: the ring's shared memory shows completions).
        //    Completions on this P's ring can be reaped by no other P, and a
        //    P whose goroutines keep yielding through the global queue would
        //    otherwise look only every 61 ticks.
        if (global_size_.load(std::memory_order_relaxed) > 0) {
            if (goroutine* g = poll_network(p, false))
                return g;
            std::lock_guard lock(mu_);
            if (goroutine* g = global_get_locked(p, 0))
                return g;
        }

        // 4. The netpoller, without blocking.
        if (goroutine* g = poll_network(p, !p.dry))
            return g;

        const std::int64_t now = monotonic_ns();
        if (!p.dry)
            note_ran_dry(p, now);

        // 5. Steal, if we may spin.
        if (ps_.size() > 1 &&
            (p.spinning || 2 * nmspinning_.load(std::memory_order_relaxed) <
                               procs() - npidle_.load(std::memory_order_relaxed))) {
            if (!p.spinning) {
                p.spinning = true;
                nmspinning_.fetch_add(1, std::memory_order_seq_cst);
            }
            if (run_others_timers(p, now))
                continue; // a fire may have readied a goroutine here
            if (now >= p.steal_not_before)
                if (goroutine* g = steal_work(p))
                    return g;
            // Keep looking a little longer before parking: waking a parked
            // worker costs the submitter a futex syscall and the work tens of
            // microseconds of wake-up latency, while a spinner is found by
            // submitters through nmspinning_ and needs no wake at all.
            if (p.spin_until == 0)
                p.spin_until = now + spin_before_park_ns;
            if (now < p.spin_until || now < p.steal_not_before || timer_soon(now)) {
                for (int i = 0; i < 64; ++i)
                    cpu_relax();
                continue;
            }
            p.spin_until = 0;
        } else if (own_timer_soon(p, now)) { // step 0 will fire it: wait for it here
            for (int i = 0; i < 64; ++i)
                cpu_relax();
            continue;
        }

        // 6. Park. Last look at the global queue under the lock that guards it.
        {
            std::lock_guard lock(mu_);
            if (stopping_.load(std::memory_order_acquire))
                return nullptr;
            if (goroutine* g = global_get_locked(p, 0))
                return g;
            idle_.push_back(&p);
            p.idle.store(true, std::memory_order_relaxed);
            npidle_.fetch_add(1, std::memory_order_seq_cst);
        }
        if (p.spinning) {
            p.spinning = false;
            nmspinning_.fetch_sub(1, std::memory_order_seq_cst);
        }
        asymmetric_heavy_barrier(); // StoreLoad: pairs with the submitters' light barrier
        if (any_work_visible()) {
            if (!leave_idle_list(p)) {
                // A waker popped us first and counted us as spinning: take the
                // role; its unpark() will make a later park() return early.
            }
            p.spinning = true;
            continue;
        }
        bool held_epoll_duty = false; // the last wait blocked in the shared epoll ("The epoll duty")
        for (;;) {
            // The timer duty (see "Timers"): at most one idle P waits until
            // the earliest deadline over all heaps; the others until woken.
            // While other Ps run, the duty P also watches their runnexts
            // (see "Submitting work").
            std::int64_t timer_deadline = -1;
            p_state* no_one = nullptr;
            p.timer_wait_until.store(timer_heap::none, std::memory_order_seq_cst); // seq_cst: read by timer_armed after its duty load
            const bool duty = timer_duty_.compare_exchange_strong(no_one, &p, std::memory_order_seq_cst);
            if (duty) {
                const std::int64_t e = earliest_timer(); // after the claim: see "Timers"
                p.timer_wait_until.store(e, std::memory_order_seq_cst); // seq_cst: as above
                if (e != timer_heap::none)
                    timer_deadline = e;
            }
            std::int64_t deadline = timer_deadline;
            std::int64_t watch_end = -1; // the runnext watch's next look (duty only)
            if (duty && others_busy(p)) {
                watch_end = monotonic_ns() + runnext_patience_ns;
                if (deadline < 0 || watch_end < deadline)
                    deadline = watch_end;
            }
            // Wait in the poller until a wake, a completion or the deadline (a
            // deadline already passed only polls). A completion's goroutines
            // are collected, not readied: readying them now, while this P is
            // still on idle_, would have wakep pick this very P.
            std::size_t n = p.io.wait(deadline, p.polled);
            held_epoll_duty = p.io.waited_on_epoll_duty();
            bool due = false;
            bool starved = false;
            if (duty) {
                // The watch's fields are the duty holder's: look before letting go.
                starved = watch_end >= 0 && monotonic_ns() >= watch_end && runnext_starved(p);
                timer_duty_.store(nullptr, std::memory_order_seq_cst); // seq_cst: timer_armed loads it
                due = timer_deadline >= 0 && timer_deadline <= monotonic_ns();
            }
            if (stopping_.load(std::memory_order_acquire)) {
                for (std::size_t i = 0; i < n; ++i)
                    put_local(p, *p.polled[i], false);
                return nullptr;
            }
            if (n != 0) {
                leave_idle_list(p); // false: a waker popped us and counted us spinning meanwhile
                if (held_epoll_duty)
                    hand_over_epoll_duty(p);
                for (std::size_t i = 1; i < n; ++i)
                    put_local(p, *p.polled[i], false);
                p.spinning = true;
                return p.polled[0];
            }
            if (!p.idle.load(std::memory_order_acquire)) // acquire: pairs with wakep's release
                break;
            if (due || starved) { // run them, or steal it
                leave_idle_list(p); // if a waker popped us first, it counted us as spinning
                break;
            }
        }
        if (held_epoll_duty)
            hand_over_epoll_duty(p);
        p.spinning = true; // counted in nmspinning_ by wakep or leave_idle_list
    }
}

// ---------------------------------------------------------------------------
// Timers

// Step 0 of find_runnable, with a timer armed on p or goroutines in p.woken:
// fire what is due, then return the next timer-woken goroutine, if any.
GORO_NOINLINE goroutine* scheduler::timer_step(p_state& p) noexcept
{
    if (p.ring_turn)
        p.ring_turn = false;
    else if (p.woken_tail == 0) // fires refill the list once it ran empty (no clock read meanwhile)
        check_timers(p);
    if (p.woken_head == p.woken_tail)
        return nullptr;
    goroutine* g = p.woken[p.woken_head++];
    if (p.woken_head == p.woken_tail) {
        p.woken_head = p.woken_tail = 0;
        p.ring_turn = true;
    }
    return g;
}

// One check fires at most the room left in p.woken (see "Timers").
void scheduler::check_timers(p_state& p) noexcept
{
    const std::int64_t e = p.timers.earliest.load(std::memory_order_relaxed); // relaxed: a hint; run_timers locks
    if (e == timer_heap::none)
        return;
    const std::int64_t now = monotonic_ns();
    if (e <= now)
        run_timers(p.timers, now, p_state::woken_max - p.woken_tail);
}

// A spinning P fires every P's due timers: a P busy with a long chain of
// goroutines does not check its own heap until it schedules again. True if
// any fired.
bool scheduler::run_others_timers(p_state& p, std::int64_t now) noexcept
{
    bool fired = false;
    for (auto& q : ps_)
        if (q->timers.earliest.load(std::memory_order_relaxed) <= now) // relaxed: a hint; run_timers locks
            fired |= run_timers(q->timers, now, p_state::woken_max - p.woken_tail) != 0;
    return fired;
}

// Whether a timer is due within timer_spin_ns: then a P that found no work
// keeps looking instead of parking. Going idle costs a membarrier (an
// interrupt on every CPU running our threads) and a wake-up; timers due a
// few microseconds apart (100,000 sleepers) made Ps park and wake for each,
// and the barriers' interrupts slowed the busy P too (a fifth of the timers
// benchmark's profile).
bool scheduler::timer_soon(std::int64_t now) const noexcept
{
    return earliest_timer() <= now + timer_spin_ns;
}

// Whether a timer of p's own heap is due within timer_spin_ns. A P that may
// not spin (enough others already do) keeps looking instead of parking then:
// with 2 Ps, the second to run dry while timers were due microseconds apart
// parked and was woken again for each batch, and the membarriers of those
// parks were half of the timers benchmark's wake phase. Only its own heap
// counts: the spinners run the others', and at most every P waits like this
// for the next of its own deadlines, never longer than timer_spin_ns.
bool scheduler::own_timer_soon(const p_state& p, std::int64_t now) const noexcept
{
    return p.timers.earliest.load(std::memory_order_relaxed) <= now + timer_spin_ns; // relaxed: a hint; step 0 locks
}

std::int64_t scheduler::earliest_timer() const noexcept
{
    std::int64_t e = timer_heap::none;
    for (auto& q : ps_)
        e = std::min(e, q->timers.earliest.load(std::memory_order_seq_cst)); // seq_cst: see "Timers"
    return e;
}

void scheduler::add_timer(p_state& p, runtime_timer& t, std::int64_t when) noexcept
{
    if (insert_timer(p.timers, t, when))
        timer_armed(when);
}

void scheduler::add_timer_external(runtime_timer& t, std::int64_t when) noexcept
{
    if (insert_timer(ps_[0]->timers, t, when))
        timer_armed(when);
}

// A heap's earliest deadline went down to `when` (its seq_cst store is the
// StoreLoad barrier before these loads): wake the P on timer duty if it
// sleeps past it; with no P on duty, wake an idle one as a submission would
// (Go's wakeNetPoller).
void scheduler::timer_armed(std::int64_t when) noexcept
{
    if (p_state* d = timer_duty_.load(std::memory_order_seq_cst)) { // seq_cst: pairs with the duty claim
        if (d->timer_wait_until.load(std::memory_order_seq_cst) > when) // seq_cst: as above
            d->io.wake();
        return;
    }
    wake_if_needed_after_rmw();
}

bool scheduler::leave_idle_list(p_state& p)
{
    p_state* heir = nullptr;
    {
        std::lock_guard lock(mu_);
        if (!p.idle.load(std::memory_order_relaxed))
            return false; // popped by wakep, which already counted us as spinning
        idle_.erase(std::find(idle_.begin(), idle_.end(), &p));
        p.idle.store(false, std::memory_order_relaxed);
        npidle_.fetch_sub(1, std::memory_order_seq_cst);
        nmspinning_.fetch_add(1, std::memory_order_seq_cst);
        heir = rename_epoll_heir_locked(p);
    }
    if (heir)
        heir->io.wake(&p.io);
    return true;
}

// A P whose idle wait held the epoll duty left that wait (the duty is
// released by now): ring an idle P, which wakes from its own epoll, finds
// itself still idle and claims the duty in its next wait. seq_cst: this
// load comes after the release, an idle P's claim after its increment
// ("The epoll duty").
void scheduler::hand_over_epoll_duty(p_state& self) noexcept
{
    if (npidle_.load(std::memory_order_seq_cst) == 0)
        return;
    p_state* heir = nullptr;
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty() && epoll_set_->duty_free())
            heir = epoll_heir_ = idle_.front(); // the longest idle: wakep pops the back
    }
    if (heir)
        heir->io.wake(&self.io);
}

// Under mu_, as `leaving` leaves the idle list: if it was the heir of the
// epoll duty and the duty is still free, it will not claim it, so another
// idle P is named; returns it, for the caller to ring once the lock is
// released.
p_state* scheduler::rename_epoll_heir_locked(const p_state& leaving) noexcept
{
    if (&leaving != epoll_heir_)
        return nullptr;
    epoll_heir_ = nullptr;
    if (idle_.empty() || !epoll_set_->duty_free())
        return nullptr;
    epoll_heir_ = idle_.front();
    return epoll_heir_;
}

bool scheduler::any_work_visible() const noexcept
{
    if (global_size_.load(std::memory_order_acquire) > 0)
        return true;
    for (auto& q : ps_)
        if (!q->runq_.ring_empty()) // runnext is its owner's (see "Submitting work")
            return true;
    return false;
}

// The runnext watch (see "Submitting work"), by the P on timer duty after a
// wait that ended with nothing to do: true if some P still runs the same
// goroutine (or still none: its thread may be stalled between two), with the
// same one in its runnext, as at the duty's last look
// (at least runnext_patience_ns ago); then the caller goes to steal it.
// Records what it sees for the next look.
bool scheduler::runnext_starved(p_state& p) noexcept
{
    bool starved = false;
    for (auto& q : ps_) {
        if (q.get() == &p)
            continue;
        const goroutine* running = q->current.load(std::memory_order_relaxed); // relaxed: a hint
        const goroutine* next = q->runq_.peek_next();
        if (next && running == q->watch_running && next == q->watch_next)
            starved = true;
        q->watch_running = running;
        q->watch_next = next;
    }
    return starved;
}

// Whether some other P is off the idle list: then the P on timer duty
// bounds its wait by runnext_patience_ns, to watch their runnexts. (Not
// "running a goroutine": a P caught between two goroutines at that moment
// made the duty P sleep without a bound while the ring of goroutines went
// on for the rest of the run.)
bool scheduler::others_busy(const p_state& p) const noexcept
{
    for (auto& q : ps_)
        if (q.get() != &p && !q->idle.load(std::memory_order_relaxed)) // relaxed: a hint
            return true;
    return false;
}

// The P found no local or global work: grow or clear its steal back-off
// (see "Steal back-off").
void scheduler::note_ran_dry(p_state& p, std::int64_t now) noexcept
{
    p.dry = true;
    if (now - p.busy_since >= useful_busy_ns)
        p.short_busy = 0;
    else if (p.short_busy < max_steal_backoff_shift)
        ++p.short_busy;
    p.steal_not_before = p.short_busy ? now + (std::int64_t(1000) << p.short_busy) : 0;
}

goroutine* scheduler::steal_work(p_state& p)
{
    constexpr int passes = 4;
    const std::uint32_t n = procs();
    for (int pass = 0; pass < passes; ++pass) {
        const bool last = pass == passes - 1;
        std::uint64_t r = next_random(p.rng);
        std::uint32_t pos = std::uint32_t(r % n);
        std::uint32_t step = coprimes_[(r >> 32) % coprimes_.size()];
        for (std::uint32_t i = 0; i < n; ++i, pos = (pos + step) % n) {
            p_state& victim = *ps_[pos];
            if (&victim == &p)
                continue;
            if (stopping_.load(std::memory_order_relaxed))
                return nullptr;
            if (goroutine* g = victim.runq_.steal_into(p.runq_, last && runnext_left_alone(victim)))
                return g;
        }
    }
    return nullptr;
}

// Whether victim's runnext holds a G that its P has left alone for 3 us:
// only then is it worth stealing. A P that is about to run it would, and
// stealing it would break a ping-pong pair; and a runnext steal costs the
// thief a membarrier (runq.hpp), so it is not tried at every look.
bool scheduler::runnext_left_alone(const p_state& victim) const noexcept
{
    const goroutine* next = victim.runq_.peek_next();
    if (!next)
        return false;
    const goroutine* running = victim.current.load(std::memory_order_relaxed); // relaxed: a hint
    const std::int64_t until = monotonic_ns() + 3000;
    while (monotonic_ns() < until) {
        if (victim.runq_.peek_next() != next || victim.current.load(std::memory_order_relaxed) != running) // relaxed: a hint
            return false;
        cpu_relax();
    }
    return true;
}

// Takes from the global queue under mu_: with max == 1 the oldest G; else
// its oldest chunk (at most half a ring), the first G to run and the rest into
// the local ring, which must be empty then.
goroutine* scheduler::global_get_locked(p_state& p, std::uint32_t max)
{
    if (global_.size() == 0)
        return nullptr;
    goroutine* first;
    if (max == 1) {
        first = global_.pop();
    } else {
        auto* c = global_.pop_chunk();
        first = c->items[c->begin];
        std::uint32_t rest = c->size() - 1;
        if (rest > p.runq_.room()) // cannot happen with an empty ring; never lose a G
            fatal("sched: a global chunk does not fit an empty local run queue");
        p.runq_.put_many(c->items + c->begin + 1, rest);
        global_.recycle(c);
    }
    global_size_.store(global_.size(), std::memory_order_relaxed);
    return first;
}

void scheduler::global_put(goroutine& g) noexcept
{
    global_push(g);
    wake_if_needed();
}

// A G that yields wakes a P only if its own P has other work to run first:
// otherwise that P takes it straight back at its next look. Waking there
// made an idle P spin, find nothing and park again, a membarrier that
// interrupted the yielding P too, every 128 operations of a lone busy
// goroutine (a fifth of the select_after benchmark's samples at 2 Ps). Go's
// Gosched never wakes a P; a CPU-bound G behind others on its P still
// reaches an idle one here. goro::yield() goes to the global queue, like
// Gosched; a G whose budget ran out goes to the back of its own P's queue
// (see "Submitting work").
void scheduler::yield_put(p_state& p, goroutine& g, yield_to where) noexcept
{
    const bool others = !p.runq_.ring_empty() || p.runq_.has_runnext() || p.woken_head != p.woken_tail;
    if (where == yield_to::global)
        global_push(g);
    else
        p.runq_.put(&g, false, [this](goroutine* const* gs, std::uint32_t n) { global_put_many(gs, n); });
    if (others)
        wake_if_needed();
}

void scheduler::global_push(goroutine& g) noexcept
{
    std::lock_guard lock(mu_);
    try {
        global_.push(&g);
    } catch (const std::bad_alloc&) {
        fatal("sched: out of memory growing the global run queue");
    }
    global_size_.store(global_.size(), std::memory_order_release);
}

void scheduler::global_put_many(goroutine* const* gs, std::uint32_t n) noexcept
{
    std::lock_guard lock(mu_);
    try {
        global_.push_many(gs, n);
    } catch (const std::bad_alloc&) {
        fatal("sched: out of memory growing the global run queue");
    }
    global_size_.store(global_.size(), std::memory_order_release);
}

// ---------------------------------------------------------------------------
// Submitting work and waking Ps

void scheduler::put_local(p_state& p, goroutine& g, bool next, local_runq::entry_kind kind) noexcept
{
    if (p.runq_.put(&g, next, [this](goroutine* const* gs, std::uint32_t n) { global_put_many(gs, n); }, kind))
        wake_if_needed();
    // else it only filled runnext: this P runs it next, no wake (see "Submitting work")
}

void scheduler::wake_if_needed() noexcept
{
    asymmetric_light_barrier(); // StoreLoad: pairs with the idler's heavy barrier
    wake_if_needed_after_rmw();
}

void scheduler::wake_if_needed_after_rmw() noexcept
{
    if (npidle_.load(std::memory_order_seq_cst) != 0 && nmspinning_.load(std::memory_order_seq_cst) == 0)
        wakep();
}

void scheduler::wakep() noexcept
{
    std::uint32_t zero = 0;
    if (!nmspinning_.compare_exchange_strong(zero, 1, std::memory_order_seq_cst))
        return; // someone is already spinning; it will find the work
    p_state* q = nullptr;
    p_state* heir = nullptr;
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
            q = idle_.back();
            idle_.pop_back();
            q->idle.store(false, std::memory_order_release); // release: pairs with the parked P's acquire
            npidle_.fetch_sub(1, std::memory_order_seq_cst);
            heir = rename_epoll_heir_locked(*q);
        }
    }
    if (!q) {
        nmspinning_.fetch_sub(1, std::memory_order_seq_cst);
        return;
    }
    // From this P's ring when the caller is a worker (MSG_RING doorbell).
    p_state* self = tls_p;
    q->io.wake(self ? &self->io : nullptr);
    if (heir)
        heir->io.wake(self ? &self->io : nullptr);
}

void scheduler::reset_spinning(p_state& p) noexcept
{
    p.spinning = false;
    p.spin_until = 0;
    if (nmspinning_.fetch_sub(1, std::memory_order_seq_cst) == 1)
        wake_if_needed(); // we were the last spinner and there may be more work
}

void scheduler::start_local(p_state& p, goroutine& g)
{
    registry_.add(p.slots, g);
    p.live.store(p.live.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    put_local(p, g, false, local_runq::entry_kind::fresh);
}

void scheduler::start_external(goroutine& g)
{
    registry_.add_shared(g);
    external_live_.fetch_add(1, std::memory_order_relaxed);
    global_put(g);
}

void scheduler::goroutine_finished(p_state& p, goroutine& g) noexcept
{
    registry_.remove(p.slots, g);
    p.live.store(p.live.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

long scheduler::num_goroutine() const noexcept
{
    std::int64_t n = external_live_.load(std::memory_order_relaxed);
    for (auto& p : ps_)
        n += p->live.load(std::memory_order_relaxed);
    return long(n);
}

// ---------------------------------------------------------------------------
// The hooks awaitables call (include/goro/detail/sched.hpp)

goroutine* current_g() noexcept
{
    return current_g_here();
}

goroutine& require_g(const char* what)
{
    goroutine* g = current_g();
    if (!g)
        throw panic(fmt::format("{} outside a goroutine", what));
    return *g;
}

void start_goroutine(goroutine& g, const char* who)
{
    g.continuation = g.leaf; // a root remembers its own frame (for shutdown)
    try {
        if (p_state* p = tls_p) {
            p->sched->start_local(*p, g);
            return;
        }
        if (scheduler* d = tls_drainer) { // a destructor run by drain(): destroyed on its next pass
            d->start_external(g);
            return;
        }
        external_entry entry;
        if (scheduler* s = entry.get(); s && !s->draining()) {
            s->start_external(g);
            return;
        }
    } catch (...) { // out of memory registering it
        g.leaf.destroy();
        throw;
    }
    g.leaf.destroy(); // the root's own frame, not started: nothing will ever run it
    throw panic(fmt::format("{}: no goro runtime is running (start one with goro::run)", who));
}

void ready(goroutine& g) noexcept
{
    if (p_state* p = tls_p) {
        p->sched->put_local(*p, g, true);
        return;
    }
    if (scheduler* d = tls_drainer) {
        d->global_put(g);
        return;
    }
    external_entry entry;
    if (scheduler* s = entry.get()) {
        s->global_put(g);
        return;
    }
    fatal("sched: a goroutine was readied with no runtime running (its run ended without withdrawing it)");
}

void ready_in_order(goroutine& g) noexcept
{
    if (p_state* p = tls_p) {
        if (p->woken_tail < p_state::woken_max) {
            p->woken[p->woken_tail++] = &g;
            return;
        }
        p->sched->put_local(*p, g, false);
        return;
    }
    ready(g);
}

void goroutine_finished(goroutine& g) noexcept
{
    p_state* p = tls_p; // goroutines run, and so end, only on workers
    p->sched->goroutine_finished(*p, g);
}

long running_num_goroutine() noexcept
{
    if (p_state* p = tls_p)
        return p->sched->num_goroutine();
    external_entry entry;
    return entry.get() ? entry.get()->num_goroutine() : 0;
}

unsigned running_procs() noexcept
{
    if (p_state* p = tls_p)
        return p->sched->procs();
    external_entry entry;
    return entry.get() ? entry.get()->procs() : 0;
}

void request_stop_current() noexcept
{
    if (p_state* p = tls_p)
        p->sched->request_stop();
}

void gosched(std::coroutine_handle<> leaf) noexcept
{
    goroutine* g = current_g_here();
    if (!g)
        fatal("goro::yield: awaited outside a goroutine");
    p_state* p = tls_p; // a running goroutine means a worker's P
    park(*g, leaf, wait_reason::yield, nullptr, [&] {
        p->sched->yield_put(*p, *g, scheduler::yield_to::global);
        return true;
    });
}

void yield_now(std::coroutine_handle<> leaf) noexcept
{
    goroutine* g = current_g_here();
    if (!g)
        fatal("goro: the cooperative budget ran out outside a goroutine");
    p_state* p = tls_p;
    park(*g, leaf, wait_reason::yield, nullptr, [&] {
        p->sched->yield_put(*p, *g, scheduler::yield_to::local);
        return true;
    });
}

// The stack guard (stack_guard.hpp). Never inlined, like every reader of
// tls_p; a thread outside a worker loop has no P and no floor.
GORO_NOINLINE std::coroutine_handle<> symmetric_transfer(std::coroutine_handle<> next) noexcept
{
    p_state* p = tls_p;
    if (!p || static_cast<char*>(__builtin_frame_address(0)) >= p->stack_floor) [[likely]]
        return next;
    yield_now(next); // publishes the goroutine: touch nothing after this
    return std::noop_coroutine();
}

std::uint32_t fastrand() noexcept
{
    // Threads with no P; constant-initialized, so no TLS init wrapper.
    __attribute__((tls_model("initial-exec"))) static thread_local std::uint64_t outside = 0x9e3779b97f4a7c15ull;
    p_state* p = tls_p;
    return std::uint32_t(next_random(p ? p->rng : outside) >> 32);
}

bool spend_budget() noexcept
{
    return spend_budget_here();
}

} // namespace goro::detail
