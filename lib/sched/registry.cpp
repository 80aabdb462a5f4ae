#include "sched/registry.hpp"

#include <algorithm>

namespace goro::detail {

void goroutine_registry::refill_locked(cache& c)
{
    if (!central_.empty()) {
        const batch_of_slots& b = central_.back();
        std::copy(b.begin(), b.end(), c.free + c.n);
        c.n += batch;
        central_.pop_back();
        return;
    }
    const std::uint32_t first = next_fresh_;
    const std::uint32_t chunk = first >> chunk_bits;
    if (chunk >= max_chunks)
        throw std::bad_alloc(); // 2^28 goroutines at once
    if (!chunks_[chunk])
        chunks_[chunk].reset(new std::atomic<goroutine*>[chunk_size]); // C++20: each starts out null
    for (std::uint32_t i = batch; i-- > 0;)
        c.free[c.n++] = first + i;
    next_fresh_ = first + batch;
}

bool goroutine_registry::spill_locked(cache& c) noexcept
{
    try {
        central_.emplace_back();
    } catch (...) {
        return false;
    }
    c.n -= batch;
    std::copy(c.free + c.n, c.free + c.n + batch, central_.back().begin());
    return true;
}

} // namespace goro::detail
