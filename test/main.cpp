// The shared Catch2 main of every goro test binary.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
