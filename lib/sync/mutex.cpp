// goro::mutex: Go's sync.Mutex (mutex.go) on the runtime semaphore.
//
// # State
// One 32-bit word: locked (1) | woken (2) | starving (4) | waiters << 3.
//   locked    someone holds the lock.
//   woken     a waiter is awake and about to compete (woken by unlock, or
//             back from a semaphore unit it found waiting): unlock must not
//             wake another one.
//   starving  starvation mode: unlock hands the lock to the front waiter;
//             nobody else may take it, even while `locked` is clear.
//   waiters   goroutines counted as parked (or about to park) on sema_.
// Every change is one atomic RMW on the word; the fast paths are a load and
// one CAS from the value read (lock: sets `locked`, acquire; unlock: clears
// it, release), so waiters counted in the word cost no second CAS. No lock
// is taken outside the semaphore's own spinlock.
//
// # Normal mode (lock_loop, Go's lockSlow)
// A goroutine that finds the lock held adds itself to `waiters` by CAS and
// parks on sema_ (it does not spin, below), at the back the first
// time and at the FRONT when it has waited before. unlock clears `locked`;
// if there are waiters and none is awake, it (unlock_slow) takes one off the
// count, sets `woken` and releases one semaphore unit. The woken waiter does
// not own the lock: when a worker next runs it, it competes with whoever
// arrives meanwhile (new arrivals are already running, so they usually win)
// and clears `woken` in the same CAS that either takes the lock or re-counts
// it as a waiter.
//
// A coroutine's await_resume cannot suspend, so a waiter parks with its
// resume hook as the goroutine's leaf (include/goro/detail/resume_hook.hpp):
// the worker that picks the goroutine up runs resume_locking, which runs this
// loop on the goroutine's behalf and either parks it again or resumes the
// awaiting coroutine with the lock held. The same hook takes the lock after
// a yield when the cooperative budget ran out, so lock() never yields while
// holding a lock it just took.
//
// # No spinning
// A goroutine that finds the lock held queues and parks at once; Go spins
// first (4 rounds of 30 PAUSEs while another P runs goroutines). On this
// project's 2-vCPU machine, where a PAUSE takes 18 ns and a cache line
// crossing between the vCPUs 35-230 ns, a spinner that wins takes the lock
// from a P that was re-taking it every few nanoseconds: the lock's line
// then crossed every ~30 pairs, and tools/bench/mutex ran at 26 ns a pair
// with spinning against 16 without (13 ns at one P), 255-300 against
// 170-220 ns with ~100 ns of work between pairs. A parked waiter is readied
// on the unlocking P and runs there, so the contenders gather on one P
// instead of pulling the line back and forth. The cost is the case where
// spinning pays, a lock held briefly between long stretches of work
// (~300 ns of work a pair: 277-293 ns with spinning, 300-415 without, one P
// 320): the parked waiter waits for the unlocker's P or a thief. Rejected
// on the way (docs/performance.md, "The mutex at two Ps"): Go's rule of
// spinning only with an empty local queue (29-31 ns), longer or
// backed-off rounds (16-22 ns at no work, up to 380 ns with work), and
// giving up the spin once the lock changed hands 8 times in a round
// (21 ns).
//
// # Starvation mode
// A waiter that wakes after waiting more than 1 ms (CLOCK_MONOTONIC since it
// first queued) and still finds the lock held sets `starving` in its CAS. From
// then on lock never takes the lock (it only queues, at the back), and unlock
// clears `locked` and releases one unit without touching the count: the
// front waiter owns the lock. It sets `locked` and removes itself from
// `waiters` in one atomic add, and clears `starving` if it waited less than
// 1 ms or is the last waiter (Go: two goroutines could otherwise stay in
// lock-step starvation mode forever).
//
// # Ownership of a waiter
// A mutex_waiter lives in the awaiter (the waiting goroutine's frame) and is
// the goroutine's, except from the moment acquire_or_park queues `node` until
// the semaphore's release unlinks it; the releaser then only reads node.g
// and readies the goroutine, whose hook owns the waiter again. After
// acquire_or_park returns true (parked) neither the awaiter nor the hook
// touches the waiter or the frame again.
//
// # A waiter destroyed before it ran
// The end of a run destroys every goroutine of the run (lib/sched/scheduler.cpp,
// "Stopping"), and its frame takes the awaiter and its mutex_waiter along.
// A parked waiter is withdrawn first: withdraw takes it off `waiters` (the
// last one out ends starvation mode) and clears its sema_woke. A runnable
// one is either back from a yield for the budget, which changed nothing, or
// was woken by the semaphore and has not acted on it (sema_woke still set),
// while the wake changed the mutex on its behalf: in normal mode unlock took
// it off the count and set `woken` for it, so later unlocks wake nobody; in
// starvation mode unlock handed it the lock. Its awaiter's destructor calls
// abandon_wait, which does what the waiter would have done had it run and
// left at once. In starvation mode it takes the lock (after_wake) and
// unlocks it, handing it to the next waiter. In normal mode it clears
// `woken` and, in the same CAS, wakes another waiter if the lock is free and
// waiters are counted, as the unlock that woke it would have if `woken` had
// been clear. The fast path pays one load and a branch for this, and no
// store: the byte in which the awaiter already noted an exhausted budget
// becomes its phase, and says whether lock_slow prepared the waiter (so
// whether sema_woke may be read); lock_slow prepares it before it can
// throw.
//
// # Ordering
// The lock-taking CAS (fast or slow) is acquire and pairs with the release of
// the CAS in unlock that cleared `locked`. A starvation handoff takes the
// lock with an acquire add that pairs with the same release (the semaphore's
// spinlock and the run-queue publish order it as well). Bookkeeping CASes
// (count a waiter, wake one) are acq_rel like Go's sequentially consistent
// atomics; on x86 every one of them is the same locked instruction.
//
// # Misuse
// Go's unlock subtracts `locked` first and dies if it was clear, leaving the
// word corrupted. Here unlock clears `locked` only by CAS from a value that
// has it, so unlocking an unlocked mutex throws goro::panic and changes
// nothing; a concurrent misuse cannot make the word inconsistent.
//
// # Deviations from Go
// - No active spinning (see No spinning).
// - No yield after a starvation handoff: unlock is not a suspension point.
//   The new owner is readied into the unlocker's runnext and runs when the
//   unlocker next suspends (or on another P, if one steals it).

