// The blocking pool: the threads that run goro::blocking's functions while
// their goroutines are parked (Tokio's blocking pool, in its shape).
//
// # The job record
// A call's record (detail::blocking_job: the waiter, the queue links, the
// goroutine, the function that runs fn and stores its result) is the base
// of the awaiter, in the goroutine's frame: a call allocates nothing. The
// goroutine parks with the job as its waiter; queuing the job is park's
// publish step, so from the unlock on the goroutine belongs to the pool.
// A pool thread unlinks the job under the lock, runs invoke (fn, then the
// result or exception stored into the awaiter), reads g and readies it.
// ready's run-queue publish (release) pairs with the resuming worker's pop
// (acquire), so the goroutine sees the result. After ready the thread never
// touches the job: the goroutine may already have resumed and moved on.
// A thread without a P readies through the scheduler's external path (the
// global queue), which also keeps the scheduler alive while it does.
//
// blocking(ctx, fn), whose goroutine may leave when the context ends while
// fn runs on, keeps this shape with a record of its own on the heap
// (goro/blocking.hpp, blocking_ctx_job): fn moves into it, it is queued by
// blocking_submit without parking anyone (g is nullptr), and its invoke
// stores the result, closes the record's done channel (the goroutine waits
// in a select of that channel and the context's) and drops the pool's
// reference, which may free it. So a pool thread reads g before invoke and
// readies only a non-null one; after invoke it never touches the job. Such
// a job has no waiter record: the end of a run leaves it queued or
// running, and it runs to its end on the process-wide pool after the run.
//
// # Threads (all counts guarded by mu_)
//   threads_  started and not retired. A call that finds no unclaimed idle
//             thread starts one while threads_ < limit_; otherwise it waits
//             in queue_ (FIFO) for a busy thread to come back for it.
//   idle_     threads waiting on cv_ that no call has claimed yet. A call
//             claims one (idle_-1, notify_+1) and signals cv_: one lock and
//             one wake per hand-off. Tokio's num_idle / num_notify.
//   notify_   claims not yet taken; a waking idle thread takes one before
//             anything else, so a spurious wake, or another idle thread
//             waking first, never loses a claim.
//   retire_   idle threads above a lowered limit told to exit (configure).
// A busy thread that finds threads_ > limit_ after a call exits instead of
// taking the next one; the limit_ threads left pop the queue, since a call
// queues without a claim only when no thread is idle. An idle thread exits
// when it has been idle for keep_alive_ns_ (measured from when it went
// idle, against the current setting, so configure can shorten it) and no
// claim waits for it.
// Starting a thread happens under mu_: it is rare (the pool only grows to
// its peak concurrency) and it keeps the undo simple when the system refuses
// a thread: with no thread at all the call leaves the queue and the await
// throws; with some thread, the call stays queued for it.
//
// # Process exit
// The pool is process-wide (one runtime runs at a time, so the limit of the
// running one is the pool's) and is never destroyed: its threads are
// detached, and an idle one may still wait on cv_ while static destructors
// run at exit. Nothing they touch is ever freed, so no sanitizer sees a
// use after free; the object stays reachable from `instance`, so
// LeakSanitizer sees no leak.
//
// # The end of a run
// Every parked goroutine is withdrawn (lib/sched/scheduler.cpp, "Stopping").
// A queued job is unlinked (withdraw returns true) and its fn never runs. A
// taken job returns false: its fn runs and may use the frame (a buffer it
// reads into), so the frame must outlive it. The drain recognizes such a
// goroutine by its wait reason (wait_reason::blocking) and waits for its
// fn, without the time limit it puts on other wakers; once fn returns, the
// thread readies the goroutine and the drain destroys it from the queue.
//
// Rejected: handing the P to another thread during the call (Go's
// entersyscall/handoffp). A stackless goroutine can only leave its thread
// at a suspension point, so the call would have to suspend anyway; a pool
// needs no P handoff machinery in the scheduler and bounds the threads.

#include "blocking/pool.hpp"

#include "sched/park.hpp"

#include <goro/blocking.hpp>
#include <goro/detail/wait_list.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <pthread.h>
#include <thread>

