// GuestRam: backing choice (1 GiB / 2 MiB / 4 KiB runs at matching IPA
// alignment), fault-in blocks, translation and lazy scrubbing.
#include "hyp/vm/guest_ram.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace lamina::hyp {
namespace {

constexpr uint64_t kK = 4096;
constexpr uint64_t kM2 = uint64_t{2} << 20;
constexpr uint64_t kG = uint64_t{1} << 30;
constexpr mm::IntermediatePhysAddr kBase{0x4000'0000};

// A fake host: a list of free PA ranges; alloc takes the lowest fitting
// aligned run, like a first-fit allocator, and records what is live.
struct FakeHost {
  std::vector<std::pair<uint64_t, uint64_t>> free;  // [base, end)
  // Frames handed out and not returned. GuestRam merges PA-contiguous
  // runs, and frames (not allocations) are freed, as mm::FrameAllocator
  // allows: so the fake counts frames.
  uint64_t live = 0;
  uint64_t allocations = 0;
  uint64_t fail_above_frames = UINT64_MAX;          // refuse larger requests

  static Result<mm::PhysAddr, mm::Error> alloc(void* ctx, uint64_t frames, uint64_t align_frames) {
    auto* h = static_cast<FakeHost*>(ctx);
    if (frames > h->fail_above_frames) return Err{mm::Error::kNoMemory};
    const uint64_t bytes = frames * kK, align = align_frames * kK;
    for (auto& [b, e] : h->free) {
      const uint64_t start = (b + align - 1) / align * align;
      if (start + bytes > e) continue;
      // Split the free range.
      const uint64_t old_e = e;
      e = start;  // what stays free below the run (maybe empty)
      h->live += frames;
      ++h->allocations;
      if (start + bytes < old_e) h->free.push_back({start + bytes, old_e});
      return mm::PhysAddr(start);
    }
    return Err{mm::Error::kNoMemory};
  }
  static void release(void* ctx, mm::PhysAddr pa, uint64_t frames) {
    auto* h = static_cast<FakeHost*>(ctx);
    EXPECT_EQ(pa.value() % kK, 0u);
    ASSERT_LE(frames, h->live);
    h->live -= frames;
  }
  FrameSource source() { return FrameSource{this, alloc, release}; }
};

TEST(GuestRam, WholeGigabytesComeAsOneGigabyteBlocks) {
  FakeHost host;
  host.free = {{0x8000'0000, 0x1'8000'0000}};  // 4 GiB, 1 GiB aligned
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, 2 * kG, host.source()).ok());
  ASSERT_EQ(ram.segment_count(), 1u);  // contiguous runs merge
  auto b = ram.block_for(kBase.offset(kG + 12345));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value().size, kG);
  EXPECT_EQ(b.value().ipa, kBase.offset(kG));
  EXPECT_EQ(b.value().pa, mm::PhysAddr(0xc000'0000));
}

TEST(GuestRam, FragmentedHostGivesTwoMegabyteAndPageBlocks) {
  FakeHost host;
  // No 1 GiB-aligned gigabyte anywhere; 2 MiB-aligned runs, and a tail.
  host.free = {{0x4060'0000, 0x4160'0000}};
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, 6 * kM2 + 5 * kK, host.source()).ok());
  auto first = ram.block_for(kBase);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().size, kM2);
  auto tail = ram.block_for(kBase.offset(6 * kM2 + kK));
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail.value().size, kK);
  EXPECT_EQ(tail.value().ipa, kBase.offset(6 * kM2 + kK));
  EXPECT_FALSE(ram.block_for(kBase.offset(6 * kM2 + 5 * kK)).ok());  // just past the end
  EXPECT_FALSE(ram.contains(kBase.offset(6 * kM2 + 5 * kK)));
  EXPECT_TRUE(ram.contains(kBase.offset(6 * kM2 + 5 * kK - 1)));
}

