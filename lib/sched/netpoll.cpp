#include <goro/config.hpp>
#include "sched/netpoll.hpp"

#include "base/fatal.hpp"
#include "sched/io.hpp"

#include <mutex>

namespace goro::inline GORO_ABI::detail {

void p_netpoll::start(const netpoll_choice& choice, unsigned sq_entries, shared_epoll* epoll_set)
{
    poller_.emplace(choice, sq_entries, epoll_set);
    wakeable_.store(&*poller_, std::memory_order_release); // release: pairs with wake()'s acquire
    sending_ = true;
}

void p_netpoll::request_cancel(std::uint64_t key)
{
    {
        std::lock_guard lock(cancels_mu_);
        cancels_.push_back(key);
        // relaxed: the lock orders the vector; the flag only tells the owner
        // to look, and the wake below makes sure it does.
        cancels_pending_.store(true, std::memory_order_relaxed);
    }
    wake();
}

void p_netpoll::submit_cancels()
{
    if (!cancels_pending_.load(std::memory_order_relaxed)) // relaxed: a hint; request_cancel's wake follows its push
        return;
    {
        std::lock_guard lock(cancels_mu_);
        cancels_taken_.swap(cancels_);
        cancels_pending_.store(false, std::memory_order_relaxed);
    }
    // A key whose operation already ended is stale: its generation makes the
    // kernel find nothing (-ENOENT) rather than the slot's next operation.
    for (std::uint64_t key : cancels_taken_)
        poller_->cancel(key);
    cancels_taken_.clear();
}

std::size_t p_netpoll::wait(std::int64_t deadline_ns, std::span<goroutine*> out)
{
    if (out.size() < batch)
        fatal("sched: p_netpoll::wait needs room for {} goroutines", batch);
    submit_cancels();
    const std::size_t n = poller_->wait(deadline_ns, completions_);
    std::size_t readied = 0;
    if (poller_->backend() == backend_kind::epoll) {
        for (std::size_t i = 0; i < n; ++i)
            readied += readiness_event(completions_[i], out.subspan(readied));
        return readied;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const completion& c = completions_[i];
        auto* op = static_cast<io_op*>(keys_.find(c.key));
        if (!op)
            fatal("sched: a completion for key {:#x}, which names no operation in flight", c.key);
        if (!c.more)
            keys_.release(c.key);
        if (goroutine* g = op->complete(*op, c))
            out[readied++] = g;
    }
    return readied;
}

} // namespace goro::detail