namespace goro::inline GORO_ABI::detail {

namespace {

class pool {
public:
    /// park's publish step: queues `job` and finds it a thread. False, with
    /// the reason in `failed`, when no thread exists and none can start.
    bool submit(blocking_job& job, std::exception_ptr& failed) noexcept
    {
        std::unique_lock lock(mu_);
        queue_.push_back(job);
        ++queued_;
        if (idle_ > 0) {
            --idle_;
            ++notify_;
            lock.unlock();
            cv_.notify_one(); // the job is the pool's now: touch only the pool
            return true;
        }
        if (threads_ >= limit_)
            return true; // a busy thread takes it when its call returns
        ++threads_;
        try {
            std::thread([this] { thread_main(); }).detach();
        } catch (...) {
            --threads_;
            if (threads_ == 0) { // nothing would ever run it
                queue_.unlink(job);
                --queued_;
                failed = std::current_exception();
                return false;
            }
        }
        return true;
    }

    /// Unlinks a job still queued (the end of a run).
    bool withdraw(blocking_job& job) noexcept
    {
        std::lock_guard lock(mu_);
        if (!queue_.remove(job))
            return false; // a thread runs its fn, or has run it and is readying it
        --queued_;
        return true;
    }

    void configure(std::size_t max_threads, std::int64_t keep_alive_ns) noexcept
    {
        {
            std::lock_guard lock(mu_);
            limit_ = max_threads;
            keep_alive_ns_ = keep_alive_ns;
            const std::size_t excess = threads_ > limit_ ? std::min(idle_, threads_ - limit_) : 0;
            idle_ -= excess;
            threads_ -= excess;
            retire_ += excess;
        }
        cv_.notify_all(); // the retirees, and idle threads under a shorter keep-alive
    }

    blocking_counts counts() noexcept
    {
        std::lock_guard lock(mu_);
        return {threads_, idle_, running_, queued_};
    }

private:
    void thread_main() noexcept
    {
        pthread_setname_np(pthread_self(), "goro-blocking");
        std::unique_lock lock(mu_);
        for (;;) {
            while (threads_ <= limit_ && queue_.head) {
                blocking_job& job = *queue_.head;
                queue_.unlink(job);
                --queued_;
                ++running_;
                lock.unlock();
                goroutine* g = job.g; // before invoke: a heap job frees itself there
                job.invoke(job);
                if (g)
                    ready(*g); // the job may be gone from here on
                lock.lock();
                --running_;
            }
            if (threads_ > limit_) {
                --threads_;
                return;
            }
            ++idle_;
            const auto since = std::chrono::steady_clock::now();
            for (;;) {
                const auto until = since + std::chrono::nanoseconds(keep_alive_ns_);
                cv_.wait_until(lock, until);
                if (notify_ > 0) {
                    --notify_; // claimed (idle_ was decremented by the claimer)
                    break;
                }
                if (retire_ > 0) {
                    --retire_; // configure took it out of idle_ and threads_
                    return;
                }
                if (std::chrono::steady_clock::now() >= since + std::chrono::nanoseconds(keep_alive_ns_)) {
                    --idle_;
                    --threads_;
                    return;
                }
            }
        }
    }

    std::mutex mu_;
    std::condition_variable cv_;
    // --- Guarded by mu_ ---
    wait_list<blocking_job> queue_;
    std::size_t queued_ = 0;
    std::size_t running_ = 0;
    std::size_t threads_ = 0;
    std::size_t idle_ = 0;
    std::size_t notify_ = 0;
    std::size_t retire_ = 0;
    std::size_t limit_ = default_max_blocking_threads;
    std::int64_t keep_alive_ns_ = default_blocking_keep_alive_ns;
};

// Never destroyed (see "Process exit").
pool& instance()
{
    static pool* const p = new pool;
    return *p;
}

bool withdraw_job(parked_on& p) noexcept { return static_cast<pool*>(p.object)->withdraw(waiter_of<blocking_job>(p)); }

} // namespace

bool blocking_park(blocking_job& job, std::coroutine_handle<> leaf)
{
    goroutine& g = running_g("goro::blocking");
    pool& pl = instance();
    job.g = &g;
    job.parked = {&withdraw_job, &pl};
    std::exception_ptr failed;
    if (park(g, leaf, wait_reason::blocking, &job.parked, [&] { return pl.submit(job, failed); }))
        return true; // the pool readies it
    std::rethrow_exception(failed);
}

void blocking_submit(blocking_job& job)
{
    job.g = nullptr;
    std::exception_ptr failed;
    if (!instance().submit(job, failed))
        std::rethrow_exception(failed);
}

void blocking_configure(std::size_t max_threads, std::int64_t keep_alive_ns) noexcept
{
    instance().configure(max_threads, keep_alive_ns);
}

blocking_counts blocking_pool_counts() noexcept { return instance().counts(); }

} // namespace goro::detail
