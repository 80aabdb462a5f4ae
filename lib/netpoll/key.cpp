#include <goro/config.hpp>
#include "netpoll/key.hpp"

#include "base/fatal.hpp"

namespace goro::inline GORO_ABI::detail {

void require_user_key(std::uint64_t key) noexcept
{
    if (is_internal_key(key))
        fatal("netpoll: key {:#x} has the internal bit set", key);
}

std::uint64_t key_table::acquire(void* op)
{
    if (!op)
        fatal("netpoll: key_table::acquire needs an operation");
    std::uint32_t index;
    if (free_head_ != no_slot) {
        index = free_head_;
        free_head_ = slots_[index].next_free;
    } else {
        if (slots_.size() == no_slot) // 2^32 - 1 operations in flight on one P
            fatal("netpoll: out of operation keys");
        index = std::uint32_t(slots_.size());
        slots_.push_back(slot{nullptr, 0, no_slot});
    }
    slot& s = slots_[index];
    s.op = op;
    ++live_;
    return (std::uint64_t(s.generation) << 32) | index;
}

void* key_table::find(std::uint64_t key) const noexcept
{
    std::uint64_t index = key & 0xffff'ffff;
    if (is_internal_key(key) || index >= slots_.size())
        return nullptr;
    const slot& s = slots_[index];
    return s.op && s.generation == std::uint32_t(key >> 32) ? s.op : nullptr;
}

void key_table::release(std::uint64_t key) noexcept
{
    if (!find(key))
        fatal("netpoll: releasing key {:#x}, which is not live", key);
    std::uint32_t index = std::uint32_t(key);
    slot& s = slots_[index];
    s.op = nullptr;
    s.generation = (s.generation + 1) & generation_mask;
    s.next_free = free_head_;
    free_head_ = index;
    --live_;
}

} // namespace goro::detail
