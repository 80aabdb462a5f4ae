// Operation keys: the 64-bit user_data of an io_uring submission and of its
// completions, and the data word of an epoll registration. Why a key is
// unique for its operation's whole life: lib/netpoll/poller.hpp, "Keys".
//
//   bit 63       internal: the poller's own operations (its doorbell, the
//                removal of a watch); key_table never issues one
//   bits 32..62  the slot's generation, advanced each time the slot is freed
//   bits 0..31   the slot: where the operation's record is found
#pragma once

#include <goro/config.hpp>

#include <cstdint>
#include <vector>

namespace goro::inline GORO_ABI::detail {

inline constexpr std::uint64_t internal_key_bit = std::uint64_t(1) << 63;

constexpr bool is_internal_key(std::uint64_t key) noexcept { return (key & internal_key_bit) != 0; }

/// Fatal unless `key` may name a caller's operation (bit 63 clear).
void require_user_key(std::uint64_t key) noexcept;

/// Hands out keys for in-flight operations and finds an operation by key.
/// Owned by one P and used by its thread only (not thread-safe).
class key_table {
public:
    /// A key for `op` (not null): no live key equals it, nor does any key this
    /// table issued for the same slot in its last 2^31 uses.
    std::uint64_t acquire(void* op);
    /// The operation of a live key; nullptr for a key already released (a
    /// late cancel's target, a stale completion) or never issued.
    void* find(std::uint64_t key) const noexcept;
    /// Ends a key's life, after its operation's final completion (the one
    /// without `more`). Releasing a key that is not live is fatal: it would
    /// free a slot another operation holds.
    void release(std::uint64_t key) noexcept;
    /// Calls f(key) for each live key.
    template <class F>
    void for_each(F&& f) const
    {
        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].op)
                f((std::uint64_t(slots_[i].generation) << 32) | i);
    }
    /// How many keys are live.
    std::size_t live() const noexcept { return live_; }

private:
    static constexpr std::uint32_t no_slot = ~std::uint32_t(0);
    static constexpr std::uint32_t generation_mask = 0x7fff'ffff;
    struct slot {
        void* op;                 // null while free
        std::uint32_t generation; // of the key that holds it, or of the next one
        std::uint32_t next_free;  // while free: the next free slot
    };
    std::vector<slot> slots_;
    std::uint32_t free_head_ = no_slot;
    std::size_t live_ = 0;
};

} // namespace goro::detail
