// The part of a channel that users' binaries compile in: its inline ABI.
//
// chan.hpp runs the buffered send and receive in the caller, under the
// channel's lock, with the element type known. That is the measured fast
// path (docs/performance.md, "Buffered MPMC: what it took": with a call
// into the library per operation and the element moved through elem_ops, an
// uncontended send and receive cost 26-41 ns, against 6-8 ns inline); every
// other step is a call into the library. A binary built against this
// header therefore depends on exactly this:
//   - chan_base's fields, all of which the buffer branch reads or writes:
//     lock, closed, count, recv_at, cap, buf, and each wait_queue's `first`
//     (is a partner parked?); capacity() reads cap. futex_lock's inline
//     lock and unlock come with `lock` (futex_lock.hpp).
//   - the ring arithmetic (ring_slot, ring_push_slot, ring_pop).
//   - the size and alignment of chan_waiter and select_state, which the
//     awaiters embed by value so that waiting allocates nothing. Their
//     fields are the library's, except chan_waiter::success (written by the
//     inline branch, read by await_resume and by a receive awaiter's
//     destructor) and select_state's initial value.
//   - elem_ops, which a binary builds for each element type for the library
//     to move and destroy elements it only knows as bytes.
//   - the GORO_API functions' signatures, and select.hpp's select_case.
// The rest of a channel (its elem_ops pointer and reference count) and every
// algorithm on the wait queues are the library's (hchan and the queue
// operations in lib/chan/chan.cpp) and may change freely. Changing anything
// listed above changes the ABI. The channel's algorithm and invariants are
// at the top of lib/chan/chan.cpp.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/futex_lock.hpp>
#include <goro/detail/goroutine.hpp>
#include <goro/detail/sched.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace goro::inline GORO_ABI::detail {

/// How the library moves and destroys elements it only knows as bytes.
struct elem_ops {
    std::size_t size;
    std::size_t align;
    /// Trivially copyable: moved by memcpy, nothing to destroy.
    bool trivial;
    /// Constructs *dst from std::move(*src); *src stays alive (moved-from).
    void (*move_construct)(void* dst, void* src) noexcept;
    void (*destroy)(void* p) noexcept;
};

template <class T>
inline constexpr elem_ops elem_ops_for{
    sizeof(T),
    alignof(T),
    std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
    [](void* dst, void* src) noexcept { ::new (dst) T(std::move(*static_cast<T*>(src))); },
    [](void* p) noexcept { static_cast<T*>(p)->~T(); },
};

/// The state a parked select shares among its cases; the protocol on it
/// (the first to claim `winner` owns the outcome) is the library's.
struct select_state {
    static constexpr std::uint32_t none = 0xffffffffu;
    /// Claimed by the end of a run, which destroys the select unfinished.
    static constexpr std::uint32_t withdrawn = 0xfffffffeu;
    std::atomic<std::uint32_t> winner{none};
};

/// A channel field written only under the channel's lock but also read
/// without it, as a hint (select's lock-free pre-scan, chan_size): relaxed
/// atomic loads and stores, which compile to plain moves. Read-modify-write
/// happens under the lock only, so it need not be atomic.
template <class T>
class lock_written {
public:
    constexpr lock_written(T v) noexcept : v_(v) {}
    operator T() const noexcept { return v_.load(std::memory_order_relaxed); }
    lock_written& operator=(T v) noexcept
    {
        v_.store(v, std::memory_order_relaxed);
        return *this;
    }
    lock_written& operator++() noexcept { return *this = T(*this + 1); } // lock held
    lock_written& operator--() noexcept { return *this = T(*this - 1); } // lock held

private:
    std::atomic<T> v_;
};

/// A goroutine parked on a channel (Go's sudog). It lives in the awaiter, so
/// in the parked goroutine's frame: waiting allocates nothing. Every field is
/// guarded by the lock of the channel whose queue holds it, until a waker
/// dequeues it; from then on only the waker writes it, and the goroutine reads
/// it after being readied. No field has an initializer: an operation that
/// completes on the inline fast path never touches its waiter but for
/// `success`, and whoever queues one (park_on, select_start) first sets every
/// field that will be read (case_index only matters when `sel` is set).
struct chan_waiter {
    /// The record detail::park publishes (object: the channel; select cases
    /// use the select's record instead).
    parked_on parked;
    chan_waiter* prev;
    chan_waiter* next;
    goroutine* g;
    /// send: the value to move from; recv: uninitialized storage to construct into.
    void* slot;
    /// A select case's shared state, or nullptr for a plain send/recv.
    select_state* sel;
    std::uint16_t case_index;
    bool queued;
    /// True if the value moved (recv: a value arrived), false if the channel
    /// was closed. Written by whoever completes the operation.
    bool success;
};

/// The waiters parked on one side of a channel, in arrival order. Guarded by
/// the channel's lock; `first` is also read without it, as a hint. The
/// operations are the library's own (not exported; lib/chan/chan.cpp).
struct wait_queue {
    lock_written<chan_waiter*> first = nullptr;

