// goro::runtime and goro::run: the M:N scheduler that runs goroutines, and
// Go's `func main()` / GOMAXPROCS / NumGoroutine.
#pragma once

#include <goro/config.hpp>
#include <goro/go.hpp>
#include <goro/task.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace goro::inline GORO_ABI {

namespace detail {
class scheduler;

template <class T>
struct main_result {
    std::optional<T> value;
    std::exception_ptr error;
    T take()
    {
        if (error)
            std::rethrow_exception(error);
        return std::move(*value);
    }
};
template <>
struct main_result<void> {
    std::exception_ptr error;
    void take() const
    {
        if (error)
            std::rethrow_exception(error);
    }
};

GORO_API void request_stop() noexcept;

template <class T>
task<void> main_goroutine(task<T> main, main_result<T>& out)
{
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(main);
        } else {
            T v = co_await std::move(main);
            out.value.emplace(std::move(v));
        }
    } catch (...) {
        out.error = std::current_exception();
    }
    request_stop();
}
} // namespace detail

/// Settings of a goro::runtime.
struct runtime_config {
    /// Number of Ps (worker threads), Go's GOMAXPROCS: 1 to 4096. 0 means: the
    /// GORO_MAXPROCS environment variable if set (1 to 4096), else the CPUs this process
    /// may run on (sched_getaffinity), capped by the cgroup CPU quota.
    unsigned procs = 0;
    /// The most threads that run goro::blocking's functions at once (Tokio's
    /// max_blocking_threads): at least 1. The blocking threads are shared by
    /// the process, and the running runtime's setting is theirs; calls beyond
    /// the limit wait, in FIFO order, for a thread to come free.
    std::size_t max_blocking_threads = 512;
    /// How long a blocking thread with nothing to run waits for a call before
    /// it exits (Tokio's thread_keep_alive): zero or more.
    std::chrono::nanoseconds blocking_keep_alive = std::chrono::seconds(10);
};

/// An M:N scheduler: `procs` worker threads, each owning one P (a run queue, a
/// frame cache and a netpoller), running goroutines with work stealing.
///
/// One runtime runs at a time in a process (like Go's, it is process-wide):
/// run() throws goro::panic if another run() is in progress anywhere. A runtime
/// object can run() several times in a row.
class GORO_API runtime {
public:
    /// Resolves the P count (see runtime_config::procs). Throws
    /// std::invalid_argument naming the value if config.procs is above 4096,
    /// if GORO_MAXPROCS is consulted and is not a whole number from 1 to
    /// 4096, if config.max_blocking_threads is 0, or if
    /// config.blocking_keep_alive is negative. Starts no thread.
    explicit runtime(runtime_config config = {});
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    /// Runs `main` as the main goroutine and blocks until it returns, then
    /// returns its value or rethrows its exception. The calling thread becomes
    /// the worker of P 0; procs-1 more threads are started and joined before
    /// run() returns. No goroutine of the run outlives it: those still
    /// runnable when main returns are destroyed without running further, and
    /// those parked are taken off what they wait on (leaving channels and
    /// sync objects consistent), then destroyed; destroying a goroutine runs
    /// its frames' destructors (docs/guide/goroutines.md, "When main
    /// returns").
    template <class T>
    T run(task<T> main)
    {
        detail::main_result<T> out;
        run_main(detail::main_goroutine(std::move(main), out));
        return out.take();
    }

    /// The number of Ps this runtime runs with.
    unsigned procs() const noexcept;

private:
    void run_main(task<void> main);

    unsigned procs_;
    std::size_t max_blocking_threads_;
    std::int64_t blocking_keep_alive_ns_;
};

/// Runs `main` on a runtime with the default config and blocks until it
/// returns: `int main() { return goro::run(app()); }`. Returns main's value
/// (0 for task<void>, so both forms fit `return` in main) or rethrows its
/// exception. See runtime::run; like runtime's constructor it throws
/// std::invalid_argument for a malformed GORO_MAXPROCS.
template <class T>
std::conditional_t<std::is_void_v<T>, int, T> run(task<T> main)
{
    runtime rt;
    if constexpr (std::is_void_v<T>) {
        rt.run(std::move(main));
        return 0;
    } else {
        return rt.run(std::move(main));
    }
}

/// The P count of the running runtime; outside one, what a runtime with the
/// default config would use (throwing std::invalid_argument for a malformed
/// GORO_MAXPROCS). Go's runtime.GOMAXPROCS(0).
GORO_API unsigned gomaxprocs();

/// The number of goroutines that exist (started and not yet finished) in the
/// running runtime, including the main goroutine; 0 when none runs. Like Go's
/// runtime.NumGoroutine it is a snapshot, exact only when nothing is starting
/// or finishing concurrently.
GORO_API long num_goroutine() noexcept;

} // namespace goro
