#include <goro/panic.hpp>

namespace goro::inline GORO_ABI {

panic::panic(const std::string& what) : std::logic_error(what) {}
panic::panic(const char* what) : std::logic_error(what) {}

} // namespace goro
