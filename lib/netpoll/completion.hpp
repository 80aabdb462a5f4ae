// What a poller's wait() hands back, and the queue a poller keeps of
// completions it has taken from the kernel but not yet handed back.
#pragma once

#include <goro/config.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace goro::inline GORO_ABI::detail {

/// One completion of an operation (lib/netpoll/poller.hpp, "Keys").
struct completion {
    std::uint64_t key;
    /// The kernel's result: -errno, or the operation's value (0 for a nop,
    /// the poll mask for a watch).
    std::int32_t result;
    /// The operation is still in flight and will complete again under the
    /// same key; the last completion of every operation has it clear.
    bool more;
    /// io_uring's CQE flags beyond `more`: IORING_CQE_F_BUFFER with the
    /// provided buffer's id in the top 16 bits (multishot receive),
    /// IORING_CQE_F_NOTIF (a zero-copy send's buffer is free again); 0 on
    /// epoll.
    std::uint32_t flags = 0;

    friend bool operator==(const completion&, const completion&) = default;
};

/// A FIFO of completions, owned by one poller's thread. It stays empty on
/// the common path, so it costs nothing there; the storage it grows is kept.
class completion_queue {
public:
    bool empty() const noexcept { return head_ == items_.size(); }
    void push(const completion& c) { items_.push_back(c); }
    /// Moves the oldest completions into `out`, as many as fit; returns how many.
    std::size_t take(std::span<completion> out) noexcept
    {
        std::size_t n = 0;
        while (n < out.size() && head_ < items_.size())
            out[n++] = items_[head_++];
        if (head_ == items_.size()) {
            items_.clear();
            head_ = 0;
        }
        return n;
    }

private:
    std::vector<completion> items_;
    std::size_t head_ = 0;
};

} // namespace goro::detail
