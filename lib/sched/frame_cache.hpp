// Per-P caches of coroutine frames, so spawning and finishing a goroutine
// touch no shared state in the common case. Channels are allocated here too
// (lib/chan/chan.cpp, from_frame_cache).
//
// Frames are rounded up to a size class and come from malloc. Each P keeps,
// per class, a stack of free frames: an array of pointers, not a list linked
// through the frames. A frame freed on another P than the one that allocated
// it lands in the freeing P's stack. To keep a producer P / consumer P pair
// from growing one stack forever, a full stack (`capacity`) hands its oldest
// `batch` frames to the shared central list of its class, and an empty one
// refills from there before calling malloc. Every cached block is a malloc'd
// block of exactly its class size, so a frame can be freed by any P, by a
// thread outside the runtime (plain free), or after the runtime is gone.
//
// Why arrays: the frames a P takes from the central list were freed on
// another P, so their lines sit in that P's cache. Popping a linked list
// reads each frame to find the next, one cross-core miss after another, and
// that chain was 38% of the spawn benchmark at two Ps (the spawning P
// allocates, the other runs and frees). From an array the next frames'
// addresses are known, and alloc prefetches a few ahead for writing, so the
// misses overlap (docs/performance.md, "Free frames in arrays").
//
// Fresh frames are malloc'd a run at a time, and the pages under the run are
// populated with one madvise(MADV_POPULATE_WRITE) instead of one page fault
// each: on the VMs this project is measured on, a page fault costs about
// 10 us and a populated page about 5 (docs/performance.md, "Fresh memory").
// A class's run starts at one frame and doubles with each refill that finds
// no cached frame, up to about 64 KiB or `capacity` frames, so a program that starts a handful of
// goroutines does not fill its caches with frames it never uses.
//
// Under AddressSanitizer (meson option frame_cache=auto) frames go straight to
// malloc/free so use-after-free of a frame stays visible.
#pragma once

#include <goro/config.hpp>

#include <goro_build_config.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace goro::inline GORO_ABI::detail {

/// Size classes: 32-byte steps to 1 KiB, then 256-byte steps to 4 KiB.
/// Larger frames bypass the caches.
struct frame_classes {
    static constexpr std::size_t count = 32 + 12;
    static constexpr std::size_t max_size = 4096;

    static constexpr std::size_t class_of(std::size_t size) noexcept
    {
        if (size <= 1024)
            return size == 0 ? 0 : (size + 31) / 32 - 1;
        return 32 + (size - 1024 + 255) / 256 - 1;
    }
    static constexpr std::size_t size_of(std::size_t cls) noexcept
    {
        return cls < 32 ? (cls + 1) * 32 : 1024 + (cls - 32 + 1) * 256;
    }
};

/// Shared by all Ps of a runtime: free frames per size class, handed over
/// in batches.
class central_frame_cache {
public:
    ~central_frame_cache();
    /// Takes the `n` (at most frame_cache::batch) frames of class `cls` at
    /// `frames` (copies the pointers).
    void put_batch(std::size_t cls, void* const* frames, std::uint32_t n) noexcept;
    /// Copies one batch of class `cls` (at most frame_cache::batch frames)
    /// to `into`; returns how many (0: none).
    std::uint32_t take_batch(std::size_t cls, void** into) noexcept;

private:
    /// `n` frames' addresses in a block of frame_cache::batch slots.
    struct batch {
        void** frames;
        std::uint32_t n;
    };
    std::mutex mu_;
    std::vector<batch> batches_[frame_classes::count]; // guarded by mu_
    std::vector<void**> spare_;                        // emptied blocks, for the next put; guarded by mu_
};

/// One per P; owner thread only.
class frame_cache {
public:
    static constexpr std::uint32_t capacity = 512; // frames one class's stack holds
    static constexpr std::uint32_t batch = 256;    // frames moved to or from the central list at once
    static constexpr std::size_t max_fresh_bytes = 64 * 1024;

    explicit frame_cache(central_frame_cache& central) noexcept : central_(central) {}
    ~frame_cache();
    frame_cache(const frame_cache&) = delete;
    frame_cache& operator=(const frame_cache&) = delete;

    void* alloc(std::size_t size);
    void free(void* frame, std::size_t size) noexcept;

private:
    /// alloc with class `cls`'s stack empty: a batch from the central list,
    /// else a fresh run; returns one frame. Throws std::bad_alloc.
    void* refill(std::size_t cls);
    /// Mallocs a run of fresh frames of class `cls` (see the top of this
    /// file), returns one and stacks the rest; throws std::bad_alloc if not
    /// even one could be had.
    void* alloc_fresh(std::size_t cls);
    /// The stack of class `cls`, made on first use; nullptr if out of memory.
    void** stack_of(std::size_t cls) noexcept;

    central_frame_cache& central_;
    void** stacks_[frame_classes::count] = {}; // `capacity` slots each, or nullptr until used
    std::uint32_t counts_[frame_classes::count] = {};
    std::uint32_t fresh_run_[frame_classes::count] = {}; // frames in the next fresh run; 0 means 1
};

/// malloc of a whole class block (or of `size` beyond the classes); throws
/// std::bad_alloc.
void* frame_malloc(std::size_t size);

} // namespace goro::detail
