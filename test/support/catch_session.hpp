// Runs the Catch2 test cases linked into this binary with the command line
// `argv` (test/catch_session.cpp); for a test binary's main.
#pragma once

namespace goro_test {

int run_catch_session(int argc, char** argv);

} // namespace goro_test
