// Export macro and compiler checks shared by every public header.
#pragma once

#if !defined(__cpp_impl_coroutine) || __cplusplus < 202002L
#error "goro needs C++20 with coroutines (-std=c++20)"
#endif

// The library is built with -fvisibility=hidden; GORO_API marks its exported
// surface.
#define GORO_API __attribute__((visibility("default")))

#define GORO_NOINLINE __attribute__((noinline))
