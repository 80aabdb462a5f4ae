#include <goro/config.hpp>
#include "sched/io.hpp"

#include "base/fatal.hpp"
#include "sched/park.hpp"
#include "sched/scheduler.hpp"

#include <goro/panic.hpp>

#include <sys/epoll.h>
#include <unistd.h>

#include <memory>
#include <mutex>

namespace goro::inline GORO_ABI::detail {

backend_kind io_backend() noexcept
{
    return netpoll_backend().backend;
}

// ---------------------------------------------------------------------------
// io_uring operations

io_uring_sqe* ring_op::begin()
{
    p_state* p = current_p();
    if (!p)
        fatal("sched: an io_uring operation started outside a worker");
    uring_poller* ring = p->io.get().uring();
    if (!ring)
        fatal("sched: an io_uring operation on the epoll backend");
    // Room for the operation and a linked timeout, so a flush never splits
    // the pair across two submissions.
    ring->reserve(2);
    owner = p;
    key = p->io.keys().acquire(&base);
    return ring->prepare(key);
}

bool ring_op::park(goroutine& waiter, std::coroutine_handle<> leaf, io_uring_sqe* sqe, wait_reason why,
                   std::int64_t deadline_ns)
{
    g = &waiter;
    io_uring_sqe_set_data64(sqe, key);
    if (deadline_ns >= 0) {
        sqe->flags |= IOSQE_IO_LINK;
        deadline.tv_sec = deadline_ns / 1'000'000'000;
        deadline.tv_nsec = deadline_ns % 1'000'000'000;
        owner->io.get().uring()->link_timeout(&deadline);
    }
    // Nothing to publish: only this P's worker reaps its ring, and it is
    // running this goroutine until the goroutine suspends.
    return detail::park(waiter, leaf, why, &parked, [] { return true; });
}

void ring_op::cancel() noexcept
{
    try {
        if (current_p() == owner)
            owner->io.get().cancel(key);
        else
            owner->io.request_cancel(key);
    } catch (const std::bad_alloc&) {
        fatal("sched: out of memory queueing an operation's cancel");
    }
}

goroutine* ring_op::on_completion(io_op& base, const completion& c) noexcept
{
    auto& op = reinterpret_cast<ring_op&>(base); // base is the first member
    if (c.more)
        return nullptr; // single-shot operations: the final completion decides
    op.result = c.result;
    if (op.result_is_fd && c.result >= 0 && op.owner->io.stopping()) {
        ::close(c.result); // nobody will take it (netpoll.hpp, "Stopping")
        op.result = -ECANCELED;
    }
    return op.g;
}

// The end of a run reaps every operation's final completion before the
// drain (netpoll.hpp, "Stopping"), so a goroutine parked on one is runnable
// by then: it is never withdrawn.
bool ring_op::withdraw(parked_on&) noexcept
{
    return false;
}

// ---------------------------------------------------------------------------
// epoll readiness

namespace {

constexpr std::uintptr_t no_edge = 0;
constexpr std::uintptr_t edge_ready = 1;

} // namespace

class fd_waiter {
public:
    std::atomic<std::uintptr_t> rg{no_edge}; // the read direction's word (io.hpp, "epoll")
    std::atomic<std::uintptr_t> wg{no_edge};
    // Bumped when unregistered: events carrying an older value are stale.
    std::atomic<std::uint32_t> seq{0};
    std::uint32_t index = 0; // immutable: the record's place in the pool
    int fd = -1;             // registration-time fields, published by the epoll_ctl that follows them
    shared_epoll* set = nullptr; // the scheduler's epoll, which holds the registration
    fd_waiter* next_free = nullptr; // guarded by the pool's lock

    std::atomic<std::uintptr_t>& word(io_dir d) noexcept { return d == io_dir::read ? rg : wg; }
    std::uint64_t key() const noexcept
    {
        // relaxed: only the registering thread writes seq before the
        // epoll_ctl that publishes the key.
        return (std::uint64_t(seq.load(std::memory_order_relaxed)) << 32) | index;
    }
};

namespace {

// Records are type-stable: chunks are never freed, so a P may look a
// record up from a late event after it was unregistered, and find its seq
// moved on.
class fd_pool {
public:
    static constexpr std::uint32_t chunk_size = 1024;
    static constexpr std::uint32_t max_chunks = 4096; // 4M registered fds

    fd_waiter* allocate()
    {
        std::lock_guard lock(mu_);
        if (!free_) {
            if (chunks_used_ == max_chunks)
                fatal("sched: more than {} fds registered with epoll", std::uint64_t(chunk_size) * max_chunks);
            auto* chunk = new fd_waiter[chunk_size];
            for (std::uint32_t i = chunk_size; i-- > 0;) {
                chunk[i].index = chunks_used_ * chunk_size + i;
                chunk[i].next_free = free_;
                free_ = &chunk[i];
            }
            chunks_[chunks_used_].store(chunk, std::memory_order_release); // release: pairs with find's acquire
            ++chunks_used_;
        }
        fd_waiter* w = free_;
        free_ = w->next_free;
        return w;
    }

    void release(fd_waiter* w) noexcept
    {
        std::lock_guard lock(mu_);
        w->next_free = free_;
        free_ = w;
    }

