// A downstream program: what a user of goro writes, built outside goro's own
// build (as a meson subproject, or against the installed library through
// pkg-config). It starts goroutines both ways (spawn + join, go + wait_group)
// and prints one line that test/downstream/*.sh check.
#include <goro/goro.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

goro::task<int> square(int x)
{
    co_await goro::yield();
    co_return x * x;
}

void count(goro::wait_group& wg, std::atomic<int>& n)
{
    n.fetch_add(1, std::memory_order_relaxed);
    wg.done();
}

goro::task<int> app()
{
    std::vector<goro::join_handle<int>> handles;
    for (int i = 1; i <= 10; ++i)
        handles.push_back(goro::spawn(square(i)));
    int sum = 0;
    for (auto& h : handles) {
        int v = co_await h;
        sum += v;
    }

    goro::wait_group wg;
    std::atomic<int> n{0};
    wg.add(100);
    for (int i = 0; i < 100; ++i)
        goro::go(count, std::ref(wg), std::ref(n));
    co_await wg.wait();

    std::printf("goro downstream ok: sum=%d detached=%d\n", sum, n.load());
    co_return 0;
}

} // namespace

int main()
{
    return goro::run(app());
}
