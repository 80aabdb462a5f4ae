// Compile-failure cases for go(fn, args...) (test/meson.build runs each with
// -DGORO_REJECT_CASE=<n> and expects the compiler to fail with the named
// static_assert; case 0 holds the accepted neighbours of every case and must
// compile). Each refused call would bind a reference parameter of a
// task-returning fn to a temporary converted from the frame's copy of an
// argument: the temporary dies before the goroutine runs.
#include <goro/go.hpp>

#include <memory>
#include <string>

#ifndef GORO_REJECT_CASE
#error "define GORO_REJECT_CASE"
#endif

namespace {

goro::task<void> cref(const std::string&) { co_return; }
goro::task<void> rref(std::string&&) { co_return; }
goro::task<void> long_cref(const long&) { co_return; }
goro::task<void> move_only_then_cref(std::unique_ptr<int>, const std::string&) { co_return; }

struct object {
    goro::task<void> member(const std::string&) const { co_return; }
};

} // namespace

void start()
{
    [[maybe_unused]] object obj;
#if GORO_REJECT_CASE == 0
    std::string s = "text";
    goro::go(&cref, s);
    goro::go(&cref, std::string("text"));
    goro::go(&rref, std::string("text"));
    goro::go(&long_cref, 1L);
    goro::go(&move_only_then_cref, std::make_unique<int>(1), s);
    goro::go(&object::member, &obj, s);
    goro::go([](const std::string&) -> goro::task<void> { co_return; }, s);
    goro::go([](auto, const std::string&) -> goro::task<void> { co_return; }, 1, s);
    goro::go([](int, const std::string& = std::string()) -> goro::task<void> { co_return; }, 1, s);
#elif GORO_REJECT_CASE == 1 // a function: const std::string& from a string literal
    goro::go(&cref, "text");
#elif GORO_REJECT_CASE == 2 // rvalue reference from a string literal
    goro::go(&rref, "text");
#elif GORO_REJECT_CASE == 3 // const long& from an int
    goro::go(&long_cref, 1);
#elif GORO_REJECT_CASE == 4 // invoked on rvalues (a move-only argument), same binding
    goro::go(&move_only_then_cref, std::make_unique<int>(1), "text");
#elif GORO_REJECT_CASE == 5 // a member function
    goro::go(&object::member, &obj, "text");
#elif GORO_REJECT_CASE == 6 // a lambda with explicit parameter types
    goro::go([](const std::string&) -> goro::task<void> { co_return; }, "text");
#elif GORO_REJECT_CASE == 7 // a reference parameter left to a default argument
    goro::go([](int, const std::string& = std::string()) -> goro::task<void> { co_return; }, 1);
#elif GORO_REJECT_CASE == 8 // a generic lambda: its parameter types cannot be seen
    goro::go([](auto, const std::string&) -> goro::task<void> { co_return; }, 1, "text");
#else
#error "unknown GORO_REJECT_CASE"
#endif
}
