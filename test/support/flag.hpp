// A goroutine that raises a flag: the "someone else got to run" probe of the
// fairness and budget tests.
#pragma once

#include <goro/task.hpp>

#include <atomic>

namespace goro_test {

inline goro::task<void> set_flag(std::atomic<bool>* flag)
{
    flag->store(true);
    co_return;
}

} // namespace goro_test
