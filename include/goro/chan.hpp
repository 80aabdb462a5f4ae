// goro::chan<T>: Go's channels — make(chan T), make(chan T, n), <-, close,
// len, cap, chan<- T and <-chan T.
#pragma once

#include <goro/config.hpp>
#include <goro/detail/chan_core.hpp>
#include <goro/detail/sched.hpp>
#include <goro/panic.hpp>

#include <coroutine>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace goro::inline GORO_ABI {

template <class T>
class send_chan;
template <class T>
class recv_chan;

namespace detail {

/// One counted reference to a channel's shared state (nullptr: nil channel).
class chan_ref {
public:
    chan_ref() noexcept = default;
    explicit chan_ref(chan_base* c) noexcept : c_(c) {}
    chan_ref(const chan_ref& o) noexcept : c_(o.c_)
    {
        if (c_)
            c_->retain();
    }
    chan_ref(chan_ref&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    chan_ref& operator=(chan_ref o) noexcept
    {
        std::swap(c_, o.c_);
        return *this;
    }
    ~chan_ref()
    {
        if (c_)
            c_->release();
    }
    chan_base* get() const noexcept { return c_; }

private:
    chan_base* c_ = nullptr;
};

// The channel operations' shared shape. A non-nil channel is locked inline
// and its buffer branch (chan_core.hpp) tried with the element type known;
// on a miss the still-locked channel goes to the library's *_locked
// function, which handles every case and unlocks: one lock round trip per
// operation either way.
//
// The awaiters' contract, on which every wrapper that composes them relies
// (a timeout, a select with timers):
//   - await_ready takes no lock and has no effect; it is always false. A
//     wrapper may call it, do anything else (operate on the same channel,
//     take other locks), then call await_suspend, or never call it.
//   - await_suspend performs the whole operation. It returns false when the
//     operation completed without parking (resume now; the completion spent
//     one unit of the cooperative budget), true when the goroutine parked or,
//     with no budget left, yielded after completing it. It holds no lock
//     when it returns. A nil channel parks forever.
//   - await_resume reports the outcome; it runs only after await_suspend.
// Reporting "not ready" for an operation that then completes at once costs
// the coroutine a store of its resume point before await_suspend, which the
// compiler inlines; alternating runs against the former design, which
// completed the buffered case in await_ready, measured no slowdown. That
// design returned from await_ready holding the lock on a miss, so that
// await_suspend could hand the locked channel on: a wrapper that did
// anything with the channel between the two calls deadlocked on that lock.

template <class BufferStep, class LockedOp>
bool chan_await_suspend(chan_base* c, chan_waiter& w, std::coroutine_handle<> leaf, bool send,
                        BufferStep buffer_step, LockedOp locked_op)
{
    if (!c)
        return chan_park_nil(leaf, send);
    c->lock.lock();
    if (!buffer_step(*c))
        return locked_op(*c); // unlocks
    c->lock.unlock();
    w.success = true;
    return completed(leaf);
}

/// try_send / try_recv: the buffer branch, else the library's locked form.
template <class BufferStep, class LockedTry>
try_status chan_try(chan_base* c, BufferStep buffer_step, LockedTry locked_try)
{
    if (!c)
        return try_status::would_block;
    c->lock.lock();
    if (!buffer_step(*c))
        return locked_try(*c); // unlocks
    c->lock.unlock();
    return try_status::done;
}

template <class T>
struct [[nodiscard]] send_awaiter {
    chan_base* c;
    T value;
    chan_waiter w; // w.success: written by whoever completes the send

    send_awaiter(chan_base* ch, T&& v) noexcept : c(ch), value(std::move(v)) {}
    send_awaiter(send_awaiter&& o) noexcept : c(o.c), value(std::move(o.value)) {} // only before use

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> leaf)
    {
        return chan_await_suspend(
            c, w, leaf, true, [this](chan_base& ch) noexcept { return buffered_send_locked(ch, value); },
            [this, leaf](chan_base& ch) { return chan_send_locked(ch, &value, w, leaf); });
    }
    void await_resume() const
    {
        if (!w.success)
            throw panic("goro::chan: send on closed channel");
    }
};

template <class T>
struct [[nodiscard]] recv_awaiter {
    chan_base* c;
    chan_waiter w; // w.success: written by whoever completes the receive
    alignas(T) unsigned char storage[sizeof(T)];

