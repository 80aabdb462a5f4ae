// The frame cache (lib/sched/frame_cache.hpp) used directly, without a
// runtime: fresh frames come in populated runs, and every frame it hands out
// must still be a whole malloc block of its class size, distinct from every
// other, that plain free() accepts. Under AddressSanitizer a frame carved
// short, overlapping or not a malloc block start fails these tests, and a run
// the cache forgets to free at destruction fails LeakSanitizer.
#include "sched/frame_cache.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using goro::detail::central_frame_cache;
using goro::detail::frame_cache;
using goro::detail::frame_classes;

// Takes `n` frames of `size` bytes, fills each whole class block with a byte
// of its own and checks no frame overlaps another.
std::vector<unsigned char*> take_and_check(frame_cache& cache, std::size_t size, std::size_t n)
{
    const std::size_t block = frame_classes::size_of(frame_classes::class_of(size));
    std::vector<unsigned char*> frames;
    for (std::size_t i = 0; i < n; ++i) {
        auto* f = static_cast<unsigned char*>(cache.alloc(size));
        std::memset(f, int(i & 0xff), block);
        frames.push_back(f);
    }
    std::size_t overwritten = 0; // bytes a later frame wrote over
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t b = 0; b < block; ++b)
            overwritten += frames[i][b] != (i & 0xff);
    REQUIRE(overwritten == 0);
    std::vector<unsigned char*> sorted = frames;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 1; i < sorted.size(); ++i)
        REQUIRE(sorted[i] - sorted[i - 1] >= std::ptrdiff_t(block));
    return frames;
}

} // namespace

TEST_CASE("fresh frames are distinct whole blocks of their class, across many doubling runs", "[frame_cache]")
{
    central_frame_cache central;
    frame_cache cache(central);
    // 5,000 frames of 448 bytes is far past the largest run (64 KiB), and
    // the small class reaches it many times over.
    for (std::size_t size : {std::size_t(1), std::size_t(100), std::size_t(448), std::size_t(1500),
                             frame_classes::max_size}) {
        auto frames = take_and_check(cache, size, 5000);
        for (unsigned char* f : frames)
            cache.free(f, size);
    }
}

TEST_CASE("frames freed back are handed out again before fresh memory", "[frame_cache]")
{
    central_frame_cache central;
    frame_cache cache(central);
    auto first = take_and_check(cache, 200, 100);
    for (unsigned char* f : first)
        cache.free(f, 200);
    auto again = take_and_check(cache, 200, 100);
    std::sort(first.begin(), first.end());
    for (unsigned char* f : again)
        REQUIRE(std::binary_search(first.begin(), first.end(), f));
    for (unsigned char* f : again)
        cache.free(f, 200);
}

TEST_CASE("a frame from a fresh run can be freed with plain free, and the cache frees the rest", "[frame_cache]")
{
    central_frame_cache central;
    std::vector<unsigned char*> frames;
    {
        frame_cache cache(central);
        frames = take_and_check(cache, 64, 300); // several runs; the last leaves frames cached
    } // the cache frees the frames it still holds (LeakSanitizer checks)
    for (unsigned char* f : frames)
        std::free(f); // not a malloc block start: AddressSanitizer reports it
}

TEST_CASE("frames past the largest class go to malloc at their own size", "[frame_cache]")
{
    central_frame_cache central;
    frame_cache cache(central);
    const std::size_t size = frame_classes::max_size + 1;
    // A block shorter than `size` fails here under AddressSanitizer (the
    // write past its end), and one the cache kept would leak (LeakSanitizer).
    auto* f = static_cast<unsigned char*>(cache.alloc(size));
    std::memset(f, 0x5a, size);
    cache.free(f, size);
}

TEST_CASE("frames one cache gives up reach another through the central lists", "[frame_cache]")
{
    central_frame_cache central;
    frame_cache producer(central);
    frame_cache consumer(central);
    frame_cache third(central);
    // The consumer frees what the producer allocated, as when one P spawns
    // and another runs: past its capacity it hands batches to the central
    // list, from which a cache with none of its own refills before it takes
    // fresh memory.
    const std::size_t n = 3 * frame_cache::capacity;
    auto first = take_and_check(producer, 200, n);
    for (unsigned char* f : first)
        consumer.free(f, 200);
    std::sort(first.begin(), first.end());
    auto again = take_and_check(third, 200, frame_cache::capacity); // central holds at least n - capacity
    std::size_t reused = 0;
    for (unsigned char* f : again)
        reused += std::binary_search(first.begin(), first.end(), f);
    REQUIRE(reused == again.size());
    for (unsigned char* f : again)
        third.free(f, 200);
}
