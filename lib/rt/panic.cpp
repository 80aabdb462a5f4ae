#include "rt/cpu_relax.hpp"
#include "rt/fatal.hpp"

#include <goro/detail/goroutine.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/panic.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sched.h>

namespace goro {

panic::panic(const std::string& what) : std::logic_error(what) {}
panic::panic(const char* what) : std::logic_error(what) {}

namespace detail {

const char* wait_reason_name(wait_reason r) noexcept
{
    switch (r) {
    case wait_reason::none: return "running";
    case wait_reason::yield: return "yield";
    case wait_reason::wait_group: return "wait_group";
    case wait_reason::join: return "join";
    case wait_reason::semacquire: return "semacquire";
    case wait_reason::sync_mutex: return "sync.Mutex.Lock";
    case wait_reason::sync_rw_mutex: return "sync.RWMutex.Lock";
    case wait_reason::sync_cond: return "sync.Cond.Wait";
    case wait_reason::sync_once: return "sync.Once.Do";
    case wait_reason::sync_semaphore: return "semaphore.Acquire";
    case wait_reason::chan_send: return "chan send";
    case wait_reason::chan_recv: return "chan receive";
    case wait_reason::chan_nil: return "chan (nil chan)";
    case wait_reason::select: return "select";
    }
    return "unknown";
}

void fatal(const char* msg) noexcept
{
    std::fprintf(stderr, "fatal error: %s\n", msg);
    std::fflush(stderr);
    std::abort();
}

void die_unrecovered(const promise_base& g) noexcept
{
    const char* what = "unknown exception (not derived from std::exception)";
    try {
        std::rethrow_exception(g.error);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    if (g.site_file)
        std::fprintf(stderr, "panic: %s\n\ngoroutine [running]:\n\tspawned at %s:%u\n", what, g.site_file,
                     g.site_line);
    else
        std::fprintf(stderr, "panic: %s\n\ngoroutine [running]:\n\tspawned by goro::go(fn, args...)\n", what);
    std::fflush(stderr);
    std::_Exit(2);
}

void spin_wait_slow(std::atomic<bool>& locked) noexcept
{
    for (unsigned spins = 0;; ++spins) {
        while (locked.load(std::memory_order_relaxed)) {
            if (spins < 64) {
                detail::cpu_relax();
            } else {
                sched_yield(); // the holder may have been preempted
            }
            ++spins;
        }
        if (!locked.exchange(true, std::memory_order_acquire)) // acquire: pairs with unlock's release
            return;
    }
}

} // namespace detail
} // namespace goro
