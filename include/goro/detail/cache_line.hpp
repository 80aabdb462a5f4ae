// A word that many threads write, kept off the cache lines of its neighbours.
#pragma once

#include <cstddef>

namespace goro::inline GORO_ABI::detail {

/// The cache line size of the targets goro runs on (x86-64, and the 64-byte
/// lines of most arm64 cores).
inline constexpr std::size_t cache_line = 64;

/// Holds `value` so that the cache line it sits on holds no byte of anything
/// else, wherever the holder is placed at an address aligned for T: a
/// coroutine frame, the stack, a member of another object. No over-alignment
/// is needed (a coroutine frame does not honour it): `value` sits at offset
/// cache_line - alignof(T), so its line starts at or after the holder's
/// first byte, and cache_line bytes follow it, so the line ends inside the
/// holder. Costs 2 * cache_line - alignof(T) bytes.
///
/// Why: a counter that other Ps write on every operation (wait_group's
/// done()) shared a line with the owning goroutine's own frame fields, and
/// each write took the line from the owner's core and back (measured:
/// tools/bench/spawn at 2 Ps, 101-104 ns per goroutine with the group in the
/// spawning frame, 67-84 ns with it on a line of its own).
template <class T>
struct own_cache_line {
    static_assert(sizeof(T) == alignof(T) && alignof(T) <= cache_line,
                  "own_cache_line holds a word that no line boundary splits");
    unsigned char before[cache_line - alignof(T)];
    T value;
    unsigned char after[cache_line - sizeof(T)];
};

} // namespace goro::detail
