// The M:N scheduler: Ps, worker threads, run queues. The design, its
// invariants and its memory-ordering protocol are written once, at the top of
// scheduler.cpp.
#pragma once

#include "sched/frame_cache.hpp"
#include "sched/global_queue.hpp"
#include "sched/netpoll.hpp"
#include "sched/registry.hpp"
#include "sched/runq.hpp"
#include "sched/timer_heap.hpp"

#include <goro/detail/goroutine.hpp>
#include <goro/detail/futex_lock.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace goro::inline GORO_ABI::detail {

class scheduler;

/// A P's local run queue: rings of 1,024 slots, four times Go's 256. A full
/// ring hands its older half to the global queue, from which every P takes,
/// so each overflow deals a P's queued goroutines out over all Ps again; a
/// pipeline that keeps more stages runnable than the ring holds (the prime
/// sieve, late in its run) was scattered that way until nearly every stage
/// handed its value to a stage on the other P (docs/performance.md, "Run
/// queue overflow").
using local_runq = runq<goroutine, 1024>;

/// A P: what a worker needs to run goroutines. Each worker thread owns one P
/// for the runtime's whole run (M and P are bound; see "Ps and Ms").
struct p_state {
    // --- Immutable after init ---
    scheduler* sched;
    unsigned id;

    // --- Owner thread only ---
    frame_cache frames;
    goroutine_registry::cache slots; // free registry slots
    std::uint64_t rng;
    std::uint32_t schedtick = 0;      // goroutines run so far
    std::uint32_t runnext_streak = 0; // consecutive runs taken from runnext
    bool spinning = false;            // counted in scheduler::nmspinning_
    // (These three fill the padding before spin_until: adding them moved
    // the run queue and cost the select benchmark 3 ns at one P.)
    bool ring_turn = false;           // the last woken ran: the next schedule fires no timers
    std::uint8_t woken_head = 0;      // woken[woken_head, woken_tail): see `woken`
    std::uint8_t woken_tail = 0;
    std::int64_t spin_until = 0;      // end of the current spin window (0: none)
    bool dry = false;                 // found no local or global work; not yet running again
    std::uint32_t short_busy = 0;     // consecutive busy periods shorter than useful_busy_ns (capped)
    std::int64_t busy_since = 0;      // when this P last started running after being dry
    std::int64_t steal_not_before = 0; // steal back-off: no stealing before this time
    char* stack_floor = nullptr;       // transfers below this park (stack_guard.hpp)
    std::array<goroutine*, p_netpoll::batch> polled; // goroutines a poll readied

    // --- Shared ---
    local_runq runq_;                         // see runq.hpp for its protocol
    std::atomic<goroutine*> current{nullptr}; // running G; owner stores, thieves peek (runnext back-off)
    std::atomic<std::int64_t> live{0};        // Gs started minus finished here; owner writes, anyone sums
    std::atomic<bool> idle{false};            // on scheduler::idle_; written under scheduler::mu_
    p_netpoll io; // the poller this P's worker waits in when idle (netpoll.hpp)
    timer_heap timers; // the timers armed on this P (timer.cpp)
    /// While this P holds the timer duty: the deadline it sleeps until
    /// (timer_heap::none while it computes it). Owner stores, arms load; see
    /// "Timers" in scheduler.cpp.
    std::atomic<std::int64_t> timer_wait_until{timer_heap::none};

    // --- The P on timer duty, while it holds it (its release store and the next
    // holder's CAS order the holders) ---
    /// What this P ran, and held in its runnext, at the duty's last look
    /// (scheduler.cpp, "Submitting work"): identities, never dereferenced.
    const goroutine* watch_running = nullptr;
    const goroutine* watch_next = nullptr;

    // --- Owner thread only ---
    /// Goroutines this P's timer fires woke, in deadline order, run before
    /// anything else (see "Timers" in scheduler.cpp).
    static constexpr std::uint32_t woken_max = 64;
    std::array<goroutine*, woken_max> woken;

    p_state(scheduler& s, unsigned id_, central_frame_cache& central, std::uint64_t seed)
        : sched(&s), id(id_), frames(central), rng(seed)
    {
    }
};

