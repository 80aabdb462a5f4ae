#include <goro/config.hpp>
#include "sched/registry.hpp"

#include <algorithm>

namespace goro::inline GORO_ABI::detail {

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
    // Room for every batch of indices there will be, so spill_locked never
    // allocates.
    const std::size_t batches = (std::size_t(first) + batch) / batch;
    if (central_.capacity() < batches)
        central_.reserve(std::max(batches, 2 * central_.capacity()));
    if (!chunks_[chunk])
        chunks_[chunk].reset(new std::atomic<goroutine*>[chunk_size]); // C++20: each starts out null
    for (std::uint32_t i = batch; i-- > 0;)
        c.free[c.n++] = first + i;
    next_fresh_ = first + batch;
}

void goroutine_registry::spill_locked(cache& c) noexcept
{
    c.n -= batch;
    central_.emplace_back(); // within the room refill_locked reserved
    std::copy(c.free + c.n, c.free + c.n + batch, central_.back().begin());
}

std::vector<bool> goroutine_registry::free_set(std::uint32_t n) const
{
    std::vector<bool> out(n);
    for (const cache* c : caches_)
        for (std::uint32_t i = 0; i < c->n; ++i)
            out[c->free[i]] = true;
    for (const batch_of_slots& b : central_)
        for (std::uint32_t i : b)
            out[i] = true;
    return out;
}

} // namespace goro::detail
