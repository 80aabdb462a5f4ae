#include <goro/config.hpp>
#include "sched/netpoll.hpp"

#include "base/fatal.hpp"

namespace goro::inline GORO_ABI::detail {

void p_netpoll::start(const netpoll_choice& choice, unsigned sq_entries)
{
    poller_.emplace(choice, sq_entries);
    wakeable_.store(&*poller_, std::memory_order_release); // release: pairs with wake()'s acquire
}

std::size_t p_netpoll::wait(std::int64_t deadline_ns, std::span<goroutine*> out)
{
    if (out.size() < batch)
        fatal("sched: p_netpoll::wait needs room for {} goroutines", batch);
    const std::size_t n = poller_->wait(deadline_ns, completions_);
    std::size_t readied = 0;
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
