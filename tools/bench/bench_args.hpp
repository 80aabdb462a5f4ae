// Command-line handling and output shared by the goro benchmark programs.
#pragma once

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>

/// argv[1] as a positive count that fits an int (wait_group::add takes one),
/// or `fallback` when absent. Exits with status 2 and a usage line on anything
/// else.
inline long count_arg(int argc, char** argv, long fallback, const char* what)
{
    if (argc < 2)
        return fallback;
    char* end = nullptr;
    long v = std::strtol(argv[1], &end, 10);
    if (argc > 2 || end == argv[1] || *end != '\0' || v <= 0 || v > INT_MAX) {
        std::fprintf(stderr, "usage: %s [%s]\n", argv[0], what);
        std::exit(2);
    }
    return v;
}

/// Prints the one line compare.sh reads, "<name> ns_per_op <elapsed / n>".
inline void print_ns_per_op(const char* name, std::chrono::steady_clock::duration elapsed, long n)
{
    double ns = std::chrono::duration<double, std::nano>(elapsed).count();
    std::printf("%s ns_per_op %.1f\n", name, ns / static_cast<double>(n));
}

/// Prints the one line compare.sh reads, "<name> ms <elapsed in milliseconds>".
inline void print_ms(const char* name, std::chrono::steady_clock::duration elapsed)
{
    std::printf("%s ms %.1f\n", name, std::chrono::duration<double, std::milli>(elapsed).count());
}