#include "sync/mutex_impl.hpp"

#include "base/clock.hpp"
#include "base/fatal.hpp"
#include "sched/park.hpp"
#include "sync/resume_hook.hpp"

#include <goro/mutex.hpp>
#include <goro/panic.hpp>

namespace goro::inline GORO_ABI {

using detail::mutex_access;

namespace {

// Go's "starving = starving || waited > 1 ms", evaluated after a wake.
void update_starving(detail::mutex_waiter& w) noexcept
{
    w.starving = w.starving || detail::monotonic_ns() - w.wait_start > mutex_access::starvation_threshold_ns;
}

// After the semaphore gave `w` a unit (Go's code after semacquire): returns
// true if the mutex was handed to `w` in starvation mode, which `w` then
// holds. Otherwise `w` competes again (lock_loop reads the clock only if it
// finds the lock held: a woken waiter that takes a free lock never needs it).
bool after_wake(std::atomic<std::uint32_t>& state, detail::mutex_waiter& w) noexcept
{
    std::uint32_t old = state.load(std::memory_order_relaxed);
    if (!(old & mutex_access::starving))
        return false;
    update_starving(w);
    // Ownership was handed to us: `locked` is clear and we are still counted.
    if ((old & (mutex_access::locked | mutex_access::woken)) || (old >> mutex_access::waiter_shift) == 0)
        detail::fatal("goro::mutex: inconsistent state after a starvation handoff");
    std::uint32_t delta = mutex_access::locked - mutex_access::one_waiter;
    if (!w.starving || (old >> mutex_access::waiter_shift) == 1)
        delta -= mutex_access::starving; // leave starvation mode
    state.fetch_add(delta, std::memory_order_acquire); // acquire: pairs with unlock_slow's release CAS
    return true;
}

} // namespace

namespace detail {

bool mutex_access::lock_loop(mutex& mu, mutex_waiter& w) noexcept
{
    std::atomic<std::uint32_t>& state = mu.state_;
    bool awoke = false;
    if (w.sema_woke) {
        w.sema_woke = false;
        if (after_wake(state, w))
            return false;
        awoke = true;
    }
    bool clock_due = awoke; // `starving` not yet updated for this wake
    std::uint32_t old = state.load(std::memory_order_relaxed);
    for (;;) {
        if (clock_due && (old & locked)) {
            update_starving(w); // about to queue again: did we wait too long?
            clock_due = false;
        }
        std::uint32_t next = old;
        if (!(old & starving))
            next |= locked; // a starving mutex belongs to the front waiter: don't barge
        if (old & (locked | starving))
            next += one_waiter;
        if (w.starving && (old & locked))
            next |= starving; // only while locked: unlock expects waiters in starvation mode
        if (awoke) {
            if (!(next & woken))
                fatal("goro::mutex: inconsistent state (woken flag lost)");
            next &= ~woken;
        }
        // acq_rel: acquire when this takes the lock (pairs with unlock's release).
        if (!state.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed))
            continue;
        if (!(old & (locked | starving)))
            return false; // took the lock
        const bool front = w.wait_start != 0; // waited before: back to the front of the queue
        if (!front)
            w.wait_start = monotonic_ns();
        w.sema_woke = true; // set before parking: the waiter is not ours once queued
        w.node.parked = {&withdraw, &mu};
        if (mu.sema_.acquire_or_park(w.node, hook_handle(w.hook), wait_reason::sync_mutex, front))
            return true;
        // An unlock released a unit before we could park: we are the woken one.
        w.sema_woke = false;
        if (after_wake(state, w))
            return false;
        awoke = clock_due = true;
        old = state.load(std::memory_order_relaxed);
    }
}

bool mutex_access::withdraw(parked_on& p) noexcept
{
    mutex& mu = *static_cast<mutex*>(p.object);
    sema_waiter& node = waiter_of<sema_waiter>(p);
    if (!mu.sema_.withdraw(node))
        return false;
    waiter_of_node(node).sema_woke = false; // set before parking; no wake came
    // No longer a waiter; the last waiter to leave ends starvation mode, as
    // in after_wake.
    std::uint32_t old = mu.state_.load(std::memory_order_relaxed);
    for (;;) {
        std::uint32_t next = old - one_waiter;
        if ((next >> waiter_shift) == 0)
            next &= ~starving;
        if (mu.state_.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed))
            return true;
    }
}

