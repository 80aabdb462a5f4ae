// goro::runtime, goro::run, and the end of a goroutine's life (detached exit,
// join handshake).
//
// # Join handshake (promise_base::join)
//   join_running --(goroutine ends)--> join_done        handle frees the frame
//   join_running --(handle parks)----> <joiner G*> --(goroutine ends)--> readies
//                                                        the joiner, which frees it
//   join_running --(handle dropped)--> join_detached --(goroutine ends)--> frees itself
//   join_done    --(handle dropped)--> frees the frame
//   join_running or <joiner G*> --(run ends, goroutine unfinished)--> join_abandoned
//                --(handle dropped)--> frees the frame (awaiting it throws goro::panic)
//   join_detached --(run ends, goroutine unfinished)--> the end of the run frees it
// A parked joiner withdrawn at the end of a run puts <joiner G*> back to
// join_running (withdraw_joiner), unless the goroutine finished first.
// Every transition out of join_running is an exchange or CAS with acq_rel, so
// the side that frees the frame has seen everything the other side wrote
// (the result, the error) and the other side never touches it again.

#include "blocking/pool.hpp"
#include "sched/park.hpp"
#include "sched/procs.hpp"
#include "sched/scheduler.hpp"

#include <goro/go.hpp>
#include <goro/panic.hpp>
#include <goro/runtime.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>

namespace goro::inline GORO_ABI {

namespace detail {

namespace {

// An exception escaped a goroutine nobody will join: print it and where the
// goroutine was spawned, then exit with status 2, as an unrecovered Go panic
// does.
[[noreturn]] void die_unrecovered(const promise_base& g) noexcept
{
    const char* what = "unknown exception (not derived from std::exception)";
    try {
        std::rethrow_exception(g.error);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    try {
        if (g.site_file)
            fmt::print(stderr, "panic: {}\n\ngoroutine [running]:\n\tspawned at {}:{}\n", what, g.site_file,
                       g.site_line);
        else
            fmt::print(stderr, "panic: {}\n\ngoroutine [running]:\n\tspawned by goro::go(fn, args...)\n", what);
    } catch (...) { // out of memory while formatting: the message alone
        std::fputs("panic: ", stderr);
        std::fputs(what, stderr);
        std::fputc('\n', stderr);
    }
    std::fflush(stderr);
    std::_Exit(2);
}

} // namespace

std::coroutine_handle<> goroutine_exit(promise_base& g, std::coroutine_handle<> frame) noexcept
{
    goroutine_finished(g);
    if (g.kind == g_kind::detached) {
        if (g.error)
            die_unrecovered(g);
        frame.destroy();
        return std::noop_coroutine();
    }
    std::uintptr_t old = g.join.exchange(join_done, std::memory_order_acq_rel); // release: result; acquire: joiner
    if (old == join_detached) {
        if (g.error)
            die_unrecovered(g);
        frame.destroy();
    } else if (old != join_running) {
        ready_here(*reinterpret_cast<goroutine*>(old));
    }
    return std::noop_coroutine();
}

namespace {

// A joiner parked on `p.object` (the target's promise) at the end of a run:
// it owns itself again unless the target finished and is readying it.
bool withdraw_joiner(parked_on& p) noexcept
{
    auto& target = *static_cast<promise_base*>(p.object);
    std::uintptr_t w = target.join.load(std::memory_order_acquire);
    for (;;) {
        if (w == join_done)
            return false; // goroutine_exit is readying the joiner
        if (w == join_abandoned)
            return true; // the target was destroyed unfinished: nothing will ready the joiner
        // Still the parked joiner: back to running, so the handle in the
        // joiner's frame detaches normally when that frame is destroyed.
        if (target.join.compare_exchange_weak(w, join_running, std::memory_order_acq_rel, std::memory_order_acquire))
            return true;
    }
}

} // namespace

bool join_park(promise_base& target, std::coroutine_handle<> leaf, parked_on& parked)
{
    goroutine& g = running_g("co_await on a goro::join_handle");
    std::uintptr_t expected = join_running;
    parked = {&withdraw_joiner, &target};
    const bool parked_now = park(g, leaf, wait_reason::join, &parked, [&] {
        return target.join.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(&g),
                                                   std::memory_order_acq_rel, std::memory_order_acquire);
    });
    if (parked_now)
        return true; // goroutine_exit readies us
    if (expected == join_abandoned)
        throw panic("goro::join_handle: the goroutine was destroyed unfinished when its runtime stopped");
    return completed_here(leaf); // already done: finish now, unless the budget ran out
}

void request_stop() noexcept { request_stop_current(); }

void join_detach(promise_base& target, std::coroutine_handle<> frame) noexcept
{
    std::uintptr_t old = target.join.exchange(join_detached, std::memory_order_acq_rel);
    if (old == join_done) {
        if (target.error)
            die_unrecovered(target);
        frame.destroy();
    } else if (old == join_abandoned) {
        frame.destroy(); // its run ended before it did; this handle was its last owner
    }
}

} // namespace detail

namespace {

std::size_t checked_max_blocking_threads(std::size_t n)
{
    if (n == 0)
        throw std::invalid_argument("goro::runtime: max_blocking_threads is 0 (it must be at least 1)");
    return n;
}

std::int64_t checked_keep_alive_ns(std::chrono::nanoseconds d)
{
    if (d.count() < 0)
        throw std::invalid_argument(
            fmt::format("goro::runtime: blocking_keep_alive is negative ({} ns)", d.count()));
    return d.count();
}

// The main goroutine around the user's: the blocking pool is process-wide,
// so it takes this runtime's settings only once run() has won the process
// (scheduler::run throws, and the goroutine never starts, if another run is
// in progress).
task<void> configured_main(task<void> main, std::size_t max_blocking_threads, std::int64_t keep_alive_ns)
{
    detail::blocking_configure(max_blocking_threads, keep_alive_ns);
    co_await std::move(main);
}

} // namespace

runtime::runtime(runtime_config config)
    : procs_(detail::resolve_procs(config.procs)),
      max_blocking_threads_(checked_max_blocking_threads(config.max_blocking_threads)),
      blocking_keep_alive_ns_(checked_keep_alive_ns(config.blocking_keep_alive))
{
}

runtime::~runtime() = default;

unsigned runtime::procs() const noexcept { return procs_; }

void runtime::run_main(task<void> main)
{
    if (!main)
        throw panic("goro::runtime::run: empty main task");
    task<void> configured = configured_main(std::move(main), max_blocking_threads_, blocking_keep_alive_ns_);
    detail::scheduler s(procs_); // if this throws, `configured` still owns its frame
    auto h = detail::make_root(configured, detail::g_kind::detached, detail::spawn_site::here(),
                               "goro::runtime::run: empty main task");
    h.promise().continuation = h; // see start_goroutine
    s.run(h.promise()); // owns the main goroutine from here, even if it throws
}

unsigned gomaxprocs()
{
    if (unsigned n = detail::running_procs())
        return n;
    return detail::default_procs();
}

long num_goroutine() noexcept { return detail::running_num_goroutine(); }

} // namespace goro
