// Runtime timers: Go's per-P timers (runtime/time.go) on intrusive nodes.
//
// # Where timers live
// Every P has a timer_heap (timer_heap.hpp): a 4-ary min-heap of the
// runtime_timer nodes armed on it, its lock `mu`, and `earliest`, the top's
// deadline, published for lock-free peeks. arm() puts the node on the
// current P's heap; a thread without a P uses P 0's, under the same lock,
// inside an external_entry (scheduler.hpp) so the heaps cannot be freed
// under it. A node is in at most one heap; re-arming moves it.
//
// # Fields of a runtime_timer
//   when   the deadline; written under the lock of the heap it goes into,
//          read by that heap's lock holders and by the thread firing it.
//   slot   its slot in that heap's table of positions (timer_heap.hpp);
//          under the heap's lock.
//   heap   the heap that holds it, or nullptr. Written only under that
//          heap's lock (set on push, cleared on removal, pop and the end of a
//          run); read without it to find which lock to take, then re-read
//          under the lock (it may have moved or fired meanwhile).
//   firing the thread (a per-thread marker) running its fire function, or
//          nullptr. Set under the heap's lock in the same critical section
//          that pops the node, cleared by the firing thread when fire returns.
// Stores and loads of `heap` are seq_cst (the end of a run needs that, see
// below), but for the pop's clearing store, which is release: it publishes
// the `firing` mark stored before it. The clearing store of `firing` is
// release and disarm's load of it acquire.
//
// # Firing (run_timers)
// A worker runs the timers of a heap that are due: under the lock it pops
// the top, marks it firing (firing = me, then heap = nullptr), republishes
// `earliest`, unlocks, calls fire, then clears firing. So a fire runs with
// no heap lock held and may arm (a ticker re-arms itself), ready goroutines
// and send on channels. Who runs timers: every P at each schedule, its own
// heap if its earliest deadline passed (one relaxed load and, only with a
// timer armed, a clock read); a spinning P, every P's; the idle P on timer
// duty wakes at the earliest deadline over all heaps and runs them
// (scheduler.cpp, "Timers").
//
// # disarm: nothing runs after it returns
// disarm loops: unlink the node if a heap holds it (under that heap's lock;
// then the fire it prevented can never run), then, if a fire is in progress
// on another thread, wait until it returns and look again — a ticker's fire
// may have re-armed the node. It returns when the node is in no heap and no
// other thread is firing it. A load of heap == nullptr followed by a load of
// firing sees the firing mark of the pop that cleared heap (the runner stores
// firing before heap); the runner's clearing release pairs with disarm's
// acquire, so a re-arm made by fire is visible in the next look at heap.
// From inside its own fire, disarm unlinks and returns without waiting.
//
// # The end of a run
// clear_timers (from the drain, after every goroutine is gone and the
// external entries left) empties each heap and stores heap = nullptr into
// every node still in one: timers of nobody's goroutine (a goro::timer, a
// pending after) are dropped, and disarm on them later sees nullptr and
// touches nothing freed. A thread without a P that loaded a heap pointer
// does so inside an external_entry, which the drain waits for after the
// clear (entry increment and heap load against heap store and entry load,
// all seq_cst: one side sees the other).
//
// Rejected: a global heap (one lock for every arm of every P), a timer
// thread (a context switch per fire, and Go's semantics want fires on Ps),
// allocating a timer record per arm (sleep, select's after() and the
// goro::timer all already have memory of their own for the node), Go's
// lazy timers of channel-based goro::timers (nothing here is
// garbage-collected: an unreferenced timer is destroyed, and its
// destructor disarms it).

#include "sched/timer.hpp"

#include "base/cpu_relax.hpp"
#include "sched/scheduler.hpp"
#include "sched/timer_heap.hpp"

#include <mutex>
#include <sched.h>

