// goro::group: errgroup's state, shared by the group handle and each member
// goroutine (a reference each, `refs`).
//
// # Fields (group_state)
// - Immutable: `ctx` and `cancel` (with_cancel of the parent; background and
//   a no-op for a group made without one).
// - `limit`: the semaphore of set_limit (nullptr: none). Replaced only by
//   set_limit while no member runs (`members` is zero); a member reads it
//   when it ends, before its members.done(), whose release the next
//   set_limit's read of the counter (acquire) pairs with.
// - `members`: a wait_group counting members started and not ended; wait()
//   parks on it.
// - Guarded by `mu`: `failed`, `first`, `first_ex` (the first failure) and
//   `waited`. A member records its failure before its members.done(), so
//   the waiter, woken by the last done(), reads it.
//
// # Failures
// The first member to fail (an error code or an exception) records it and
// cancels the context, outside mu; later failures are dropped, as Go drops
// every error but the first. An exception is kept as an exception_ptr and
// rethrown by wait(), so its type and message reach the caller; a group
// converting it to an error code would lose both (rejected).
//
// # The limit
// A semaphore of n tokens: go() takes one before starting the member (the
// awaitable form parks for it; try_go does not), and the member gives it
// back when it ends, before members.done(). A member that could not start
// (goro::go threw) gives back its token and its count at once.

#include <goro/context.hpp>
#include <goro/detail/group_core.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/panic.hpp>
#include <goro/semaphore.hpp>
#include <goro/wait_group.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>

namespace goro::inline GORO_ABI::detail {

struct group_state {
    // --- Immutable ---
    context ctx;
    cancel_func cancel;
    // --- Shared ---
    std::atomic<std::uint32_t> refs{1};
    wait_group members;
    std::unique_ptr<semaphore> limit; // see "Fields"
    // --- Guarded by mu ---
    spinlock mu;
    bool failed = false;
    bool waited = false;
    std::error_code first;
    std::exception_ptr first_ex;
};

group_state* group_create(const context* parent)
{
    auto s = std::make_unique<group_state>();
    if (parent) {
        auto [c, cancel] = with_cancel(*parent);
        s->ctx = std::move(c);
        s->cancel = std::move(cancel);
    }
    return s.release();
}

void group_retain(group_state* s) noexcept
{
    s->refs.fetch_add(1, std::memory_order_relaxed); // relaxed: the caller holds a reference already
}

void group_release(group_state* s) noexcept
{
    // acq_rel: the release orders this holder's uses before the delete; the
    // acquire of the last holder sees all of them.
    if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
        delete s;
}

context group_context(const group_state* s) noexcept
{
    return s->ctx;
}

semaphore* group_limit(group_state* s) noexcept
{
    return s->limit.get();
}

void group_set_limit(group_state* s, int n)
{
    if (s->members.count() != 0)
        throw panic("goro::group: set_limit while goroutines of the group run");
    if (n < 0)
        s->limit.reset();
    else
        s->limit = std::make_unique<semaphore>(n);
}

void group_started(group_state* s)
{
    s->members.add(1);
}

void group_finished(group_state* s, std::error_code ec, std::exception_ptr ex, bool limited) noexcept
{
    if (ec || ex) {
        bool first = false;
        {
            std::lock_guard lk(s->mu);
            if (!s->failed) {
                s->failed = first = true;
                s->first = ec;
                s->first_ex = std::move(ex);
            }
        }
        if (first)
            s->cancel();
    }
    if (limited)
        s->limit->release(1);
    s->members.done(); // last: the waiter may run from here on
}

wait_group& group_wait_begin(group_state* s)
{
    std::lock_guard lk(s->mu);
    if (s->waited)
        throw panic("goro::group: wait called twice");
    s->waited = true;
    return s->members;
}

std::error_code group_result(group_state* s)
{
    std::error_code ec;
    std::exception_ptr ex;
    {
        std::lock_guard lk(s->mu);
        ec = s->first;
        ex = s->first_ex;
    }
    s->cancel();
    if (ex)
        std::rethrow_exception(ex);
    return ec;
}

void group_throw_zero_limit()
{
    throw panic("goro::group: go with a limit of 0 would wait forever (try_go returns false)");
}

} // namespace goro::detail
