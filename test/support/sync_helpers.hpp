// Test-only helpers the sync tests share: start n goroutines and wait for all
// of them, and measure whether a loop of always-ready awaits spends the
// cooperative budget.
#pragma once

#include <goro/goro.hpp>

#include <atomic>
#include <utility>

namespace goro_test {

/// Starts n goroutines fn(i, args..., &wg), i = 0..n-1, and waits until each
/// has called wg.done().
template <class Fn, class... Args>
goro::task<void> go_n_and_wait(int n, Fn fn, Args... args)
{
    goro::wait_group wg;
    wg.add(n);
    for (int i = 0; i < n; ++i)
        goro::go(fn(i, args..., &wg));
    co_await wg.wait();
}

inline goro::task<void> set_flag(std::atomic<bool>* flag)
{
    flag->store(true);
    co_return;
}

/// Starts a goroutine that sets a flag, then awaits op(arg) in a loop until the
/// flag is set, at most 1,000,000 times; returns the number of iterations. On
/// one P the new goroutine runs only when this one suspends, so when op's
/// awaits complete without suspending but spend the cooperative budget (128
/// per slice) the loop stops within 256 iterations.
template <class Op, class Arg>
goro::task<long> iterations_before_others_run(Op op, Arg* arg)
{
    std::atomic<bool> flag{false};
    goro::go(set_flag(&flag));
    long i = 0;
    for (; i < 1'000'000 && !flag.load(); ++i) {
        auto t = op(arg);
        co_await std::move(t);
    }
    co_return i;
}

} // namespace goro_test
