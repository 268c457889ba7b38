#include "mm/frame_allocator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace lamina::mm {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kMiB = uint64_t{1} << 20;

PhysRange R(uint64_t base, uint64_t size) { return PhysRange{PhysAddr(base), size}; }

RegionSet regions(std::initializer_list<PhysRange> ranges) {
  RegionSet set;
  for (const PhysRange& r : ranges) EXPECT_TRUE(set.add(r).ok());
  return set;
}

// An allocator plus host storage for its bitmap, and a way to snapshot the
// whole observable state to check that failed calls change nothing.
struct Harness {
  explicit Harness(const RegionSet& usable)
      : storage(FrameAllocator::bitmap_bytes_for(usable) / sizeof(uint64_t) + 1) {
    const auto status = fa.init(usable, storage.data(), storage.size() * sizeof(uint64_t));
    EXPECT_TRUE(status.ok());
  }

  struct Snapshot {
    std::vector<uint64_t> bitmap;
    uint64_t free_frames;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot snapshot() const { return Snapshot{storage, fa.free_frames()}; }

  std::vector<uint64_t> storage;
  FrameAllocator fa;
};

// QEMU virt: one bank of RAM at 1 GiB.
RegionSet qemu_virt_4g() { return regions({R(0x4000'0000, 4 * kGiB)}); }

// Raspberry Pi 4 (8 GiB) as its firmware reports it: RAM from 0 with the
// VideoCore carve-out and the peripheral window cut out.
RegionSet pi4_8g() {
  return regions({R(0x0, 0x3B40'0000), R(0x4000'0000, 0xBC00'0000), R(0x1'0000'0000, 4 * kGiB)});
}

TEST(FrameAllocatorTest, DefaultConstructedIsEmpty) {
  FrameAllocator fa;
  EXPECT_EQ(fa.bank_count(), 0u);
  EXPECT_EQ(fa.total_frames(), 0u);
  EXPECT_EQ(fa.free_frames(), 0u);
  EXPECT_EQ(fa.alloc().error(), Error::kNoMemory);
  EXPECT_EQ(fa.free(PhysAddr(0x1000), 1).error(), Error::kOutOfRange);
}

TEST(FrameAllocatorTest, BitmapBytesIsOneBitPerFrameRoundedToWords) {
  EXPECT_EQ(FrameAllocator::bitmap_bytes_for(RegionSet{}), 0u);
  // 4 GiB = 2^20 frames = 2^14 words.
  EXPECT_EQ(FrameAllocator::bitmap_bytes_for(qemu_virt_4g()), uint64_t{1} << 17);
  // 64 frames -> 1 word, 65 -> 2, plus a 1-frame bank -> 1 word.
  EXPECT_EQ(FrameAllocator::bitmap_bytes_for(regions({R(0, 64 * kPageSize)})), 8u);
  EXPECT_EQ(FrameAllocator::bitmap_bytes_for(regions({R(0, 65 * kPageSize), R(kGiB, kPageSize)})),
            24u);
  // Ranges are counted after shrinking to whole frames.
  EXPECT_EQ(FrameAllocator::bitmap_bytes_for(regions({R(0x800, 0x1000)})), 0u);
}

TEST(FrameAllocatorTest, InitQemuVirt) {
  Harness h(qemu_virt_4g());
  EXPECT_EQ(h.fa.bank_count(), 1u);
  EXPECT_EQ(h.fa.total_frames(), 4 * kGiB / kPageSize);
  EXPECT_EQ(h.fa.free_frames(), h.fa.total_frames());
  EXPECT_EQ(h.fa.bank(0), R(0x4000'0000, 4 * kGiB));
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x4000'0000));
}

// Banks are shrunk inward to whole frames; ranges with no whole frame vanish.
TEST(FrameAllocatorTest, InitShrinksBanksToWholeFrames) {
  Harness h(regions({R(0x800, 0x3000), R(0x10'0100, 0x800), R(0x20'0000, 0x2000)}));
  ASSERT_EQ(h.fa.bank_count(), 2u);
  EXPECT_EQ(h.fa.bank(0), R(0x1000, 0x2000));
  EXPECT_EQ(h.fa.bank(1), R(0x20'0000, 0x2000));
  EXPECT_EQ(h.fa.bank(2), R(0, 0));
  EXPECT_EQ(h.fa.total_frames(), 4u);
}

TEST(FrameAllocatorTest, InitRejectsBadStorageAndTooManyBanks) {
  const RegionSet usable = regions({R(0, 65 * kPageSize)});
  std::vector<uint64_t> storage(4);
  FrameAllocator fa;
  EXPECT_EQ(fa.init(usable, storage.data(), 15).error(), Error::kNoMemory);
  EXPECT_EQ(fa.init(usable, nullptr, 16).error(), Error::kNoMemory);
  auto* misaligned = reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(storage.data()) + 4);
  EXPECT_EQ(fa.init(usable, misaligned, 24).error(), Error::kMisaligned);
  EXPECT_EQ(fa.bank_count(), 0u);  // failed inits changed nothing

  RegionSet many;
  for (uint64_t i = 0; i <= FrameAllocator::kMaxBanks; ++i) {
    ASSERT_TRUE(many.add(R(i * 2 * kPageSize, kPageSize)).ok());
  }
  std::vector<uint64_t> big(64);
  EXPECT_EQ(fa.init(many, big.data(), 64 * 8).error(), Error::kTooManyRegions);
  ASSERT_TRUE(many.subtract(R(0, kPageSize)).ok());
  EXPECT_TRUE(fa.init(many, big.data(), 64 * 8).ok());
  EXPECT_EQ(fa.bank_count(), FrameAllocator::kMaxBanks);
  EXPECT_EQ(fa.free_frames(), FrameAllocator::kMaxBanks);
}

// The EL2 boot flow: find room for the bitmap in RAM itself, init, then
// reserve the bitmap's frames so they are never handed out.
TEST(FrameAllocatorTest, ReserveTheBitmapsOwnFrames) {
  const RegionSet usable = pi4_8g();
  const uint64_t bytes = FrameAllocator::bitmap_bytes_for(usable);
  const uint64_t bitmap_frames = (bytes + kPageSize - 1) / kPageSize;
  const PhysAddr bitmap_pa = usable.find_free(bytes, kPageSize).value();
  EXPECT_EQ(bitmap_pa, PhysAddr(0));

  Harness h(usable);
  ASSERT_EQ(h.fa.bank_count(), 3u);
  const uint64_t total = h.fa.total_frames();
  ASSERT_TRUE(h.fa.reserve(R(bitmap_pa.value(), bytes)).ok());
  EXPECT_EQ(h.fa.free_frames(), total - bitmap_frames);
  const PhysAddr first = h.fa.alloc().value();
  EXPECT_EQ(first, PhysAddr(bitmap_frames * kPageSize));
  ASSERT_TRUE(h.fa.free(first, 1).ok());

  // Reserving it again fails and changes nothing.
  const auto before = h.snapshot();
  EXPECT_EQ(h.fa.reserve(R(bitmap_pa.value(), bytes)).error(), Error::kAlreadyMapped);
  EXPECT_EQ(h.fa.reserve(R(0x1000, 0x1000 * bitmap_frames)).error(), Error::kAlreadyMapped);
  EXPECT_TRUE(h.snapshot() == before);
}

// reserve() rounds outward: a range touching part of a frame takes all of it.
TEST(FrameAllocatorTest, ReserveRoundsOutwardAndChecksBanks) {
  Harness h(regions({R(0x10'0000, 16 * kPageSize), R(0x20'0000, 16 * kPageSize)}));
  ASSERT_TRUE(h.fa.reserve(R(0x10'0800, 0x1000)).ok());  // frames 0 and 1
  EXPECT_EQ(h.fa.free_frames(), 30u);
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x10'2000));
  ASSERT_TRUE(h.fa.reserve(R(0x10'5000, 0)).ok());  // empty: no-op
  EXPECT_EQ(h.fa.free_frames(), 29u);

  const auto before = h.snapshot();
  EXPECT_EQ(h.fa.reserve(R(0x0, 0x1000)).error(), Error::kOutOfRange);           // below RAM
  EXPECT_EQ(h.fa.reserve(R(0x10'F000, 0x2000)).error(), Error::kOutOfRange);     // runs off bank 0
  EXPECT_EQ(h.fa.reserve(R(0x10'0000, 0x10'1000)).error(), Error::kOutOfRange);  // spans the hole
  EXPECT_EQ(h.fa.reserve(R(UINT64_MAX - 0xFF, 0x1000)).error(), Error::kOutOfRange);  // wraps
  EXPECT_EQ(h.fa.reserve(R(0x10'1000, 0x2000)).error(), Error::kAlreadyMapped);  // frame 1 used
  EXPECT_TRUE(h.snapshot() == before);
}

// Allocation skips holes between banks and moves on when a bank is full.
TEST(FrameAllocatorTest, SingleFramesAcrossBanksWithGaps) {
  Harness h(
      regions({R(0x0, 3 * kPageSize), R(0x10'0000, 2 * kPageSize), R(0x4000'0000, kPageSize)}));
  std::vector<uint64_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(h.fa.alloc().value().value());
  EXPECT_EQ(got, (std::vector<uint64_t>{0x0, 0x1000, 0x2000, 0x10'0000, 0x10'1000, 0x4000'0000}));
  EXPECT_EQ(h.fa.free_frames(), 0u);
}

// When everything is used alloc() says kNoMemory, and works again once a
// frame is freed.
TEST(FrameAllocatorTest, ExhaustionReturnsNoMemoryThenRecovers) {
  Harness h(regions({R(0x8000'0000, 8 * kPageSize), R(0x9000'0000, 3 * kPageSize)}));
  std::set<uint64_t> got;
  for (int i = 0; i < 11; ++i) {
    auto pa = h.fa.alloc();
    ASSERT_TRUE(pa.ok());
    EXPECT_TRUE(got.insert(pa.value().value()).second) << "frame handed out twice";
  }
  const auto before = h.snapshot();
  EXPECT_EQ(h.fa.alloc().error(), Error::kNoMemory);
  EXPECT_EQ(h.fa.alloc(4).error(), Error::kNoMemory);
  EXPECT_TRUE(h.snapshot() == before);

  ASSERT_TRUE(h.fa.free(PhysAddr(0x9000'1000), 1).ok());
  EXPECT_EQ(h.fa.free_frames(), 1u);
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x9000'1000));
  EXPECT_EQ(h.fa.alloc().error(), Error::kNoMemory);
}

// A multi-frame request with enough free frames in total but no contiguous
// run fails without taking any of them.
TEST(FrameAllocatorTest, FragmentedRequestFailsWithoutPartialAllocation) {
  Harness h(regions({R(0x0, 8 * kPageSize), R(0x10'0000, 8 * kPageSize)}));
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(h.fa.alloc().ok());
  for (uint64_t pfn : std::initializer_list<uint64_t>{1, 2, 4, 5, 6, 7})
    ASSERT_TRUE(h.fa.free(PhysAddr(pfn * kPageSize), 1).ok());
  for (uint64_t pfn : std::initializer_list<uint64_t>{0x100, 0x101, 0x102, 0x104})
    ASSERT_TRUE(h.fa.free(PhysAddr(pfn * kPageSize), 1).ok());
  ASSERT_EQ(h.fa.free_frames(), 10u);
  const auto before = h.snapshot();
  EXPECT_EQ(h.fa.alloc(5).error(), Error::kNoMemory);
  // Every 8-aligned run of 4 holds a used frame.
  EXPECT_EQ(h.fa.alloc(4, 8).error(), Error::kNoMemory);
  EXPECT_TRUE(h.snapshot() == before);
  EXPECT_EQ(h.fa.alloc(4).value(), PhysAddr(0x4000));
  EXPECT_EQ(h.fa.alloc(3).value(), PhysAddr(0x10'0000));
}

// 2 MiB blocks: 512 frames aligned to 512, with the PA aligned even though
// the bank itself does not start on a 2 MiB boundary.
TEST(FrameAllocatorTest, AlignedBlockAllocations) {
  Harness h(regions({R(0x4000'1000, 64 * kMiB)}));
  const PhysAddr single = h.fa.alloc().value();
  EXPECT_EQ(single, PhysAddr(0x4000'1000));
  std::set<uint64_t> blocks;
  for (int i = 0; i < 31; ++i) {  // 64 MiB holds 31 aligned 2 MiB blocks past 0x4000'1000
    const PhysAddr pa = h.fa.alloc(512, 512).value();
    EXPECT_TRUE(pa.is_aligned(2 * kMiB)) << std::hex << pa.value();
    EXPECT_GE(pa.value(), 0x4020'0000u);
    EXPECT_LE(pa.value() + 2 * kMiB, 0x4400'1000u);
    EXPECT_TRUE(blocks.insert(pa.value()).second);
  }
  EXPECT_EQ(h.fa.alloc(512, 512).error(), Error::kNoMemory);
  // The unaligned leftovers at both ends are still there for smaller requests.
  // [0x4000'2000, 0x4020'0000) and [0x4400'0000, 0x4400'1000).
  EXPECT_EQ(h.fa.free_frames(), 510u + 1u);
  EXPECT_TRUE(h.fa.alloc(256).ok());
  ASSERT_TRUE(h.fa.free(PhysAddr(*blocks.begin()), 512).ok());
  EXPECT_EQ(h.fa.alloc(512, 512).value(), PhysAddr(*blocks.begin()));
}

TEST(FrameAllocatorTest, AllocRejectsBadArguments) {
  Harness h(qemu_virt_4g());
  EXPECT_EQ(h.fa.alloc(0).error(), Error::kOutOfRange);
  EXPECT_EQ(h.fa.alloc(1, 0).error(), Error::kMisaligned);
  EXPECT_EQ(h.fa.alloc(1, 3).error(), Error::kMisaligned);
  EXPECT_EQ(h.fa.alloc(h.fa.total_frames() + 1).error(), Error::kNoMemory);
  EXPECT_EQ(h.fa.alloc(UINT64_MAX).error(), Error::kNoMemory);
  EXPECT_EQ(h.fa.alloc(1, uint64_t{1} << 63).error(), Error::kNoMemory);
  EXPECT_EQ(h.fa.free_frames(), h.fa.total_frames());
  EXPECT_EQ(h.fa.alloc(h.fa.total_frames()).value(), PhysAddr(0x4000'0000));
  EXPECT_EQ(h.fa.free_frames(), 0u);
}

// A double free (whole or partial) is refused and frees nothing.
TEST(FrameAllocatorTest, DoubleFreeIsDetectedAndChangesNothing) {
  Harness h(qemu_virt_4g());
  const PhysAddr a = h.fa.alloc(4).value();
  const PhysAddr b = h.fa.alloc(4).value();
  ASSERT_TRUE(h.fa.free(a, 4).ok());
  auto before = h.snapshot();
  EXPECT_EQ(h.fa.free(a, 4).error(), Error::kNotAllocated);
  // The last frame of a (free) and the first of b (used).
  EXPECT_EQ(h.fa.free(a.offset(3 * kPageSize), 2).error(), Error::kNotAllocated);
  EXPECT_TRUE(h.snapshot() == before);
  ASSERT_TRUE(h.fa.free(b.offset(kPageSize), 1).ok());
  before = h.snapshot();
  EXPECT_EQ(h.fa.free(b, 4).error(), Error::kNotAllocated);  // one hole in the middle
  EXPECT_TRUE(h.snapshot() == before);
}

TEST(FrameAllocatorTest, FreeRejectsBadRanges) {
  Harness h(pi4_8g());
  ASSERT_TRUE(h.fa.reserve(R(0x3B3F'F000, 0x1000)).ok());  // last frame of bank 0
  ASSERT_TRUE(h.fa.reserve(R(0x4000'0000, 0x1000)).ok());  // first frame of bank 1
  const auto before = h.snapshot();
  EXPECT_EQ(h.fa.free(PhysAddr(0x3B3F'F800), 1).error(), Error::kMisaligned);
  EXPECT_EQ(h.fa.free(PhysAddr(0x3B3F'F000), 0).error(), Error::kOutOfRange);
  EXPECT_EQ(h.fa.free(PhysAddr(0x3B3F'F000), 2).error(), Error::kOutOfRange);  // into the hole
  EXPECT_EQ(h.fa.free(PhysAddr(0x3B3F'F000), (0x4000'1000 - 0x3B3F'F000) / kPageSize).error(),
            Error::kOutOfRange);  // across the hole into bank 1
  EXPECT_EQ(h.fa.free(PhysAddr(0x3F00'0000), 1).error(), Error::kOutOfRange);  // in the hole
  EXPECT_EQ(h.fa.free(PhysAddr(0x3B3F'F000), UINT64_MAX).error(), Error::kOutOfRange);  // wraps
  EXPECT_EQ(h.fa.free(PhysAddr(0xFFFF'FFFF'FFFF'F000), 1).error(), Error::kOutOfRange);
  EXPECT_TRUE(h.snapshot() == before);
  EXPECT_TRUE(h.fa.free(PhysAddr(0x3B3F'F000), 1).ok());
  EXPECT_TRUE(h.fa.free(PhysAddr(0x4000'0000), 1).ok());
  EXPECT_EQ(h.fa.free_frames(), h.fa.total_frames());
}

// Next-fit: a freed frame is not handed straight back; the search carries on
// from where the last allocation ended and wraps to the start of the bank.
TEST(FrameAllocatorTest, SingleFramesAreNextFit) {
  Harness h(regions({R(0x0, 4 * kPageSize)}));
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x0000));
  ASSERT_TRUE(h.fa.free(PhysAddr(0x0000), 1).ok());
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x1000));
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x2000));
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x3000));
  EXPECT_EQ(h.fa.alloc().value(), PhysAddr(0x0000));  // wrapped
  EXPECT_EQ(h.fa.alloc().error(), Error::kNoMemory);
}

// Filling 4 GiB one frame at a time: with a next-fit hint this is linear;
// rescanning from the bank's start each time would be ~2^33 word reads and
// time out. Frames come out in order because nothing is freed.
TEST(FrameAllocatorTest, FillingALargeBankFrameByFrameIsLinear) {
  Harness h(qemu_virt_4g());
  const uint64_t total = h.fa.total_frames();
  uint64_t expected = 0x4000'0000;
  for (uint64_t i = 0; i < total; ++i) {
    const auto pa = h.fa.alloc();
    ASSERT_TRUE(pa.ok()) << i;
    ASSERT_EQ(pa.value().value(), expected);
    expected += kPageSize;
  }
  EXPECT_EQ(h.fa.free_frames(), 0u);
  EXPECT_EQ(h.fa.alloc().error(), Error::kNoMemory);
}

// Whether a free run of `frames` frames aligned to `align` exists in the
// model: used to check that kNoMemory is only ever returned when true.
bool model_has_fit(const FrameAllocator& fa, const std::set<uint64_t>& used, uint64_t frames,
                   uint64_t align) {
  for (size_t b = 0; b < fa.bank_count(); ++b) {
    const uint64_t first = fa.bank(b).base.value() / kPageSize;
    const uint64_t end = first + fa.bank(b).size / kPageSize;
    uint64_t pfn = (first + align - 1) / align * align;
    while (pfn + frames <= end) {
      auto it = used.lower_bound(pfn);
      if (it == used.end() || *it >= pfn + frames) return true;
      pfn = (*it + align) / align * align;  // first aligned start past the used frame
    }
  }
  return false;
}

// Thousands of random alloc/free/reserve calls (fixed seed) against a model
// holding the set of used frames: no frame is handed out twice, every result
// lies in a bank and is aligned, kNoMemory only when nothing fits, errors
// change nothing, and the counts always agree.
TEST(FrameAllocatorTest, RandomOperationsMatchReferenceModel) {
  // Odd-sized banks with gaps, one starting at 0 and one not 64-frame aligned.
  const RegionSet usable = regions(
      {R(0x0, 1000 * kPageSize), R(0x80'3000, 77 * kPageSize), R(0x4000'0000, 3000 * kPageSize)});
  Harness h(usable);
  const uint64_t total = h.fa.total_frames();
  ASSERT_EQ(total, 4077u);

  std::mt19937_64 rng(20240611);
  std::set<uint64_t> used;                   // model: used PFNs
  std::map<uint64_t, uint64_t> allocations;  // first PFN -> frames
  auto in_bank = [&](uint64_t pfn, uint64_t frames) {
    for (size_t b = 0; b < h.fa.bank_count(); ++b) {
      const uint64_t first = h.fa.bank(b).base.value() / kPageSize;
      if (pfn >= first && pfn + frames <= first + h.fa.bank(b).size / kPageSize) return true;
    }
    return false;
  };
  int allocs = 0, no_memory = 0, rejected_frees = 0;

  for (int op = 0; op < 6000; ++op) {
    const unsigned kind = static_cast<unsigned>(rng() % 10);
    if (kind < 5) {
      // Mostly single frames, sometimes larger aligned runs.
      const uint64_t frames = rng() % 3 == 0 ? 1 + rng() % 40 : 1;
      const uint64_t align = uint64_t{1} << (rng() % 4 == 0 ? rng() % 7 : 0);
      const auto before = h.snapshot();
      const auto pa = h.fa.alloc(frames, align);
      if (!pa.ok()) {
        ASSERT_EQ(pa.error(), Error::kNoMemory);
        ASSERT_FALSE(model_has_fit(h.fa, used, frames, align)) << "op " << op;
        ASSERT_TRUE(h.snapshot() == before);
        ++no_memory;
      } else {
        const uint64_t pfn = pa.value().value() / kPageSize;
        ASSERT_TRUE(pa.value().is_aligned(kPageSize));
        ASSERT_EQ(pfn % align, 0u);
        ASSERT_TRUE(in_bank(pfn, frames));
        for (uint64_t f = pfn; f < pfn + frames; ++f) {
          ASSERT_TRUE(used.insert(f).second) << "frame " << f << " handed out twice, op " << op;
        }
        allocations[pfn] = frames;
        ++allocs;
      }
    } else if (kind < 8 && !allocations.empty()) {
      // Free a random allocation, sometimes only its tail.
      auto it = allocations.begin();
      std::advance(it, static_cast<long>(rng() % allocations.size()));
      const uint64_t pfn = it->first;
      const uint64_t frames = it->second;
      const uint64_t keep = frames > 1 && rng() % 4 == 0 ? rng() % frames : 0;
      ASSERT_TRUE(h.fa.free(PhysAddr((pfn + keep) * kPageSize), frames - keep).ok());
      for (uint64_t f = pfn + keep; f < pfn + frames; ++f) used.erase(f);
      allocations.erase(it);
      if (keep != 0) allocations[pfn] = keep;
    } else if (kind == 8) {
      // Free a random run; it must fail exactly when some frame is free or
      // the run leaves a bank, and then change nothing.
      const uint64_t pfn = (rng() % 2 == 0 ? 0 : 0x4'0000) + rng() % 4000;
      const uint64_t frames = 1 + rng() % 4;
      bool all_used = in_bank(pfn, frames);
      for (uint64_t f = pfn; all_used && f < pfn + frames; ++f) all_used = used.count(f) != 0;
      if (all_used) continue;  // a legal free of someone's frames: skip, keep the model simple
      const auto before = h.snapshot();
      const auto status = h.fa.free(PhysAddr(pfn * kPageSize), frames);
      ASSERT_FALSE(status.ok());
      ASSERT_EQ(status.error(), in_bank(pfn, frames) ? Error::kNotAllocated : Error::kOutOfRange);
      ASSERT_TRUE(h.snapshot() == before);
      ++rejected_frees;
    } else {
      // Reserve a random small range; it succeeds iff all of it is free.
      const uint64_t pfn = rng() % 1000;
      const uint64_t frames = 1 + rng() % 3;
      bool all_free = in_bank(pfn, frames);
      for (uint64_t f = pfn; all_free && f < pfn + frames; ++f) all_free = used.count(f) == 0;
      const auto before = h.snapshot();
      const auto status = h.fa.reserve(R(pfn * kPageSize, frames * kPageSize));
      ASSERT_EQ(status.ok(), all_free) << "op " << op;
      if (all_free) {
        for (uint64_t f = pfn; f < pfn + frames; ++f) used.insert(f);
        allocations[pfn] = frames;
      } else {
        ASSERT_TRUE(h.snapshot() == before);
      }
    }
    ASSERT_EQ(h.fa.free_frames(), total - used.size()) << "op " << op;
  }
  // The run exercised every path, including running out of memory.
  EXPECT_GT(allocs, 1000);
  EXPECT_GT(no_memory, 0);
  EXPECT_GT(rejected_frees, 100);

  // Freeing everything left restores a fully free allocator.
  for (const auto& [pfn, frames] : allocations)
    ASSERT_TRUE(h.fa.free(PhysAddr(pfn * kPageSize), frames).ok());
  EXPECT_EQ(h.fa.free_frames(), total);
}

}  // namespace
}  // namespace lamina::mm
