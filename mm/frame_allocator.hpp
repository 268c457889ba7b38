// Physical frame allocator: 4 KiB frames for page tables and VM memory.
//
// One bit per frame (set = used) over each usable RAM bank, up to kMaxBanks
// banks. The bitmap lives in storage the caller supplies, because at EL2 the
// only memory there is is RAM itself: boot code sizes the bitmap with
// bitmap_bytes_for(), carves it out of a usable range, calls init(), and then
// reserve()s the bitmap's own frames (and anything else already in use).
//
// Searches run a 64-bit word at a time, skipping whole words that are full
// (or, when checking a run, empty), and each bank keeps a next-fit hint, so a
// stream of single-frame allocations costs O(1) amortized instead of
// rescanning from the bank's start. Banks are tried lowest address first;
// banks with too few free frames are skipped without touching their bitmap.
//
// The allocator keeps no per-allocation record: free() releases frames, not
// allocations, so freeing part of an earlier allocation (or reserved frames)
// is allowed. What it does catch is freeing a frame that is already free.
//
// Every call either succeeds completely or returns an error and leaves the
// allocator (and its bitmap) unchanged; nothing is ever partially allocated.
//
// Concurrency: not thread-safe and contains no locking. The caller owns the
// serialization (a Guarded<FrameAllocator> once secondaries run; for now it is
// only used during lamina's single-threaded boot).
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"
#include "mm/region_set.hpp"

namespace lamina::mm {

class FrameAllocator {
 public:
  static constexpr size_t kMaxBanks = 16;
  static constexpr uint64_t kFrameSize = kPageSize;

  constexpr FrameAllocator() = default;
  // The allocator points into caller-owned bitmap storage; a copy would alias
  // it and the two would disagree about free counts.
  FrameAllocator(const FrameAllocator&) = delete;
  FrameAllocator& operator=(const FrameAllocator&) = delete;

  // bitmap_bytes_for() - Bitmap storage init() needs for @usable.
  // @usable: the RAM the allocator will manage.
  //
  // Each range is first shrunk inward to whole frames (as init() does); each
  // remaining bank needs ceil(frames / 64) 64-bit words.
  //
  // Return: the size in bytes (a multiple of 8; 0 if no whole frame is usable).
  [[nodiscard]] static uint64_t bitmap_bytes_for(const RegionSet& usable);

  // init() - Manage @usable, with every frame in it free.
  // @usable:         RAM banks; each range is shrunk inward to whole frames
  //                  and ranges with no whole frame are ignored.
  // @bitmap_storage: 8-byte-aligned storage for the bitmap, owned by the
  //                  caller and kept alive (and otherwise untouched) for the
  //                  allocator's lifetime. It may lie inside @usable: the
  //                  caller must then reserve() it right after init().
  // @bitmap_bytes:   size of @bitmap_storage, >= bitmap_bytes_for(@usable).
  //
  // Forgets any previous state. Only the first bitmap_bytes_for(@usable)
  // bytes of the storage are written.
  //
  // Return: Ok, or
  //  kTooManyRegions if @usable has more than kMaxBanks non-empty banks;
  //  kMisaligned     if @bitmap_storage is not 8-byte aligned;
  //  kNoMemory       if @bitmap_bytes is too small (or the storage is null
  //                  while a bitmap is needed).
  [[nodiscard]] Status<Error> init(const RegionSet& usable, uint64_t* bitmap_storage,
                                   uint64_t bitmap_bytes);

  // reserve() - Mark the frames under @range used.
  // @range: any alignment; rounded outward to whole frames (base down, end
  //         up). An empty range is a no-op.
  //
  // For memory in use before the allocator existed: the bitmap itself,
  // lamina's image, the DTB, firmware-reserved memory.
  //
  // Return: Ok, or
  //  kOutOfRange    if @range's end exceeds UINT64_MAX, or any of its frames
  //                 is outside the managed banks;
  //  kAlreadyMapped if any of its frames is already used.
  [[nodiscard]] Status<Error> reserve(PhysRange range);

  // alloc() - Allocate @frames contiguous frames.
  // @frames:       number of frames, >= 1.
  // @align_frames: alignment of the result in frames, a power of two (e.g.
  //                512 for a 2 MiB block: the PA, not the offset into the
  //                bank, is aligned).
  //
  // The run lies inside one bank. Within a bank the search is next-fit from
  // where the previous allocation ended, wrapping once, so results are not
  // necessarily the lowest free address. The frames' contents are not
  // zeroed: callers that need zeroed frames (page tables) clear them.
  //
  // Return: the PA of the first frame, or
  //  kOutOfRange if @frames is 0;
  //  kMisaligned if @align_frames is not a power of two;
  //  kNoMemory   if no bank has such a free run.
  [[nodiscard]] Result<PhysAddr, Error> alloc(uint64_t frames = 1, uint64_t align_frames = 1);

  // free() - Release @frames frames starting at @pa.
  // @pa:     frame-aligned PA; not rounded.
  // @frames: number of frames, >= 1.
  //
  // Return: Ok, or
  //  kMisaligned   if @pa is not frame-aligned;
  //  kOutOfRange   if @frames is 0 or the run is not inside one managed bank;
  //  kNotAllocated if any frame in the run is already free (double free);
  //                none of the run is freed then.
  [[nodiscard]] Status<Error> free(PhysAddr pa, uint64_t frames);

  // free_frames() - Frames currently free, over all banks.
  [[nodiscard]] uint64_t free_frames() const;
  // total_frames() - Frames managed, over all banks (free or not).
  [[nodiscard]] uint64_t total_frames() const;
  // bank_count() - Number of banks (<= kMaxBanks).
  [[nodiscard]] size_t bank_count() const { return bank_count_; }
  // bank() - The @index-th bank's frame-aligned range, ascending; an empty
  // range at PA 0 if @index >= bank_count().
  [[nodiscard]] PhysRange bank(size_t index) const;

 private:
  struct Bank {
    uint64_t base_pfn = 0;
    uint64_t frames = 0;
    uint64_t* bitmap = nullptr;  // ceil(frames / 64) words, bit set = used
    uint64_t free = 0;
    uint64_t hint = 0;  // frame index (within the bank) where the next search starts
  };

  // The bank holding all of [pfn, pfn + frames), or nullptr.
  [[nodiscard]] Bank* bank_for(uint64_t pfn, uint64_t frames);

  Bank banks_[kMaxBanks] = {};
  size_t bank_count_ = 0;
};

}  // namespace lamina::mm