    explicit recv_awaiter(chan_base* ch) noexcept : c(ch) { w.success = false; }
    recv_awaiter(recv_awaiter&& o) noexcept : c(o.c) { w.success = false; } // only before use: nothing queued, no value yet
    recv_awaiter& operator=(recv_awaiter&&) = delete;
    /// A value delivered but never taken (the goroutine was destroyed at the
    /// end of its run before it resumed) dies here.
    ~recv_awaiter()
    {
        if constexpr (!std::is_trivially_destructible_v<T>)
            if (w.success)
                std::launder(reinterpret_cast<T*>(storage))->~T();
    }

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> leaf)
    {
        return chan_await_suspend(
            c, w, leaf, false, [this](chan_base& ch) noexcept { return buffered_recv_locked<T>(ch, storage); },
            [this, leaf](chan_base& ch) { return chan_recv_locked(ch, storage, w, leaf); });
    }
    std::optional<T> await_resume() noexcept(std::is_nothrow_move_constructible_v<T>)
    {
        if (!w.success)
            return std::nullopt;
        w.success = false; // taken: the destructor leaves storage alone
        T* v = std::launder(reinterpret_cast<T*>(storage));
        std::optional<T> out(std::move(*v));
        v->~T();
        return out;
    }
};

template <class T>
bool try_send_copy(chan_base* c, T&& v)
{
    const try_status st = chan_try(
        c, [&](chan_base& ch) noexcept { return buffered_send_locked(ch, v); },
        [&](chan_base& ch) { return chan_try_send_locked(ch, std::addressof(v)); });
    if (st == try_status::closed)
        throw panic("goro::chan: send on closed channel");
    return st == try_status::done;
}

template <class T>
std::optional<T> try_recv_value(chan_base* c, bool* closed)
{
    alignas(T) unsigned char storage[sizeof(T)];
    const try_status st = chan_try(
        c, [&](chan_base& ch) noexcept { return buffered_recv_locked<T>(ch, storage); },
        [&](chan_base& ch) { return chan_try_recv_locked(ch, storage); });
    if (closed)
        *closed = st == try_status::closed;
    if (st != try_status::done)
        return std::nullopt;
    T* v = std::launder(reinterpret_cast<T*>(storage));
    std::optional<T> out(std::move(*v));
    v->~T();
    return out;
}

} // namespace detail

/// A channel of T: Go's `chan T`. A shared handle — copies refer to the same
/// channel, like copies of a Go channel value; the channel lives until its
/// last handle is gone (buffered values still in it are destroyed then).
///
/// - `goro::chan<T> ch;` is a nil channel (Go's zero value): send and receive
///   on it park the goroutine forever, close() throws goro::panic. A nil
///   channel in a select is a case that never fires.
/// - `goro::chan<T> ch(0)` is `make(chan T)` (unbuffered: a send completes
///   only when a receiver takes the value); `goro::chan<T> ch(n)` is
///   `make(chan T, n)`.
/// - All operations may be called from any goroutine on any P; try_send,
///   try_recv, close, size and capacity also from threads outside the runtime.
/// - T must be nothrow-move-constructible: values are moved under the
///   channel's lock. Move-only T works.
template <class T>
class chan {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_nothrow_move_constructible_v<T>,
                  "goro::chan<T> needs an object type T that is nothrow-move-constructible");

