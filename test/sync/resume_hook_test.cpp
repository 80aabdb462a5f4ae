// Resume hooks (include/goro/detail/resume_hook.hpp) pass for coroutine
// frames: a worker resumes a parked goroutine's leaf through
// std::coroutine_handle<>, and for a hook that must call the armed function
// with the hook's own address. Every woken mutex, cond and semaphore waiter
// relies on it; the top-level meson.build checks the same layout when it
// configures.
#include "sync/resume_hook.hpp"

#include <catch2/catch.hpp>

#include <coroutine>

namespace {

int calls = 0;
void* called_with = nullptr;

void record_call(void* self) noexcept
{
    ++calls;
    called_with = self;
}

} // namespace

TEST_CASE("resume_hook: resuming the handle calls the armed function with the hook's address", "[resume_hook]")
{
    calls = 0;
    called_with = nullptr;
    goro::detail::resume_hook hook;
    // Stored as a plain handle, as a goroutine keeps its leaf.
    std::coroutine_handle<> leaf = goro::detail::arm_hook(hook, &record_call);
    CHECK(leaf.address() == &hook);
    CHECK(goro::detail::hook_handle(hook) == leaf);
    leaf.resume();
    CHECK(calls == 1);
    CHECK(called_with == &hook);
}
