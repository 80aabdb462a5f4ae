// pipeline: fan-out and fan-in over channels, the pattern of Go's "Pipelines
// and cancellation" article.
//
//                      +--> square --+
//   generate --> nums -+--> square --+--> forward x N --> merged --> main
//                      +--> square --+
//
// One generator goroutine sends 1..n on an unbuffered channel and closes it.
// N square workers all receive from that one channel (fan-out: each number
// goes to exactly one of them); each sends the squares on its own channel and
// closes it once `nums` is drained. merge() forwards every worker's channel
// into one (fan-in) and closes it when the last forwarder is done, which it
// learns from a wait_group. main ranges over the merged channel until it is
// closed. Every channel is closed by the only goroutine that sends on it, once
// it has sent everything; nobody closes a channel it receives from.
//
// Which worker squares which number changes from run to run, the output does
// not. Exits 1 if the sum is wrong.
#include <goro/goro.hpp>

#include <cstdio>
#include <utility>
#include <vector>

namespace {

constexpr long n = 10'000;
constexpr int n_workers = 4;

// Sends 1..count, then closes: the sender closes, when it has sent everything.
goro::task<void> generate(goro::send_chan<long> out, long count)
{
    for (long i = 1; i <= count; ++i)
        co_await out.send(i);
    out.close();
}

// Go's `func gen(n int) <-chan int`: makes the channel, starts the goroutine
// that fills it, and hands back the receive end. The channel handle is a
// shared reference, so the goroutine's copy keeps it alive.
goro::recv_chan<long> gen(long count)
{
    goro::chan<long> out(0);
    goro::go(generate(out, count));
    return out;
}

goro::task<void> square(goro::recv_chan<long> in, goro::send_chan<long> out)
{
    while (auto v = co_await in.recv()) // for v := range in
        co_await out.send(*v * *v);
    out.close();
}

goro::recv_chan<long> sq(goro::recv_chan<long> in)
{
    goro::chan<long> out(0);
    goro::go(square(in, out));
    return out;
}

goro::task<void> forward(goro::recv_chan<long> in, goro::send_chan<long> out, goro::wait_group& wg)
{
    while (auto v = co_await in.recv())
        co_await out.send(*v);
    wg.done();
}

// Owns the wait_group of the forwarders: it waits on it, so it outlives them.
// `out` has many senders, so it is closed here, after the last of them.
goro::task<void> merge_all(std::vector<goro::recv_chan<long>> ins, goro::send_chan<long> out)
{
    goro::wait_group wg;
    wg.add(static_cast<int>(ins.size()));
    for (const auto& in : ins)
        goro::go(forward(in, out, wg));
    co_await wg.wait();
    out.close();
}

goro::recv_chan<long> merge(std::vector<goro::recv_chan<long>> ins)
{
    goro::chan<long> out(0);
    goro::go(merge_all(std::move(ins), out));
    return out;
}

goro::task<int> app()
{
    goro::recv_chan<long> nums = gen(n);
    std::vector<goro::recv_chan<long>> squares;
    for (int w = 0; w < n_workers; ++w)
        squares.push_back(sq(nums)); // fan-out: every worker receives from nums
    goro::recv_chan<long> merged = merge(std::move(squares));

    long count = 0;
    long sum = 0;
    while (auto v = co_await merged.recv()) {
        ++count;
        sum += *v;
    }

    const long expected = n * (n + 1) * (2 * n + 1) / 6;
    bool ok = count == n && sum == expected;
    std::printf("%d square workers, fan-in through %d forwarders\n", n_workers, n_workers);
    std::printf("received %ld squares; sum of i*i for i in 1..%ld = %ld (%s)\n", count, n, sum,
                ok ? "correct" : "WRONG");
    co_return ok ? 0 : 1;
}

} // namespace

int main()
{
    return goro::run(app());
}
