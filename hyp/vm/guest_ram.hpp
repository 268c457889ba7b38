// A VM's RAM: the guest-physical range [base, base + size) and the host
// frames behind it, as a list of contiguous segments. Architecture-neutral
// (host-tested): the frames come from a callback.
//
// Backing is chosen so that stage 2 can use the largest blocks: segments
// are 1 GiB-aligned runs where the allocator has them, then 2 MiB-aligned
// runs, then 4 KiB frames for the rest, each placed at an IPA with the same
// alignment. Fault-in maps the largest block (1 GiB, 2 MiB or 4 KiB) that
// lies inside one segment with IPA and PA equally aligned.
//
// Scrubbing: frames are zeroed lazily, the first time a block is mapped or
// a payload is copied into it, so a VM that touches little of its RAM costs
// little to build. One bit per 4 KiB page (storage supplied by the caller)
// records what was zeroed; a VM reset keeps it, so RAM survives a reset as
// on real hardware, while nothing of another owner is ever visible.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"

namespace lamina::hyp {

struct RamSegment {
  mm::IntermediatePhysAddr ipa;
  mm::PhysAddr pa;
  uint64_t size = 0;
};

// A block to map for a fault: [ipa, ipa + size) -> [pa, pa + size).
struct RamBlock {
  mm::IntermediatePhysAddr ipa;
  mm::PhysAddr pa;
  uint64_t size = 0;
};

// Where backing frames come from (the frame allocator, or a test double).
struct FrameSource {
  void* context = nullptr;
  // `frames` contiguous frames aligned to `align_frames` frames, or an error.
  Result<mm::PhysAddr, mm::Error> (*alloc)(void* context, uint64_t frames, uint64_t align_frames) = nullptr;
  void (*free)(void* context, mm::PhysAddr pa, uint64_t frames) = nullptr;
};

class GuestRam {
 public:
  static constexpr size_t kMaxSegments = 128;

  // Backs [base, base + size) (both 4 KiB aligned, size > 0) with frames
  // from `source`. kNoMemory (nothing kept) when the frames run out or the
  // backing would need more than kMaxSegments segments; kMisaligned.
  [[nodiscard]] Status<mm::Error> allocate(mm::IntermediatePhysAddr base, uint64_t size, FrameSource source);
  // A direct map (VMs with passthrough devices, which do DMA with guest
  // addresses and have no IOMMU between them and host memory): one
  // contiguous run of `size` bytes (4 KiB multiple, > 0) aligned to `align`
  // (a power of two >= 4 KiB), placed at IPA = its PA; base() says where.
  // kNoMemory (nothing kept) when no such run is free; kMisaligned.
  [[nodiscard]] Status<mm::Error> allocate_direct(uint64_t size, uint64_t align, FrameSource source);
  // Returns every frame to the source.
  void release();

  // Bitmap storage for scrubbing: scrub_bitmap_words() 64-bit words, zeroed
  // by the caller, kept alive as long as this object.
  [[nodiscard]] uint64_t scrub_bitmap_words() const { return (size_ / 4096 + 63) / 64; }
  void set_scrub_bitmap(uint64_t* words) { scrubbed_ = words; }

  [[nodiscard]] bool contains(mm::IntermediatePhysAddr ipa) const {
    return ipa.value() >= base_.value() && ipa.value() - base_.value() < size_;
  }
  [[nodiscard]] bool contains(mm::IntermediatePhysAddr ipa, uint64_t size) const {
    return contains(ipa) && size <= size_ - (ipa.value() - base_.value());
  }

  // The largest block around `ipa` (which must be inside) that fault-in may
  // map. kOutOfRange if `ipa` is not RAM.
  [[nodiscard]] Result<RamBlock, mm::Error> block_for(mm::IntermediatePhysAddr ipa) const;

  // The host PA behind `ipa` and how many bytes from there stay contiguous.
  [[nodiscard]] Result<RamBlock, mm::Error> translate(mm::IntermediatePhysAddr ipa) const;

  // Calls zero(context, pa, bytes) for every page in [ipa, ipa + size) (page-
  // rounded outward, inside RAM) not scrubbed yet, merging neighbours, and
  // marks them scrubbed. Returns the number of bytes zeroed.
  uint64_t scrub(mm::IntermediatePhysAddr ipa, uint64_t size, void (*zero)(void* context, mm::PhysAddr pa, uint64_t bytes),
                 void* context);

  // Marks every page lying wholly inside [ipa, ipa + size) (and inside RAM)
  // scrubbed without zeroing it: the caller writes every byte of those pages
  // before the guest can read them (a payload copy), so zeroing them first
  // would be wasted. Partial pages at either end are left to scrub(). Returns
  // the number of pages newly marked.
  uint64_t mark_overwritten(mm::IntermediatePhysAddr ipa, uint64_t size);

  [[nodiscard]] mm::IntermediatePhysAddr base() const { return base_; }
  [[nodiscard]] uint64_t size() const { return size_; }
  [[nodiscard]] size_t segment_count() const { return count_; }
  [[nodiscard]] const RamSegment& segment(size_t i) const { return segments_[i]; }

 private:
  [[nodiscard]] const RamSegment* find(mm::IntermediatePhysAddr ipa) const;
  [[nodiscard]] bool push(mm::IntermediatePhysAddr ipa, mm::PhysAddr pa, uint64_t size);
  [[nodiscard]] bool page_scrubbed(uint64_t page) const { return (scrubbed_[page / 64] >> (page % 64)) & 1; }

  mm::IntermediatePhysAddr base_;
  uint64_t size_ = 0;
  std::array<RamSegment, kMaxSegments> segments_{};
  size_t count_ = 0;
  FrameSource source_{};
  uint64_t* scrubbed_ = nullptr;
};

}  // namespace lamina::hyp
