// The shared main of every goro test binary that needs no setup of its own.
#include "support/catch_session.hpp"

int main(int argc, char** argv)
{
    return goro_test::run_catch_session(argc, argv);
}
