// A producer for the channel stress tests: sends from, from + 1, ...,
// from + n - 1 on `ch`, then marks itself done on `wg`.
#pragma once

#include <goro/chan.hpp>
#include <goro/task.hpp>
#include <goro/wait_group.hpp>

namespace goro_test {

inline goro::task<void> send_counting(goro::chan<long> ch, long from, long n, goro::wait_group* wg)
{
    for (long i = 0; i < n; ++i)
        co_await ch.send(from + i);
    wg->done();
}

} // namespace goro_test