namespace goro::inline GORO_ABI::detail {

namespace {

// A per-thread address: what `firing` holds while this thread fires a node.
GORO_NOINLINE const void* thread_mark() noexcept
{
    __attribute__((tls_model("initial-exec"))) static thread_local char mark;
    return &mark;
}

// Takes t out of the heap holding it; true if it was in one.
bool unlink(runtime_timer& t) noexcept
{
    for (;;) {
        timer_heap* h = t.heap.load(std::memory_order_seq_cst); // seq_cst: see "The end of a run"
        if (!h)
            return false;
        std::lock_guard lock(h->mu);
        if (t.heap.load(std::memory_order_relaxed) != h) // relaxed: written under h->mu, which we hold
            continue; // moved or fired meanwhile
        const bool was_top = h->position_of(t) == 0;
        h->remove(t);
        t.heap.store(nullptr, std::memory_order_seq_cst);
        if (was_top)
            h->publish();
        return true;
    }
}

bool disarm_here(runtime_timer& t) noexcept
{
    bool prevented = false;
    for (;;) {
        if (unlink(t))
            prevented = true;
        const void* f = t.firing.load(std::memory_order_acquire); // acquire: pairs with run_timers' release
        if (!f || f == thread_mark()) {
            if (!f && t.heap.load(std::memory_order_seq_cst) != nullptr)
                continue; // a fire re-armed it between our unlink and its end
            return prevented;
        }
        for (int spins = 0; t.firing.load(std::memory_order_acquire) == f; ++spins) // acquire: as above
            if (spins < 64)
                cpu_relax();
            else
                sched_yield();
    }
}

} // namespace

bool insert_timer(timer_heap& h, runtime_timer& t, std::int64_t when) noexcept
{
    std::lock_guard lock(h.mu);
    t.when = when;
    h.push(t);
    t.heap.store(&h, std::memory_order_seq_cst);
    if (h.position_of(t) != 0)
        return false;
    h.publish_lowered();
    return true;
}

std::size_t run_timers(timer_heap& h, std::int64_t now, std::size_t max) noexcept
{
    // A bounded batch (see run_timers' callers in scheduler.cpp); it also
    // ends a fire that re-arms at a deadline already past, which would
    // otherwise keep this loop going forever. The rest runs at the next check.
    const void* me = thread_mark();
    std::size_t fired = 0;
    while (fired < max) {
        runtime_timer* t;
        {
            std::lock_guard lock(h.mu);
            if (h.empty() || h.nodes.front().when > now) // the vector's copy: no miss on the node
                break;
            t = &h.pop();
            t->firing.store(me, std::memory_order_relaxed); // relaxed: published by the release store below
            t->heap.store(nullptr, std::memory_order_release); // release: pairs with disarm's load of heap
            h.publish();
            // The next node to fire is cold (a sleeper's frame, one of
            // thousands): fetch it while this one fires.
            if (!h.empty())
                __builtin_prefetch(h.top(), 1);
        }
        t->fire(*t);
        t->firing.store(nullptr, std::memory_order_release); // release: pairs with disarm's acquire
        ++fired;
    }
    return fired;
}

void clear_timers(timer_heap& h) noexcept
{
    std::lock_guard lock(h.mu);
    h.clear([](runtime_timer& t) {
        t.heap.store(nullptr, std::memory_order_seq_cst); // seq_cst: see "The end of a run"
    });
    h.publish();
}

void runtime_timer::arm(std::int64_t when_ns) noexcept
{
    if (p_state* p = current_p()) {
        unlink(*this);
        p->sched->add_timer(*p, *this, when_ns); // touches nothing of *this after the insert
        return;
    }
    if (current_drainer()) { // a run ending: its timers are dropped
        unlink(*this);
        return;
    }
    external_entry entry;
    unlink(*this);
    if (scheduler* s = entry.get(); s && !s->draining())
        s->add_timer_external(*this, when_ns);
}

bool runtime_timer::disarm() noexcept
{
    if (current_p() || current_drainer())
        return disarm_here(*this);
    external_entry entry; // keeps the heaps alive while we may hold a pointer into one
    return disarm_here(*this);
}

} // namespace goro::detail
