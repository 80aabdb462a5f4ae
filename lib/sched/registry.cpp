#include "sched/registry.hpp"

#include <algorithm>

namespace goro::detail {

void goroutine_registry::refill_locked(cache& c)
{
    if (!central_.empty()) {
        c.free = std::move(central_.back());
        central_.pop_back();
        c.free.reserve(cache_max);
        return;
    }
    const std::uint32_t first = next_fresh_;
    const std::uint32_t chunk = first >> chunk_bits;
    if (chunk >= max_chunks)
        throw std::bad_alloc(); // 2^28 goroutines at once
    if (!chunks_[chunk]) {
        chunks_[chunk].reset(new std::atomic<goroutine*>[chunk_size]);
        std::fill_n(chunks_[chunk].get(), chunk_size, nullptr);
    }
    for (std::uint32_t i = batch; i-- > 0;)
        c.free.push_back(first + i);
    next_fresh_ = first + batch;
}

bool goroutine_registry::spill_locked(cache& c) noexcept
{
    std::vector<std::uint32_t> out;
    try {
        out.reserve(cache_max);
        central_.emplace_back();
        out.assign(c.free.end() - batch, c.free.end());
        central_.back() = std::move(out);
    } catch (...) {
        return false;
    }
    c.free.resize(c.free.size() - batch);
    return true;
}

} // namespace goro::detail