void mutex_access::resume_locking(void* hook) noexcept
{
    auto& w = *static_cast<mutex_waiter*>(hook);
    if (lock_loop(*w.mu, w))
        return; // parked again
    std::coroutine_handle<> user = w.user;
    user.resume();
}

std::coroutine_handle<> mutex_access::prepare(mutex& mu, mutex_waiter& w, std::coroutine_handle<> user,
                                              void (*fn)(void*) noexcept) noexcept
{
    w.user = user;
    w.mu = &mu;
    w.wait_start = 0;
    w.starving = false;
    w.sema_woke = false;
    return arm_hook(w.hook, fn);
}

} // namespace detail

bool mutex::lock_slow(detail::mutex_waiter& w, std::coroutine_handle<> leaf, bool out_of_budget)
{
    // Prepared first: the awaiter's destructor reads `w` once lock_slow ran.
    std::coroutine_handle<> hook = mutex_access::prepare(*this, w, leaf, &mutex_access::resume_locking);
    detail::running_g("goro::mutex::lock"); // panics before the mutex changes
    if (out_of_budget) {
        detail::yield_now(hook); // compete for the lock when rescheduled
        return true;
    }
    return mutex_access::lock_loop(*this, w);
}

void mutex::abandon_wait(detail::mutex_waiter& w) noexcept
{
    w.sema_woke = false;
    if (after_wake(state_, w)) {
        unlock(); // handed to us in starvation mode: hand it on
        return;
    }
    std::uint32_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        if (!(old & mutex_access::woken))
            detail::fatal("goro::mutex: inconsistent state (woken flag lost)");
        std::uint32_t next = old & ~mutex_access::woken;
        // unlock_slow's test, now that nobody is awake.
        const bool wake = (next >> mutex_access::waiter_shift) != 0 &&
                          !(next & (mutex_access::locked | mutex_access::starving));
        if (wake)
            next = (next - mutex_access::one_waiter) | mutex_access::woken;
        // acq_rel: as unlock_slow's wake CAS.
        if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            if (wake)
                sema_.release(1);
            return;
        }
    }
}

void mutex::unlock_slow(std::uint32_t old)
{
    for (;;) { // `old` is what the failed fast-path CAS saw
        if (!(old & mutex_access::locked))
            throw panic("goro::mutex: unlock of unlocked mutex");
        // release: publishes the critical section to the next owner's acquire.
        if (state_.compare_exchange_weak(old, old - mutex_access::locked, std::memory_order_release,
                                         std::memory_order_relaxed))
            break;
    }
    old -= mutex_access::locked;
    if (old & mutex_access::starving) {
        sema_.release(1); // hand the lock to the front waiter
        return;
    }
    for (;;) {
        // Nobody to wake, or someone is already awake or has taken the lock
        // (or put the mutex in starvation mode: that chain is not ours).
        if ((old >> mutex_access::waiter_shift) == 0 ||
            (old & (mutex_access::locked | mutex_access::woken | mutex_access::starving)))
            return;
        std::uint32_t next = (old - mutex_access::one_waiter) | mutex_access::woken;
        if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            sema_.release(1);
            return;
        }
    }
}

} // namespace goro
