// Channels: Go's chan.go on a goroutine-parking runtime.
//
// A channel is one allocation: hchan, then a ring of `cap` elements. hchan
// starts with chan_base, the part users' binaries compile in (the inline ABI,
// described at the top of include/goro/detail/chan_core.hpp), and adds what
// only this file touches: the element table and the reference count. One
// lock (detail::futex_lock) guards everything mutable (closed, count,
// recv_at, both queues and the waiters in them). Invariants, as in Go:
//   - At least one of recvq and sendq is empty (a sender finding a parked
//     receiver hands over instead of queueing, and vice versa).
//   - count > 0 implies recvq is empty; count < cap implies sendq is empty.
//   - A waiter is in at most one queue; `queued` says whether it is linked.
//
// Entry: the typed callers in chan.hpp take the lock and run the buffer
// branch themselves, inline (chan_core.hpp); everything else arrives here
// in the *_locked functions with the lock held, and they release it.
//
// Handoff: a sender that finds a parked receiver moves the value straight
// into the receiver's awaiter storage, unlinks it, drops the lock and readies
// it (onto this P's runnext: the receiver runs next, on the cache that holds
// the value). A receiver that finds a parked sender on a full buffered channel
// takes the oldest buffered value and moves the sender's value into the freed
// slot, keeping FIFO order; on an unbuffered channel it takes the sender's
// value directly. The waker writes the waiter's result before ready(), whose
// run-queue publish (release) pairs with the worker's pop (acquire): the
// readied goroutine sees the value. After ready() the waker never touches the
// waiter again — its frame may already be running elsewhere.
//
// Select cases are waiters with `sel` set. A waker completes one only if it
// wins the select's CAS on select_state::winner (try_win); a case whose
// select already fired is unlinked and skipped (the select unlinks its other
// cases itself, under each channel's lock, and tolerates finding them gone).
//
// Close wakes every waiter: receivers with no value (std::nullopt), senders
// with success == false (they throw goro::panic on resume). A value parked in
// a sender's awaiter is never delivered after close; it dies with the awaiter.
//
// Every operation that completes without parking spends one unit of the
// cooperative budget; when none is left the goroutine yields after completing
// the operation, so a loop over an always-ready channel cannot starve its P.
//
// Rejected: a lock-free ring for buffered channels (two CAS per element and
// still a lock for the wait queues; Go measured no win), allocating a waiter
// per park (the awaiter is already in the frame), waking parked receivers
// with the value still in the buffer (a second lock round-trip per element).

#include "chan/chan_ops.hpp"
#include "sched/park.hpp"

#include <goro/detail/chan_core.hpp>
#include <goro/panic.hpp>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>

namespace goro::inline GORO_ABI::detail {

// ---------------------------------------------------------------------------
// Wait queues: circular lists through chan_waiter::prev/next, so that a
// queue is one pointer in the inline part of the channel (`first`; its
// predecessor is the last waiter).

void wait_queue::push_back(chan_waiter& w) noexcept
{
    if (chan_waiter* head = first) {
        chan_waiter* tail = head->prev;
        w.prev = tail;
        w.next = head;
        tail->next = &w;
        head->prev = &w;
    } else {
        w.prev = w.next = &w;
        first = &w;
    }
    w.queued = true;
}

void wait_queue::remove(chan_waiter& w) noexcept
{
    if (!w.queued)
        return;
    if (w.next == &w) {
        first = nullptr;
    } else {
        w.prev->next = w.next;
        w.next->prev = w.prev;
        if (first == &w)
            first = w.next;
    }
    w.queued = false;
}

namespace {

// Claims a parked select for its case `case_index`; false if another of its
// cases already did. acq_rel: the winner's writes to the case (value,
// success) happen before select_finish's acquire load of `winner`.
bool try_win(select_state& st, std::uint32_t case_index) noexcept
{
    std::uint32_t expected = select_state::none;
    return st.winner.compare_exchange_strong(expected, case_index, std::memory_order_acq_rel,
                                             std::memory_order_acquire);
}

} // namespace

chan_waiter* wait_queue::dequeue() noexcept
{
    while (chan_waiter* w = first) {
        remove(*w);
        if (!w->sel || try_win(*w->sel, w->case_index))
            return w;
        // That select already fired on another case; it unlinks the rest itself.
    }
    return nullptr;
}

// ---------------------------------------------------------------------------
// Allocation and reference counting

namespace {

// A channel as the library allocates it: the inline part (chan_base), what
// only the library touches, then the ring.
struct hchan final : chan_base {
    hchan(const elem_ops& o, std::uint32_t capacity, unsigned char* ring) noexcept
        : chan_base(capacity, ring), ops(&o)
    {
    }

