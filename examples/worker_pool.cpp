// worker_pool: a fixed pool of K worker goroutines fed through a jobs
// channel, answering on a results channel; a wait_group tells when the last
// worker is done so that results can be closed. Go by Example's "Worker Pools",
// with the closing done properly.
//
// Each job is a number; its result is the number of Collatz steps it takes to
// reach 1. main checks that every job got exactly one result and that each
// agrees with a serial computation, then prints the longest chain.
//
// Which worker runs which job changes from run to run, the output does not.
// Exits 1 on a missing, duplicated or wrong result.
#include <goro/goro.hpp>

#include <cstdio>
#include <vector>

namespace {

constexpr int n_jobs = 100'000;
constexpr int n_workers = 8;

struct job {
    int id;
    long n;
};

struct result {
    int id;
    int steps;
};

int collatz_steps(long n)
{
    int steps = 0;
    for (; n != 1; ++steps)
        n = n % 2 ? 3 * n + 1 : n / 2;
    return steps;
}

// Sends the jobs, then closes `jobs`: workers stop when it is drained.
goro::task<void> feed(goro::send_chan<job> jobs, int count)
{
    for (int i = 0; i < count; ++i) {
        job j{i, i + 1L}; // g++ 12: no braced temporaries inside co_await
        co_await jobs.send(j);
    }
    jobs.close();
}

goro::task<void> worker(goro::recv_chan<job> jobs, goro::send_chan<result> results, goro::wait_group& wg)
{
    while (auto j = co_await jobs.recv()) {
        result r{j->id, collatz_steps(j->n)};
        co_await results.send(r);
    }
    wg.done();
}

// Many workers send on `results`, so none of them may close it: this goroutine
// closes it once all of them are done.
goro::task<void> close_when_done(goro::wait_group& wg, goro::send_chan<result> results)
{
    co_await wg.wait();
    results.close();
}

goro::task<int> app()
{
    goro::chan<job> jobs(64);
    goro::chan<result> results(64);

    // wg lives in main's frame, and main returns only after `results` is
    // closed, so it outlives every goroutine that uses it.
    goro::wait_group wg;
    wg.add(n_workers);
    for (int w = 0; w < n_workers; ++w)
        goro::go(worker(jobs, results, wg));
    goro::go(close_when_done(wg, results));
    goro::go(feed(jobs, n_jobs));

    std::vector<int> steps(n_jobs, -1);
    int received = 0;
    int bad = 0;
    while (auto r = co_await results.recv()) { // until close_when_done closes it
        ++received;
        if (r->id < 0 || r->id >= n_jobs || steps[r->id] != -1)
            ++bad; // unknown or duplicated
        else
            steps[r->id] = r->steps;
    }

    int longest = 0;
    for (int i = 0; i < n_jobs; ++i) {
        if (steps[i] != collatz_steps(i + 1L))
            ++bad; // missing or wrong
        if (steps[i] > steps[longest])
            longest = i;
    }
    bool ok = received == n_jobs && bad == 0;
    std::printf("%d jobs on %d workers: %d results\n", n_jobs, n_workers, received);
    std::printf("longest Collatz chain starting at 1..%d: %d, %d steps\n", n_jobs, longest + 1, steps[longest]);
    std::printf("results check: %s\n", ok ? "correct" : "WRONG");
    co_return ok ? 0 : 1;
}

} // namespace

int main()
{
    return goro::run(app());
}
