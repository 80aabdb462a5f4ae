// A test-only watchdog: aborts the test binary when a progress counter stops
// moving for 120 s, so a lost wakeup or a deadlock fails a stress test
// instead of hanging it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace goro_test {

class watchdog {
public:
    /// `what` names the failure in the abort message ("lost wakeup").
    explicit watchdog(std::atomic<long>& progress, const char* what = "lost wakeup")
        : progress_(progress), what_(what), thread_([this] { watch(); })
    {
    }
    ~watchdog()
    {
        done_.store(true);
        thread_.join();
    }
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;

private:
    void watch()
    {
        long last = -1;
        auto since = std::chrono::steady_clock::now();
        while (!done_.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            long now = progress_.load();
            if (now != last) {
                last = now;
                since = std::chrono::steady_clock::now();
            } else if (std::chrono::steady_clock::now() - since > std::chrono::seconds(120)) {
                std::fprintf(stderr, "watchdog: no progress for 120 s at step %ld: %s\n", now, what_);
                std::abort();
            }
        }
    }
    std::atomic<long>& progress_;
    const char* what_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

} // namespace goro_test
