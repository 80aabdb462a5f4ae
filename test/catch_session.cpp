// The one translation unit that compiles Catch2's implementation (the
// single header compiles it where CATCH_CONFIG_RUNNER is defined). Every
// test binary links it: compiling the implementation once per binary with a
// main of its own took about two minutes of CPU each under
// -O2 -fsanitize=address,undefined.
#define CATCH_CONFIG_RUNNER
#include "support/catch_session.hpp"

#include <catch2/catch.hpp>

namespace goro_test {

int run_catch_session(int argc, char** argv)
{
    return Catch::Session().run(argc, argv);
}

} // namespace goro_test
