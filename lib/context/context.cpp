// goro::context: Go's cancelCtx and timerCtx as one refcounted node in a
// tree of contexts.
//
// # Fields (context_state)
// - Immutable after context_child: `parent` (holds a reference on it;
//   nullptr for a child of background), `deadline` (the earlier of its own
//   and the parent's, INT64_MAX for none), `has_timer` (its own deadline is
//   earlier than the parent's, so it needs a timer of its own).
// - `refs`: the handles (context, cancel_func, done_case) and each child.
// - Guarded by `mu`: `first_child` and `children` (the children not yet
//   cancelled, an intrusive list through their `prev`/`next`), and the
//   writes of `err` and `done`. `err` is also read without the lock
//   (acquire, pairing with the release store under mu), and so is `done`
//   (the fast path of context_done).
// - Guarded by the parent's `mu`: `prev`, `next`, `linked` (whether it is in
//   the parent's list).
// - Guarded by `mu`: `first_hook`, the hooks registered and not yet run.
//
// # Cancelling (cancel_tree)
// Go's cancelCtx.cancel: under the node's lock, if err is empty, set it,
// close the done channel (every waiter wakes; later receives complete at
// once), then cancel each child while still holding the lock, and empty the
// list. Locks are taken parent before child, never the other way, so a
// cancel running down the tree and another one running down a subtree
// cannot deadlock; a child leaving its parent takes only the parent's lock,
// after releasing its own. Whoever cancels a node that was not yet
// cancelled (its cancel function, its timer's fire, or a parent's cancel)
// unlinks it from its parent: the first two by taking the parent's lock
// afterwards, the last while iterating. So a parent keeps no record of a
// cancelled child: 100,000 short-lived children leave nothing behind.
//
// # Hooks (goro/detail/context_hook.hpp)
// Go's context.AfterFunc, internal: an operation in flight (goro::fs on
// io_uring) registers an intrusive node whose function cancels it. The node
// is on a second list of the context, beside its children, under `mu`.
// cancel_tree, still holding `mu`, unlinks each hook, sets its `fired` and
// runs its function; so a registrant's removal, which takes `mu`, either
// finds the node linked (the function never runs) or finds it gone, and
// then the function has returned: it never touches an awaiter that is gone,
// without a flag or a wait of its own. The price is that the function runs
// under the context's lock (and under those of the ancestors a cancel came
// down from): it must only flag and poke, never block or take a context's
// lock. ring_op::cancel qualifies (it queues a key and rings a doorbell, or
// preps an SQE on its own P). A context already cancelled refuses a
// registration (context_hook_add returns its error), so a hook never waits
// on a context that will not be cancelled again. A hook is registered on
// the context itself, not as a child, since it needs no node of the tree:
// an ancestor's cancel reaches it through the context's own cancel_tree.
//
// # The deadline's timer
// A node with `has_timer` embeds a runtime_timer armed for `deadline`
// (goro/detail/timer.hpp): no goroutine and no thread per deadline. Its
// fire cancels the node with deadline_exceeded. The timer's contract is that
// arm and disarm of a node are never concurrent, and that disarm waits for a
// fire in progress elsewhere; so:
// - arm runs once, in context_child, under the node's lock and only if err
//   is still empty;
// - whoever sets err (other than the fire itself) disarms, after releasing
//   the node's lock: a fire in progress then takes the lock, finds err set
//   and returns without needing any other lock, so the wait is short and
//   cannot deadlock (a parent's cancel disarms a child's timer while holding
//   the parent's lock, which the fire of a child already cancelled never
//   takes);
// - the last release disarms again before freeing, after taking the
//   parent's lock once, which orders it after a parent's cancel that may be
//   disarming this node under that lock.
// A fire that sets err then takes the parent's lock to leave it; the
// parent is alive because this node's reference on it is dropped only after
// that disarm.
//
// # Lifetime
// The last reference (context_release) unlinks the node from its parent,
// disarms its timer, drops its done channel and its reference on the
// parent. A node with children is referenced by them, so it has none when
// it goes. No reference is ever dropped while a context lock is held.
//
// # The end of a run
// Timers are dropped then: a deadline still pending never fires, and a
// disarm afterwards touches nothing of the finished run. Goroutines parked
// on a done channel are withdrawn and destroyed like any channel waiter; the
// done_case they were awaiting releases its reference. Nothing else of a
// context belongs to a run.
//
// Rejected: a goroutine or a thread per deadline (a context per request
// would cost one); a done channel made up front (an allocation for every
// context, when many are only ever asked err() or passed on); Go's shared closed channel for a context
// cancelled before done() (a process-wide static whose destruction order
// would have to be managed; the lazily made channel is closed at once
// instead); cancelling children outside the parent's lock (a child freed
// meanwhile would need a try-retain per child).