    const elem_ops* const ops;
    std::atomic<std::uint32_t> refs{1}; // handles (chan, send_chan, recv_chan)
};

hchan& lib_part(chan_base& c) noexcept { return static_cast<hchan&>(c); }

const elem_ops& ops_of(chan_base& c) noexcept { return *lib_part(c).ops; }

std::size_t alloc_align(const elem_ops& ops) noexcept
{
    return ops.align > alignof(hchan) ? ops.align : alignof(hchan);
}

// The hchan, padded to the elements' alignment, and the ring behind it.
std::size_t alloc_bytes(const elem_ops& ops, std::size_t capacity) noexcept
{
    return (sizeof(hchan) + ops.align - 1) / ops.align * ops.align + capacity * ops.size;
}

// Channels come from the P's frame cache (goroutine.hpp) like frames: a
// program that makes a channel per goroutine tree (skynet: 111,112 of them)
// then pays no malloc for them (skynet 151 -> 140 ms at 2 Ps). Over-aligned
// element types, which the cache's 16-byte alignment cannot serve, use the
// aligned operator new.
bool from_frame_cache(const elem_ops& ops) noexcept
{
    return alloc_align(ops) <= alignof(std::max_align_t);
}

} // namespace

chan_base* chan_base::create(const elem_ops& ops, std::size_t capacity)
{
    if (capacity > 0xffffffffu)
        throw std::length_error("goro::chan: capacity above 2^32 - 1 elements");
    const std::size_t bytes = alloc_bytes(ops, capacity);
    void* mem = from_frame_cache(ops) ? frame_alloc(bytes) : ::operator new(bytes, std::align_val_t(alloc_align(ops)));
    auto* buf = capacity ? static_cast<unsigned char*>(mem) + alloc_bytes(ops, 0) : nullptr;
    return ::new (mem) hchan(ops, std::uint32_t(capacity), buf);
}

void chan_base::retain() noexcept { lib_part(*this).refs.fetch_add(1, std::memory_order_relaxed); }

void chan_base::release() noexcept
{
    hchan& c = lib_part(*this);
    if (c.refs.fetch_sub(1, std::memory_order_acq_rel) != 1) // acq_rel: the last owner sees every write
        return;
    // No handle is left, so no goroutine can be parked on this channel (a
    // parked goroutine's awaiter was created from a handle in its frame).
    const elem_ops& ops = *c.ops;
    for (std::uint32_t i = 0; i < count; ++i)
        ops.destroy(ring_slot(c, i, ops.size));
    const std::size_t bytes = alloc_bytes(ops, cap);
    c.~hchan();
    if (from_frame_cache(ops))
        frame_free(&c, bytes);
    else
        ::operator delete(static_cast<void*>(&c), std::align_val_t(alloc_align(ops)));
}

namespace {

// Element moves: memcpy for trivially copyable types (fixed sizes inline),
// else the type's move constructor through elem_ops.
inline void move_elem(const elem_ops& ops, void* dst, void* src) noexcept
{
    if (!ops.trivial) {
        ops.move_construct(dst, src);
        return;
    }
    switch (ops.size) {
    case 1: std::memcpy(dst, src, 1); break;
    case 2: std::memcpy(dst, src, 2); break;
    case 4: std::memcpy(dst, src, 4); break;
    case 8: std::memcpy(dst, src, 8); break;
    case 16: std::memcpy(dst, src, 16); break;
    default: std::memcpy(dst, src, ops.size); break;
    }
}

inline void destroy_elem(const elem_ops& ops, void* p) noexcept
{
    if (!ops.trivial)
        ops.destroy(p);
}

// Moves the oldest buffered element into `out`. Lock held, count > 0.
void take_buffered(chan_base& c, void* out) noexcept
{
    const elem_ops& ops = ops_of(c);
    unsigned char* s = ring_slot(c, 0, ops.size);
    move_elem(ops, out, s);
    destroy_elem(ops, s);
    ring_pop(c);
}

// Appends `value` to the buffer. Lock held, count < cap.
void put_buffered(chan_base& c, void* value) noexcept
{
    const elem_ops& ops = ops_of(c);
    move_elem(ops, ring_push_slot(c, ops.size), value);
    ++c.count;
}

// Receives from a parked sender `s` into `out`. Lock held.
void recv_from_sender(chan_base& c, chan_waiter& s, void* out) noexcept
{
    if (c.cap == 0) {
        move_elem(ops_of(c), out, s.slot);
    } else {
        // Full buffer: the oldest element goes out, the sender's value takes
        // its slot, which becomes the newest.
        take_buffered(c, out);
        put_buffered(c, s.slot);
    }
    s.success = true;
}

} // namespace

try_status send_now(chan_base& c, void* value, goroutine*& wake) noexcept
{
    wake = nullptr;
    if (c.closed)
        return try_status::closed;
    if (chan_waiter* r = c.recvq.dequeue()) {
        move_elem(ops_of(c), r->slot, value);
        r->success = true;
        wake = r->g;
        return try_status::done;
    }
    if (c.count < c.cap) {
        put_buffered(c, value);
        return try_status::done;
    }
    return try_status::would_block;
}

try_status recv_now(chan_base& c, void* out, goroutine*& wake) noexcept
{
    wake = nullptr;
    if (chan_waiter* s = c.sendq.dequeue()) {
        recv_from_sender(c, *s, out);
        wake = s->g;
        return try_status::done;
    }
    if (c.count > 0) {
        take_buffered(c, out);
        return try_status::done;
    }
    return c.closed ? try_status::closed : try_status::would_block;
}

namespace {

// Parks the running goroutine on `q` with `w`. Lock held; its release by the
// caller publishes w, which the goroutine never touches again until readied.
// A parked plain send or receive at the end of a run (lib/sched/park.hpp).
template <wait_queue chan_base::*Queue>
bool withdraw_waiter(parked_on& p) noexcept
{
    auto& c = *static_cast<chan_base*>(p.object);
    auto& w = waiter_of<chan_waiter>(p);
    std::lock_guard lock(c.lock);
    if (!w.queued)
        return false; // a partner or close() took it
    (c.*Queue).remove(w);
    return true;
}

template <wait_queue chan_base::*Queue>
bool park_on(chan_base& c, std::unique_lock<futex_lock>& lock, chan_waiter& w, void* slot,
             std::coroutine_handle<> leaf, wait_reason why, const char* what)
{
    goroutine& g = running_g(what);
    wait_queue& q = c.*Queue;
    w.parked = {&withdraw_waiter<Queue>, &c};
    return park(g, leaf, why, &w.parked, [&] {
        w.g = &g;
        w.slot = slot;
        w.sel = nullptr;
        w.success = false;
        q.push_back(w);
        lock.unlock();
        return true;
    });
}

parked_on parked_forever{[](parked_on&) noexcept { return true; }, nullptr};

} // namespace

// ---------------------------------------------------------------------------
// Operations

bool chan_park_nil(std::coroutine_handle<> leaf, bool send)
{
    goroutine& g = running_g(send ? "goro::chan: send" : "goro::chan: receive");
    return park(g, leaf, wait_reason::chan_nil, &parked_forever, [] { return true; });
}

// The two entry points every blocking send and receive takes are flattened:
// the steps they share with select and the try forms (send_now, recv_now,
// the queue operations, park) are compiled into each, which the inliner
// declined on its own. That took about 3 ns off a channel handoff (ring at
// 2 Ps 34.8 -> 32.2 ns, chan_pingpong 53.2 -> 48.7 ns; docs/performance.md).
[[gnu::flatten]] bool chan_send_locked(chan_base& c, void* value, chan_waiter& w, std::coroutine_handle<> leaf)
{
    std::unique_lock lock(c.lock, std::adopt_lock);
    goroutine* wake;
    switch (send_now(c, value, wake)) {
    case try_status::closed:
        lock.unlock();
        throw panic("goro::chan: send on closed channel");
    case try_status::done:
        lock.unlock();
        if (wake)
            ready_here(*wake);
        w.success = true;
        return completed_here(leaf);
    case try_status::would_block: break;
    }
    return park_on<&chan_base::sendq>(c, lock, w, value, leaf, wait_reason::chan_send, "goro::chan: send");
}

[[gnu::flatten]] bool chan_recv_locked(chan_base& c, void* out, chan_waiter& w, std::coroutine_handle<> leaf)
{
    std::unique_lock lock(c.lock, std::adopt_lock);
    goroutine* wake;
    try_status st = recv_now(c, out, wake);
    if (st == try_status::would_block)
        return park_on<&chan_base::recvq>(c, lock, w, out, leaf, wait_reason::chan_recv, "goro::chan: receive");
    lock.unlock();
    if (wake)
        ready_here(*wake);
    w.success = st == try_status::done;
    return completed_here(leaf);
}

namespace {

// One non-blocking step (send_now or recv_now), the lock's release, then the
// wake.
try_status try_step_locked(chan_base& c, void* v, try_status (*step)(chan_base&, void*, goroutine*&) noexcept)
{
    goroutine* wake;
    try_status st = step(c, v, wake);
    c.lock.unlock();
    if (wake)
        ready_here(*wake);
    return st;
}

} // namespace

try_status chan_try_send_locked(chan_base& c, void* value) { return try_step_locked(c, value, send_now); }

try_status chan_try_recv_locked(chan_base& c, void* out) { return try_step_locked(c, out, recv_now); }

void chan_close(chan_base* c)
{
    if (!c)
        throw panic("goro::chan: close of nil channel");
    chan_waiter* woken = nullptr; // linked through `next`
    {
        std::lock_guard lock(c->lock);
        if (c->closed)
            throw panic("goro::chan: close of closed channel");
        c->closed = true;
        for (wait_queue* q : {&c->recvq, &c->sendq})
            while (chan_waiter* w = q->dequeue()) {
                w->success = false;
                w->next = woken;
                woken = w;
            }
    }
    while (woken) {
        chan_waiter* next = woken->next;
        goroutine* g = woken->g;
        ready_here(*g);
        woken = next;
    }
}

std::size_t chan_size(chan_base* c) noexcept
{
    return c ? std::size_t(c->count) : 0; // a snapshot, like Go's len: no lock
}

} // namespace goro::detail
