// Export and ABI macros and compiler checks shared by every public header.
#pragma once

#if !defined(__cpp_impl_coroutine) || __cplusplus < 202002L
#error "goro needs C++20 with coroutines (-std=c++20)"
#endif

// The library is built with -fvisibility=hidden; GORO_API marks its exported
// surface.
#define GORO_API __attribute__((visibility("default")))

#define GORO_NOINLINE __attribute__((noinline))

#include <goro/version.hpp>

#define GORO_ABI_CONCAT_(a, b) a##b
#define GORO_ABI_CONCAT(a, b) GORO_ABI_CONCAT_(a, b)
/// The inline namespace that holds every goro name, goro::abi_v<N> for ABI
/// version N (version.hpp): `namespace goro::inline GORO_ABI { ... }`. Users
/// write goro::chan as usual; the linker sees goro::abi_v3::chan (ABI 3).
#define GORO_ABI GORO_ABI_CONCAT(abi_v, GORO_ABI_VERSION)