#include "base/clock.hpp"
#include "context/inspect.hpp"
#include "sched/timer.hpp"

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/detail/context_hook.hpp>
#include <goro/detail/futex_lock.hpp>
#include <goro/errc.hpp>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string>

namespace goro::inline GORO_ABI {

namespace {

class goro_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "goro"; }
    std::string message(int e) const override
    {
        switch (static_cast<errc>(e)) {
        case errc::canceled: return "context canceled";
        case errc::deadline_exceeded: return "context deadline exceeded";
        }
        return "unknown goro error";
    }
    bool equivalent(int e, const std::error_condition& cond) const noexcept override
    {
        switch (static_cast<errc>(e)) {
        case errc::canceled: return cond == std::errc::operation_canceled;
        case errc::deadline_exceeded: return cond == std::errc::timed_out;
        }
        return false;
    }
};

} // namespace

const std::error_category& error_category() noexcept
{
    static const goro_category category;
    return category;
}

namespace detail {

struct context_state {
    context_state(context_state* p, std::int64_t d, bool timer, runtime_timer::fire_fn f) noexcept
        : parent(p), deadline(d), has_timer(timer), node(f)
    {
    }

    // --- Immutable ---
    context_state* parent;
    std::int64_t deadline;
    bool has_timer;
    // --- Shared ---
    std::atomic<std::uint32_t> refs{1};
    futex_lock mu;
    std::atomic<int> err{0};                 // written under mu
    std::atomic<chan_base*> done{nullptr};   // written under mu; owns one reference
    // --- Guarded by mu ---
    context_state* first_child = nullptr;
    std::size_t children = 0;
    context_hook* first_hook = nullptr;
    // --- Guarded by parent->mu ---
    context_state* prev = nullptr;
    context_state* next = nullptr;
    bool linked = false;
    // --- The deadline (has_timer only) ---
    runtime_timer node;
};

namespace {

void fire(runtime_timer& t) noexcept;

// Unlinks s from its parent's list (parent->mu held).
void unlink_locked(context_state& s) noexcept
{
    context_state& p = *s.parent;
    if (s.prev)
        s.prev->next = s.next;
    else
        p.first_child = s.next;
    if (s.next)
        s.next->prev = s.prev;
    s.prev = s.next = nullptr;
    s.linked = false;
    --p.children;
}

void leave_parent(context_state& s) noexcept
{
    if (!s.parent)
        return;
    std::lock_guard lk(s.parent->mu);
    if (s.linked)
        unlink_locked(s);
}

// Cancels s and its subtree with `e`, if s is not cancelled yet. The caller
// holds the locks of s's ancestors down to its parent, or none. Returns
// whether this call cancelled s. Disarms s's timer if `disarm` (not from
// its own fire, nor before it was armed).
bool cancel_tree(context_state& s, int e, bool disarm) noexcept
{
    {
        std::lock_guard lk(s.mu);
        if (s.err.load(std::memory_order_relaxed) != 0) // relaxed: written under mu, which we hold
            return false;
        s.err.store(e, std::memory_order_release); // release: pairs with context_err's acquire
        if (chan_base* d = s.done.load(std::memory_order_relaxed)) // relaxed: written under mu
            chan_close(d); // never closed before: only a first cancel gets here
        context_state* c = s.first_child;
        while (c) {
            context_state* next = c->next;
            c->prev = c->next = nullptr;
            c->linked = false;
            cancel_tree(*c, e, true);
            c = next;
        }
        s.first_child = nullptr;
        s.children = 0;
        context_hook* h = s.first_hook;
        s.first_hook = nullptr;
        while (h) {
            context_hook* next = h->next;
            h->prev = h->next = nullptr;
            h->linked = false;
            h->fired = true;
            h->fn(*h); // under mu: context_hook_remove waits for it by taking mu
            h = next;
        }
    }
    if (s.has_timer && disarm)
        s.node.disarm();
    return true;
}

void fire(runtime_timer& t) noexcept
{
    context_state& s = timer_owner<context_state>(t);
    if (cancel_tree(s, int(errc::deadline_exceeded), false))
        leave_parent(s);
}

} // namespace

void context_retain(context_state* s) noexcept
{
    s->refs.fetch_add(1, std::memory_order_relaxed); // relaxed: the caller holds a reference already
}

void context_release(context_state* s) noexcept
{
    // acq_rel: the release orders this holder's uses before the free; the
    // acquire of the last one sees every other holder's. A loop, not
    // recursion, up a chain of ancestors each losing its last reference.
    while (s && s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        leave_parent(*s); // also orders a parent's cancel that disarmed s before the disarm below
        if (s->has_timer)
            s->node.disarm(); // waits for a fire in progress; the parent is still referenced
        if (chan_base* d = s->done.load(std::memory_order_relaxed)) // relaxed: last reference
            d->release();
        context_state* parent = s->parent;
        delete s;
        s = parent;
    }
}

int context_err(const context_state* s) noexcept
{
    return s->err.load(std::memory_order_acquire); // acquire: pairs with cancel_tree's release
}

std::int64_t context_deadline(const context_state* s) noexcept
{
    return s->deadline;
}

chan_base* context_done(context_state* s)
{
    if (chan_base* d = s->done.load(std::memory_order_acquire)) // acquire: pairs with the release below
        return d;
    std::lock_guard lk(s->mu);
    chan_base* d = s->done.load(std::memory_order_relaxed); // relaxed: written under mu
    if (!d) {
        d = chan_base::create(elem_ops_for<done_token>, 0);
        if (s->err.load(std::memory_order_relaxed) != 0) // relaxed: written under mu
            chan_close(d);
        s->done.store(d, std::memory_order_release); // release: the channel's construction, for the fast path
    }
    return d;
}

context_state* context_child(context_state* parent, std::int64_t deadline_ns)
{
    const std::int64_t inherited = parent ? parent->deadline : INT64_MAX;
    auto* s = new context_state(parent, std::min(deadline_ns, inherited), deadline_ns < inherited, &fire);
    if (parent) {
        context_retain(parent);
        std::unique_lock lk(parent->mu);
        if (const int e = parent->err.load(std::memory_order_relaxed)) { // relaxed: written under mu
            lk.unlock();
            s->err.store(e, std::memory_order_relaxed); // relaxed: nobody else sees s yet
            return s;                                   // born cancelled: no link, no timer
        }
        s->next = parent->first_child;
        if (s->next)
            s->next->prev = s;
        parent->first_child = s;
        s->linked = true;
        ++parent->children;
    }
    if (s->has_timer) {
        if (s->deadline <= monotonic_ns()) {
            if (cancel_tree(*s, int(errc::deadline_exceeded), false)) // never armed: nothing to disarm
                leave_parent(*s);
            return s;
        }
        std::lock_guard lk(s->mu);
        if (s->err.load(std::memory_order_relaxed) == 0) // relaxed: written under mu
            s->node.arm(s->deadline);
    }
    return s;
}

void context_cancel(context_state* s) noexcept
{
    if (cancel_tree(*s, int(errc::canceled), true))
        leave_parent(*s);
}

int context_hook_add(context_state* s, context_hook& h) noexcept
{
    std::lock_guard lk(s->mu);
    if (const int e = s->err.load(std::memory_order_relaxed)) // relaxed: written under mu, which we hold
        return e;
    h.prev = nullptr;
    h.next = s->first_hook;
    if (h.next)
        h.next->prev = &h;
    s->first_hook = &h;
    h.linked = true;
    h.fired = false;
    return 0;
}

void context_hook_remove(context_state* s, context_hook& h) noexcept
{
    std::lock_guard lk(s->mu); // a cancel running h.fn holds it: this waits for the call to return
    if (!h.linked)
        return;
    if (h.prev)
        h.prev->next = h.next;
    else
        s->first_hook = h.next;
    if (h.next)
        h.next->prev = h.prev;
    h.prev = h.next = nullptr;
    h.linked = false;
}

std::size_t context_children(const context& c) noexcept
{
    context_state* s = context_access::state(c);
    if (!s)
        return 0;
    std::lock_guard lk(s->mu);
    return s->children;
}

} // namespace detail

} // namespace goro
