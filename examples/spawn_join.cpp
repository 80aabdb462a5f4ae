// spawn_join: joinable goroutines. goro::spawn starts a goroutine and returns a
// join_handle; `co_await h` waits for it and returns its value, or rethrows
// what it threw. Exceptions also travel up through co_await of plain tasks.
//
// The output is the same on every run.
#include <goro/goro.hpp>

#include <charconv>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// A goroutine that can fail. `text` is taken by value, so it lives in the
// coroutine frame for as long as the goroutine runs.
goro::task<int> parse_port(std::string text)
{
    co_await goro::yield(); // pretend to do something that suspends
    int port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc{} || end != text.data() + text.size() || port < 1 || port > 65535)
        throw std::invalid_argument("bad port \"" + text + "\"");
    co_return port;
}

// Parses every input in its own goroutine. Joins all of them before reporting
// the first failure: a join_handle destroyed without being awaited detaches
// its goroutine, and an exception escaping a detached goroutine ends the
// program.
goro::task<std::vector<int>> parse_all(std::vector<std::string> inputs)
{
    std::vector<goro::join_handle<int>> handles;
    for (const std::string& s : inputs)
        handles.push_back(goro::spawn(parse_port(s)));

    std::vector<int> ports;
    std::exception_ptr first_error;
    for (auto& h : handles) {
        try {
            ports.push_back(co_await h);
        } catch (...) {
            if (!first_error)
                first_error = std::current_exception();
        }
    }
    if (first_error)
        std::rethrow_exception(first_error);
    co_return ports;
}

goro::task<void> print_all(std::vector<std::string> inputs)
{
    // Propagates out of parse_all's frame into this one, and on to the caller.
    std::vector<int> ports = co_await parse_all(std::move(inputs));
    for (int p : ports)
        std::printf(" %d", p);
    std::printf("\n");
}

goro::task<int> app()
{
    // 1. One goroutine, one value.
    goro::join_handle<int> h = goro::spawn(parse_port("8080"));
    int port = co_await h;
    std::printf("1. joined: %d\n", port);

    // 2. The exception a goroutine throws comes out of co_await on its handle.
    goro::join_handle<int> bad = goro::spawn(parse_port("http"));
    try {
        int p = co_await bad;
        std::printf("2. unexpected: %d\n", p);
    } catch (const std::invalid_argument& e) {
        std::printf("2. caught from the goroutine: %s\n", e.what());
    }

    // 3. Through a task chain: print_all -> parse_all -> join_handle.
    // (With g++ 12, build temporaries such as this vector into named locals
    // before co_await; see docs/guide/goroutines.md.)
    std::printf("3. ports:");
    std::vector<std::string> good{"22", "80", "443"};
    co_await print_all(std::move(good));
    try {
        std::vector<std::string> mixed{"53", "99999", "123", "x"};
        co_await print_all(std::move(mixed));
    } catch (const std::invalid_argument& e) {
        std::printf("3. caught through two tasks: %s\n", e.what());
    }

    // 4. A handle is awaited once; a second co_await is a programmer error,
    //    reported as goro::panic (Go would panic too).
    try {
        int again = co_await h;
        std::printf("4. unexpected: %d\n", again);
    } catch (const goro::panic& e) {
        std::printf("4. goro::panic: %s\n", e.what());
    }
    co_return 0;
}

} // namespace

int main()
{
    return goro::run(app());
}