class scheduler {
public:
    static constexpr std::int32_t budget_per_slice = 128;
    static constexpr std::uint32_t global_check_interval = 61;
    static constexpr std::uint32_t max_runnext_streak = 16; // see find_local, step 2
    static constexpr std::int64_t spin_before_park_ns = 20'000;
    static constexpr std::int64_t useful_busy_ns = 100'000;
    static constexpr std::uint32_t max_steal_backoff_shift = 5; // back-off up to 1us << 5 = 32us
    static constexpr std::int64_t timer_spin_ns = 50'000; // a timer due this soon: do not park (timer_soon)
    /// The period of the runnext watch: a goroutine left in a running P's
    /// runnext for two looks (up to twice this) is stolen ("Submitting work"
    /// in scheduler.cpp).
    static constexpr std::int64_t runnext_patience_ns = 500'000;

    explicit scheduler(unsigned procs);
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    /// Runs until request_stop(): `main` goes on the global queue, the calling
    /// thread becomes P 0's worker, procs-1 threads serve the other Ps. Owns
    /// `main` from the call on. When the workers are done, destroys every
    /// goroutine of the run (see "Stopping" in scheduler.cpp). Throws
    /// goro::panic (after destroying `main`) if another scheduler is running.
    void run(goroutine& main);
    void request_stop() noexcept;

    /// A new goroutine from a worker of this scheduler (the local ring), or
    /// from any other thread (the global queue). Throws std::bad_alloc.
    void start_local(p_state& p, goroutine& g);
    void start_external(goroutine& g);
    void put_local(p_state& p, goroutine& g, bool next,
                   local_runq::entry_kind kind = local_runq::entry_kind::queued) noexcept;
    void global_put(goroutine& g) noexcept;
    enum class yield_to : bool { global, local };
    /// Queues a yielding G: on the global queue (goro::yield) or at the back
    /// of p's own queue (its cooperative budget ran out).
    void yield_put(p_state& p, goroutine& g, yield_to where) noexcept;
    /// The goroutine running on `p` has ended.
    void goroutine_finished(p_state& p, goroutine& g) noexcept;
    /// run() is destroying the goroutines of a finished run.
    bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }

    /// Arms `t` on `p`'s heap (the caller runs on p), or on P 0's from a
    /// thread without a P, and wakes an idle P if `t` is now the earliest
    /// deadline it should wait for (Go's wakeNetPoller). Touches nothing of
    /// `t` after inserting it.
    void add_timer(p_state& p, runtime_timer& t, std::int64_t when) noexcept;
    void add_timer_external(runtime_timer& t, std::int64_t when) noexcept;

    long num_goroutine() const noexcept;
    unsigned procs() const noexcept { return unsigned(ps_.size()); }

