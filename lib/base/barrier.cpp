#include <goro/config.hpp>
#include "base/barrier.hpp"

#include "base/fatal.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace goro::inline GORO_ABI::detail {

std::atomic<bool> heavy_barrier_is_membarrier{false};

namespace {

long membarrier(int cmd) noexcept { return syscall(SYS_membarrier, cmd, 0, 0); }

// Runs at library load (see barrier.hpp for why then).
__attribute__((constructor)) void register_membarrier() noexcept
{
#if defined(__SANITIZE_THREAD__)
    return; // TSan does not see membarrier's ordering; keep real fences there
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return;
#endif
#endif
    long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0)
        return;
    heavy_barrier_is_membarrier.store(true, std::memory_order_release);
}

} // namespace

void asymmetric_heavy_barrier() noexcept
{
    if (heavy_barrier_is_membarrier.load(std::memory_order_acquire) &&
        membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        fatal("goro: membarrier failed after registration"); // the light sides rely on it
    std::atomic_thread_fence(std::memory_order_seq_cst); // orders this thread's own side too
}

} // namespace goro::detail