    bool empty() const noexcept { return first == nullptr; }
    void push_back(chan_waiter& w) noexcept;
    /// Unlinks `w` if it is queued (idempotent).
    void remove(chan_waiter& w) noexcept;
    /// Unlinks and returns the first waiter that may be completed: a plain
    /// waiter, or a select case that wins its select. nullptr if none.
    chan_waiter* dequeue() noexcept;
};

/// The inline part of a channel (Go's hchan). The library allocates it at
/// the head of its own hchan, with the ring behind.
class chan_base {
public:
    /// Allocates a channel of `capacity` elements (0: unbuffered).
    GORO_API static chan_base* create(const elem_ops& ops, std::size_t capacity);

    GORO_API void retain() noexcept;
    GORO_API void release() noexcept;

    // --- Immutable after create ---
    std::uint32_t cap;  // elements the ring holds; 0: unbuffered
    unsigned char* buf; // the ring; nullptr when cap == 0

    // --- Guarded by lock ---
    futex_lock lock;
    // closed, count and both queues' `first` are read without the lock too,
    // as hints (lock_written); recv_at only under it.
    lock_written<bool> closed = false;
    lock_written<std::uint32_t> count = 0; // buffered elements
    std::uint32_t recv_at = 0;             // slot of the oldest buffered element
    wait_queue recvq;
    wait_queue sendq;

protected:
    chan_base(std::uint32_t capacity, unsigned char* ring) noexcept : cap(capacity), buf(ring) {}
    ~chan_base() = default;
};

// The ring, written once for the inline branches below and the library.
// `c.lock` held. The `count` buffered elements, oldest first, occupy the
// slots from recv_at on, wrapping at cap; slot s is at buf + s * elem_size.

/// The slot of the buffer's i-th oldest element; i == count is the slot the
/// next push goes to (then count < cap).
inline unsigned char* ring_slot(const chan_base& c, std::uint32_t i, std::size_t elem_size) noexcept
{
    std::size_t s = std::size_t(c.recv_at) + i; // not 32-bit: recv_at + i may pass 2^32 - 1
    if (s >= c.cap)
        s -= c.cap;
    return c.buf + s * elem_size;
}

/// Where the next push goes; count < cap. The pusher constructs the element
/// there, then increments count.
inline unsigned char* ring_push_slot(const chan_base& c, std::size_t elem_size) noexcept
{
    return ring_slot(c, c.count, elem_size);
}

/// Drops the oldest element from the ring once it was moved out of
/// ring_slot(c, 0, ...) and destroyed; count > 0.
inline void ring_pop(chan_base& c) noexcept
{
    c.recv_at = c.recv_at + 1 == c.cap ? 0 : c.recv_at + 1;
    --c.count;
}

// Every operation on a non-nil channel takes its lock inline, in the caller,
// and first tries the buffer branch of the library's send_now / recv_now
// with the element type known (the library only sees bytes): send when the
// channel is open, no receiver is parked and the buffer has room; receive
// when a value is buffered and no sender is parked (a parked sender means
// the library must refill the slot). An unbuffered channel never has room
// or a buffered value, so it always falls through. If the branch does not
// apply, the caller hands the channel, still locked, to the library's
// *_locked function, which handles every case and releases the lock: one
// lock round trip per operation either way.

/// The inline buffer branch of a send; `c.lock` held. On true `value` was
/// moved into the buffer; on false nothing was touched.
template <class T>
bool buffered_send_locked(chan_base& c, T& value) noexcept
{
    if (c.closed || !c.recvq.empty() || c.count >= c.cap)
        return false;
    ::new (static_cast<void*>(ring_push_slot(c, sizeof(T)))) T(std::move(value));
    ++c.count;
    return true;
}

/// The inline buffer branch of a receive; `c.lock` held. On true `out` holds
/// a T constructed from the oldest buffered value; on false nothing was
/// touched.
template <class T>
bool buffered_recv_locked(chan_base& c, void* out) noexcept
{
    if (c.count == 0 || !c.sendq.empty())
        return false;
    T* v = std::launder(reinterpret_cast<T*>(ring_slot(c, 0, sizeof(T))));
    ::new (out) T(std::move(*v));
    v->~T();
    ring_pop(c);
    return true;
}

// Blocking operations, called from await_suspend with `c.lock` held (taken
// there, and the buffer branch found not to apply); they release it. Each
// returns false when the operation completed without parking (the caller
// resumes at once) and true when the goroutine parked (or yielded because
// its budget ran out, the operation already done).
GORO_API bool chan_send_locked(chan_base& c, void* value, chan_waiter& w, std::coroutine_handle<> leaf);
GORO_API bool chan_recv_locked(chan_base& c, void* out, chan_waiter& w, std::coroutine_handle<> leaf);
/// A send (`send`) or receive on a nil channel: parks the goroutine forever.
GORO_API bool chan_park_nil(std::coroutine_handle<> leaf, bool send);

enum class try_status : std::uint8_t { done, would_block, closed };

/// The non-blocking forms, `c.lock` held on entry; they release it.
GORO_API try_status chan_try_send_locked(chan_base& c, void* value);
GORO_API try_status chan_try_recv_locked(chan_base& c, void* out);
GORO_API void chan_close(chan_base* c);
GORO_API std::size_t chan_size(chan_base* c) noexcept;

} // namespace goro::detail
