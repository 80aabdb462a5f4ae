#include <goro/config.hpp>
#include "netpoll/poller.hpp"

#include "base/fatal.hpp"

namespace goro::inline GORO_ABI::detail {

poller::poller(const netpoll_choice& choice, unsigned sq_entries, shared_epoll* epoll_set)
    : impl_(make(choice, sq_entries, epoll_set))
{
}

// Each return is a prvalue of the variant, so the poller is built in place:
// neither backend can move (wakers hold its address).
std::variant<uring_poller, epoll_poller> poller::make(const netpoll_choice& choice, unsigned sq_entries,
                                                      shared_epoll* epoll_set)
{
    if (choice.backend == backend_kind::epoll)
        return std::variant<uring_poller, epoll_poller>(std::in_place_type<epoll_poller>, epoll_set);
    if (!choice.uring)
        fatal("netpoll: an io_uring choice without a probe result");
    return std::variant<uring_poller, epoll_poller>(std::in_place_type<uring_poller>, *choice.uring, sq_entries,
                                                      choice.doorbell);
}

} // namespace goro::detail
