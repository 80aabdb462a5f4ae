// The spin-wait hint every busy wait in the runtime uses between looks.
// On x86 it is PAUSE, which takes ~27-33 ns on the AMD EPYC (Zen 3) VM the
// spin counts were tuned on (measured with a loop of 10 million), so spin
// budgets are written as pause counts with their time on that machine.
#pragma once

#include <goro/config.hpp>

namespace goro::inline GORO_ABI::detail {

inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

} // namespace goro::detail
