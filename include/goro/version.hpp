// goro version. The meson build reads these defines; they are the only place
// the version and the ABI version are written.
#pragma once

#define GORO_VERSION_MAJOR 0
#define GORO_VERSION_MINOR 1
#define GORO_VERSION_PATCH 0

// The ABI version: raised whenever a change breaks programs built against an
// older goro — the layout of anything the headers compile into users' code
// (a channel's inline part, an awaiter, the goroutine header), or the
// signature of an exported function. It is the shared library's soname
// (libgoro.so.<ABI>) and the inline namespace every goro name lives in
// (goro::abi_v<ABI>, config.hpp's GORO_ABI), so a program built against
// another ABI fails to load or to link instead of misbehaving.
#define GORO_ABI_VERSION 3
