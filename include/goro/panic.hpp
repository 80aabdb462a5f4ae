// goro::panic: what goro throws for a programmer error that Go answers with a
// panic (a negative wait_group counter, awaiting an empty join handle, ...).
#pragma once

#include <goro/config.hpp>

#include <stdexcept>
#include <string>

namespace goro::inline GORO_ABI {

/// Thrown for misuse of the API. The message names the misuse, e.g.
/// "goro::wait_group: negative counter". Catching it is allowed, but like a Go
/// panic it signals a bug in the calling code, not a condition of the world.
/// Escaping a detached goroutine, it ends the program (exit status 2) after
/// printing "panic: <message>" and where the goroutine was spawned.
class GORO_API panic : public std::logic_error {
public:
    explicit panic(const std::string& what);
    explicit panic(const char* what);
};

} // namespace goro