public:
    using value_type = T;

    /// A nil channel.
    chan() noexcept = default;
    /// make(chan T, capacity); 0 is unbuffered. Throws std::bad_alloc, or
    /// std::length_error past 2^32 - 1 elements.
    explicit chan(std::size_t capacity) : ref_(detail::chan_base::create(detail::elem_ops_for<T>, capacity)) {}

    /// `co_await ch.send(v)`: Go's `ch <- v`. Completes without suspending when
    /// a receiver is parked (the value goes straight to it, and it becomes
    /// runnable next on this P) or the buffer has room; otherwise parks until a
    /// receiver takes the value. Resumes on the P of the goroutine that took
    /// it. Throws goro::panic("goro::chan: send on closed channel") if the
    /// channel is closed, or gets closed while the sender is parked (the value
    /// is then destroyed with the awaiter, never delivered).
    detail::send_awaiter<T> send(T value) const noexcept(std::is_nothrow_move_constructible_v<T>)
    {
        return {ref_.get(), std::move(value)};
    }

    /// `co_await ch.recv()`: Go's `v, ok := <-ch`. Returns the oldest value, or
    /// std::nullopt once the channel is closed and drained. Completes without
    /// suspending when a value is buffered or a sender is parked; otherwise
    /// parks until a sender or close() arrives, and resumes on its P.
    /// `while (auto v = co_await ch.recv())` is `for v := range ch`.
    detail::recv_awaiter<T> recv() const noexcept { return detail::recv_awaiter<T>(ref_.get()); }

    /// Sends without blocking: true if a receiver took the value or it was
    /// buffered (then `v` is moved from); false if the send would block (`v`
    /// untouched). Throws goro::panic on a closed channel.
    bool try_send(T&& v) const { return detail::try_send_copy(ref_.get(), std::move(v)); }
    bool try_send(const T& v) const
    {
        T copy(v);
        return detail::try_send_copy(ref_.get(), std::move(copy));
    }

    /// Receives without blocking: a value if one is buffered or a sender is
    /// parked, else std::nullopt. The second form also reports whether the
    /// channel is closed and drained (nothing will ever arrive).
    std::optional<T> try_recv() const { return detail::try_recv_value<T>(ref_.get(), nullptr); }
    std::optional<T> try_recv(bool& closed) const { return detail::try_recv_value<T>(ref_.get(), &closed); }

    /// Go's close(ch): receivers drain the buffer, then get std::nullopt;
    /// parked senders wake with goro::panic. Never suspends. Throws
    /// goro::panic on a closed or nil channel.
    void close() const { detail::chan_close(ref_.get()); }

    /// len(ch): buffered values (a snapshot); 0 for nil.
    std::size_t size() const noexcept { return detail::chan_size(ref_.get()); }
    /// cap(ch); 0 for nil and unbuffered.
    std::size_t capacity() const noexcept { return ref_.get() ? ref_.get()->cap : 0; }

    /// True unless nil.
    explicit operator bool() const noexcept { return ref_.get() != nullptr; }
    friend bool operator==(const chan& a, const chan& b) noexcept { return a.ref_.get() == b.ref_.get(); }

private:
    detail::chan_ref ref_;
};

/// Go's `chan<- T`: the send half of a chan<T>; converts implicitly from it.
template <class T>
class send_chan {
public:
    using value_type = T;
    send_chan() noexcept = default;
    send_chan(const chan<T>& c) noexcept : ch_(c) {}

    detail::send_awaiter<T> send(T value) const { return ch_.send(std::move(value)); }
    bool try_send(T&& v) const { return ch_.try_send(std::move(v)); }
    bool try_send(const T& v) const { return ch_.try_send(v); }
    void close() const { ch_.close(); }
    std::size_t size() const noexcept { return ch_.size(); }
    std::size_t capacity() const noexcept { return ch_.capacity(); }
    explicit operator bool() const noexcept { return static_cast<bool>(ch_); }

private:
    chan<T> ch_;
};

/// Go's `<-chan T`: the receive half of a chan<T>; converts implicitly from it.
template <class T>
class recv_chan {
public:
    using value_type = T;
    recv_chan() noexcept = default;
    recv_chan(const chan<T>& c) noexcept : ch_(c) {}

    detail::recv_awaiter<T> recv() const noexcept { return ch_.recv(); }
    std::optional<T> try_recv() const { return ch_.try_recv(); }
    std::optional<T> try_recv(bool& closed) const { return ch_.try_recv(closed); }
    std::size_t size() const noexcept { return ch_.size(); }
    std::size_t capacity() const noexcept { return ch_.capacity(); }
    explicit operator bool() const noexcept { return static_cast<bool>(ch_); }

private:
    chan<T> ch_;
};

} // namespace goro