TEST(GuestRam, MisalignedBackingFallsBackToPages) {
  FakeHost host;
  host.free = {{0x4000'1000, 0x4100'0000}};
  host.fail_above_frames = 1;  // only single frames
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, 16 * kK, host.source()).ok());
  for (uint64_t off = 0; off < 16 * kK; off += kK) {
    auto b = ram.block_for(kBase.offset(off));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.value().size, kK);
    auto t = ram.translate(kBase.offset(off + 8));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.value().pa.value() % kK, 8u);
  }
}

TEST(GuestRam, OutOfMemoryReleasesEverything) {
  FakeHost host;
  host.free = {{0x8000'0000, 0x8020'0000}};  // 2 MiB only
  GuestRam ram;
  EXPECT_EQ(ram.allocate(kBase, 4 * kM2, host.source()).error(), mm::Error::kNoMemory);
  EXPECT_TRUE(host.live == 0);
}

TEST(GuestRam, ReleaseReturnsEveryFrame) {
  FakeHost host;
  host.free = {{0x8000'0000, 0x1'0000'0000}};
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, kG + 3 * kK, host.source()).ok());
  EXPECT_FALSE(host.live == 0);
  ram.release();
  EXPECT_TRUE(host.live == 0);
}

TEST(GuestRam, DirectMapPutsRamAtItsOwnPhysicalAddress) {
  // Passthrough VMs: one run, IPA = PA, at the allocator's aligned choice;
  // fault-in blocks then follow the run's alignment as usual.
  FakeHost host;
  host.free = {{0x4010'0000, 0x1'0000'0000}};
  GuestRam ram;
  ASSERT_TRUE(ram.allocate_direct(3 * kM2, kM2, host.source()).ok());
  EXPECT_EQ(ram.base(), mm::IntermediatePhysAddr(0x4020'0000));  // first 2 MiB-aligned run
  ASSERT_EQ(ram.segment_count(), 1u);
  EXPECT_EQ(ram.segment(0).pa.value(), ram.segment(0).ipa.value());
  auto b = ram.block_for(ram.base().offset(kM2 + 5));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value().size, kM2);
  EXPECT_EQ(b.value().pa.value(), b.value().ipa.value());
  EXPECT_EQ(host.live, 3 * kM2 / kK);
  ram.release();
  EXPECT_EQ(host.live, 0u);
}

TEST(GuestRam, DirectMapNeedsOneContiguousRun) {
  FakeHost host;
  host.free = {{0x4000'0000, 0x4020'0000}, {0x5000'0000, 0x5020'0000}};  // 2 x 2 MiB apart
  GuestRam ram;
  EXPECT_EQ(ram.allocate_direct(2 * kM2, kM2, host.source()).error(), mm::Error::kNoMemory);
  EXPECT_EQ(host.live, 0u);
  EXPECT_EQ(ram.allocate_direct(kM2 + 1, kM2, host.source()).error(), mm::Error::kMisaligned);
  EXPECT_EQ(ram.allocate_direct(kM2, 3 * kK, host.source()).error(), mm::Error::kMisaligned);
}

TEST(GuestRam, ScrubZeroesEachPageOnce) {
  FakeHost host;
  host.free = {{0x8000'0000, 0x9000'0000}};
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, 64 * kK * 4, host.source()).ok());
  std::vector<uint64_t> bitmap(ram.scrub_bitmap_words(), 0);
  ram.set_scrub_bitmap(bitmap.data());
  std::vector<std::pair<uint64_t, uint64_t>> zeroed;
  auto zero = [](void* ctx, mm::PhysAddr pa, uint64_t bytes) {
    static_cast<std::vector<std::pair<uint64_t, uint64_t>>*>(ctx)->push_back({pa.value(), bytes});
  };
  // A partial page range rounds outward.
  EXPECT_EQ(ram.scrub(kBase.offset(kK + 100), 2 * kK, zero, &zeroed), 3 * kK);
  ASSERT_EQ(zeroed.size(), 1u);
  EXPECT_EQ(zeroed[0].second, 3 * kK);
  // Again: nothing left to do there; a larger range zeroes only the rest.
  EXPECT_EQ(ram.scrub(kBase.offset(kK), 3 * kK, zero, &zeroed), 0u);
  EXPECT_EQ(ram.scrub(kBase, 200 * kK, zero, &zeroed), 197 * kK);
  ASSERT_EQ(zeroed.size(), 3u);  // before and after the scrubbed pages
  EXPECT_EQ(zeroed[1].second, kK);
  EXPECT_EQ(zeroed[2].second, 196 * kK);
  EXPECT_EQ(ram.scrub(kBase, 256 * kK, zero, &zeroed), 56 * kK);
  EXPECT_EQ(ram.scrub(kBase, 256 * kK, zero, &zeroed), 0u);
}

// A payload copy overwrites whole pages: they are marked scrubbed and never
// zeroed; the partial pages at either end are still zeroed by scrub().
TEST(GuestRam, OverwrittenPagesAreNotZeroed) {
  FakeHost host;
  host.free = {{0x8000'0000, 0x9000'0000}};
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, 64 * kK * 4, host.source()).ok());  // 256 pages
  std::vector<uint64_t> bitmap(ram.scrub_bitmap_words(), 0);
  ram.set_scrub_bitmap(bitmap.data());
  std::vector<std::pair<uint64_t, uint64_t>> zeroed;
  auto zero = [](void* ctx, mm::PhysAddr pa, uint64_t bytes) {
    static_cast<std::vector<std::pair<uint64_t, uint64_t>>*>(ctx)->push_back({pa.value(), bytes});
  };
  // [page 1 + 100, page 200 + 8): pages 2..199 are whole (198 pages, words 0-3
  // partly and words 1 and 2 wholly); pages 1 and 200 are partial.
  const mm::IntermediatePhysAddr start = kBase.offset(kK + 100);
  const uint64_t bytes = 199 * kK - 92;
  EXPECT_EQ(ram.mark_overwritten(start, bytes), 198u);
  EXPECT_EQ(ram.mark_overwritten(start, bytes), 0u);  // already marked
  EXPECT_EQ(ram.scrub(start, bytes, zero, &zeroed), 2 * kK);
  ASSERT_EQ(zeroed.size(), 2u);
  const uint64_t base_pa = zeroed[0].first - kK;  // page 1's PA, one page above page 0's
  EXPECT_EQ(zeroed[1].first, base_pa + 200 * kK);
  EXPECT_EQ(zeroed[0].second, kK);
  EXPECT_EQ(zeroed[1].second, kK);
  // The rest of RAM is still to be zeroed: page 0 and pages 201..255.
  EXPECT_EQ(ram.scrub(kBase, 256 * kK, zero, &zeroed), 56 * kK);
  // Within one page, nothing is whole; past the end of RAM, nothing is marked.
  EXPECT_EQ(ram.mark_overwritten(kBase.offset(kK + 1), kK), 0u);
  EXPECT_EQ(ram.mark_overwritten(kBase.offset(256 * kK), 4 * kK), 0u);
}

// Marking stops at the end of RAM.
TEST(GuestRam, OverwrittenPagesStopAtTheEndOfRam) {
  FakeHost host;
  host.free = {{0x8000'0000, 0x9000'0000}};
  GuestRam ram;
  ASSERT_TRUE(ram.allocate(kBase, 64 * kK * 4, host.source()).ok());
  std::vector<uint64_t> bitmap(ram.scrub_bitmap_words() + 1, 0);  // one word of guard
  ram.set_scrub_bitmap(bitmap.data());
  EXPECT_EQ(ram.mark_overwritten(kBase.offset(250 * kK), 100 * kK), 6u);
  EXPECT_EQ(bitmap.back(), 0u);
  EXPECT_EQ(bitmap[3], ~uint64_t{0} << 58);
}

}  // namespace
}  // namespace lamina::hyp