private:
    void worker_main(p_state& p);
    goroutine* find_runnable(p_state& p);
    goroutine* find_local(p_state& p);
    goroutine* fairness_step(p_state& p);
    goroutine* find_runnable_slow(p_state& p);
    goroutine* steal_work(p_state& p);
    static void note_ran_dry(p_state& p, std::int64_t now) noexcept;
    goroutine* global_get_locked(p_state& p, std::uint32_t max);
    void global_put_many(goroutine* const* gs, std::uint32_t n) noexcept;
    void global_push(goroutine& g) noexcept;
    void wake_if_needed() noexcept;
    void wake_if_needed_after_rmw() noexcept;
    void wakep() noexcept;
    void reset_spinning(p_state& p) noexcept;
    bool any_work_visible() const noexcept;
    goroutine* poll_network(p_state& p, bool dry);
    void start_netpoll(p_state& p);
    bool leave_idle_list(p_state& p);
    void hand_over_epoll_duty(p_state& self) noexcept;
    p_state* rename_epoll_heir_locked(const p_state& leaving) noexcept;
    void timer_armed(std::int64_t when) noexcept;
    void check_timers(p_state& p) noexcept;
    goroutine* timer_step(p_state& p) noexcept;
    bool run_others_timers(p_state& p, std::int64_t now) noexcept;
    std::int64_t earliest_timer() const noexcept;
    bool timer_soon(std::int64_t now) const noexcept;
    bool own_timer_soon(const p_state& p, std::int64_t now) const noexcept;
    bool runnext_starved(p_state& p) noexcept;
    bool others_busy(const p_state& p) const noexcept;
    bool runnext_left_alone(const p_state& victim) const noexcept;
    void drain() noexcept;
    bool drain_pass() noexcept;
    static void tell_drain_waits_for(const goroutine& g) noexcept;
    void destroy_queued() noexcept;
    void abandon(goroutine& g) noexcept;

    // --- Immutable after init ---
    central_frame_cache central_frames_; // outlives the Ps' caches that feed it
    std::unique_ptr<shared_epoll> epoll_set_; // epoll backend: made by the first run; outlives the Ps' pollers
    std::vector<std::unique_ptr<p_state>> ps_;
    std::vector<std::uint32_t> coprimes_; // steal orders: start + k*step mod procs

    // --- Guarded by mu_ (every critical section is O(1) but for the idle
    // list's erase, which is O(procs)) ---
    mutable futex_lock mu_;
    global_queue<goroutine, local_runq::overflow_max> global_;
    std::vector<p_state*> idle_;
    p_state* epoll_heir_ = nullptr; // the idle P last rung to take the epoll duty over ("The epoll duty")

    // --- Atomics (see "Spinning and parking" in scheduler.cpp) ---
    std::atomic<std::uint32_t> global_size_{0}; // == global_.size(); written under mu_, read without it
    std::atomic<std::uint32_t> npidle_{0};      // == idle_.size(); written under mu_
    std::atomic<std::uint32_t> nmspinning_{0};  // Ps that are spinning (looking for work)
    std::atomic<p_state*> timer_duty_{nullptr}; // the idle P that sleeps until the next timer ("Timers")
    std::atomic<bool> stopping_{false};
    std::atomic<bool> draining_{false};
    goroutine_registry registry_;
    std::atomic<std::int64_t> external_live_{0}; // Gs started from threads that own no P
    // --- drain() only ---
    static constexpr std::int64_t drain_give_up_ns = 30'000'000'000;
    std::int64_t drain_wait_since_ = 0;
    static constexpr std::int64_t drain_tell_blocking_ns = 5'000'000'000;
    std::int64_t drain_blocking_since_ = 0; // a goro::blocking fn runs (see "Stopping")
    bool drain_blocking_told_ = false;
};

/// Keeps the running scheduler alive for a thread that owns no P (see
/// "Threads that own no P" in scheduler.cpp).
class external_entry {
public:
    external_entry() noexcept;
    ~external_entry();
    external_entry(const external_entry&) = delete;
    external_entry& operator=(const external_entry&) = delete;
    /// The running scheduler, or nullptr.
    scheduler* get() const noexcept { return s_; }

private:
    scheduler* s_;
};

/// The scheduler whose drain() runs on this thread, or nullptr.
scheduler* current_drainer() noexcept;

// Timers (timer.cpp).
/// Inserts `t` for `when` into `h`; true if it became the earliest.
bool insert_timer(timer_heap& h, runtime_timer& t, std::int64_t when) noexcept;
/// Fires h's timers due by `now`, at most `max`; returns how many fired.
std::size_t run_timers(timer_heap& h, std::int64_t now, std::size_t max) noexcept;
/// The end of a run: drops every timer of `h`.
void clear_timers(timer_heap& h) noexcept;

/// The P of the calling worker thread, or nullptr. Never inlined: clang may
/// cache a thread_local's address across a coroutine suspension.
p_state* current_p() noexcept;

/// The running scheduler's num_goroutine() and procs(), or 0 when none runs.
/// Safe from any thread at any moment, including while run() returns.
long running_num_goroutine() noexcept;
unsigned running_procs() noexcept;
/// The end of a goroutine that ran on this worker (goroutine_exit).
void goroutine_finished(goroutine& g) noexcept;
/// Stops the scheduler of this worker (the main goroutine's last act).
void request_stop_current() noexcept;
frame_cache* current_frame_cache() noexcept;

} // namespace goro::detail