    fd_waiter* find(std::uint32_t index) const noexcept
    {
        fd_waiter* chunk = chunks_[index / chunk_size].load(std::memory_order_acquire);
        return chunk ? &chunk[index % chunk_size] : nullptr;
    }

private:
    spinlock mu_;
    fd_waiter* free_ = nullptr;       // guarded by mu_
    std::uint32_t chunks_used_ = 0;   // guarded by mu_
    std::atomic<fd_waiter*> chunks_[max_chunks]{};
};

fd_pool& pool()
{
    static fd_pool* p = new fd_pool; // never destroyed: late events may still look records up
    return *p;
}

// The harvesting P's side of an edge: marks it ready and returns the waiter's
// goroutine if one was parked.
goroutine* report_edge(fd_waiter& w, io_dir d) noexcept
{
    // acq_rel: acquire pairs with the waiter's publishing CAS (its record's
    // fields), release with its consuming exchange.
    std::uintptr_t old = w.word(d).exchange(edge_ready, std::memory_order_acq_rel);
    if (old <= edge_ready)
        return nullptr;
    auto* rw = reinterpret_cast<readiness_wait*>(old);
    w.set->readiness_waiters.fetch_sub(1, std::memory_order_relaxed); // relaxed: a hint (netpoll.hpp)
    // The word no longer names the waiter; the goroutine finds `ready` when
    // it runs and retries. Read g before it can run.
    return rw->g;
}

} // namespace

fd_waiter* fd_register(int fd, int& error)
{
    p_state* p = current_p();
    if (!p)
        fatal("sched: fd_register outside a worker");
    epoll_poller* ep = p->io.get().epoll();
    if (!ep)
        fatal("sched: fd_register on the io_uring backend");
    fd_waiter* w = pool().allocate();
    w->fd = fd;
    w->set = &ep->shared();
    w->rg.store(no_edge, std::memory_order_relaxed); // relaxed: published by epoll_ctl below
    w->wg.store(no_edge, std::memory_order_relaxed);
    error = w->set->add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, w->key());
    if (error < 0) {
        pool().release(w);
        return nullptr;
    }
    return w;
}

void fd_unregister(fd_waiter* w) noexcept
{
    w->set->remove(w->fd); // an fd closed already left epoll by itself
    w->seq.fetch_add(1, std::memory_order_acq_rel); // acq_rel: late events compare against it
    for (io_dir d : {io_dir::read, io_dir::write})
        if (goroutine* g = report_edge(*w, d))
            ready(*g);
    pool().release(w);
}

std::size_t readiness_event(const completion& c, std::span<goroutine*> out) noexcept
{
    fd_waiter* w = pool().find(std::uint32_t(c.key));
    if (!w || w->seq.load(std::memory_order_acquire) != std::uint32_t(c.key >> 32))
        return 0; // unregistered since the kernel reported it
    const auto events = std::uint32_t(c.result);
    std::size_t n = 0;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        if (goroutine* g = report_edge(*w, io_dir::read))
            out[n++] = g;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        if (goroutine* g = report_edge(*w, io_dir::write))
            out[n++] = g;
    return n;
}

bool readiness_wait::park(goroutine& waiter, std::coroutine_handle<> leaf, fd_waiter* on, io_dir d, wait_reason why)
{
    g = &waiter;
    fd = on;
    dir = d;
    cancelled = false;
    auto& word = fd->word(d);
    // relaxed: only a misuse check; the CAS below decides.
    if (word.load(std::memory_order_relaxed) > edge_ready)
        throw goro::panic("goro: two goroutines wait for the same direction of one fd at once");
    fd->set->readiness_waiters.fetch_add(1, std::memory_order_relaxed); // relaxed: a hint (netpoll.hpp)
    return detail::park(waiter, leaf, why, &parked, [&] {
        std::uintptr_t expected = no_edge;
        // acq_rel: release publishes this record to report_edge; acquire
        // pairs with its release when we find `ready` instead.
        if (word.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(this), std::memory_order_acq_rel))
            return true;
        // An edge came since the last try: consume it and retry now.
        word.compare_exchange_strong(expected, no_edge, std::memory_order_acq_rel);
        fd->set->readiness_waiters.fetch_sub(1, std::memory_order_relaxed);
        return false;
    });
}

bool readiness_wait::cancel() noexcept
{
    std::uintptr_t self = reinterpret_cast<std::uintptr_t>(this);
    // acq_rel: whoever moves the word off this record owns the wake-up.
    if (!fd->word(dir).compare_exchange_strong(self, no_edge, std::memory_order_acq_rel))
        return false;
    fd->set->readiness_waiters.fetch_sub(1, std::memory_order_relaxed);
    cancelled = true;
    ready(*g);
    return true;
}

void readiness_wait::finish() noexcept
{
    std::uintptr_t expected = edge_ready;
    fd->word(dir).compare_exchange_strong(expected, no_edge, std::memory_order_acq_rel); // acq_rel: as park's consume
}

bool readiness_wait::withdraw(parked_on& p) noexcept
{
    auto& self = waiter_of<readiness_wait>(p);
    std::uintptr_t me = reinterpret_cast<std::uintptr_t>(&self);
    if (!self.fd->word(self.dir).compare_exchange_strong(me, no_edge, std::memory_order_acq_rel))
        return false;
    self.fd->set->readiness_waiters.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

} // namespace goro::detail
