#include "mm/region_set.hpp"

#include <gtest/gtest.h>

#include <bitset>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace lamina::mm {
namespace {

PhysRange R(uint64_t base, uint64_t size) { return PhysRange{PhysAddr(base), size}; }

std::vector<PhysRange> ranges_of(const RegionSet& set) {
  std::vector<PhysRange> out;
  for (size_t i = 0; i < set.count(); ++i) out.push_back(set[i]);
  return out;
}

::testing::AssertionResult is_canonical(const RegionSet& set) {
  for (size_t i = 0; i < set.count(); ++i) {
    if (set[i].size == 0) return ::testing::AssertionFailure() << "empty range at " << i;
    if (i + 1 < set.count() && !(set[i].end() < set[i + 1].base)) {
      return ::testing::AssertionFailure()
             << "ranges " << i << " and " << i + 1 << " overlap, touch or are unsorted";
    }
  }
  return ::testing::AssertionSuccess();
}

// Fills the set to capacity with 64 one-page ranges, each followed by a gap.
RegionSet full_set() {
  RegionSet set;
  for (uint64_t i = 0; i < RegionSet::kCapacity; ++i)
    EXPECT_TRUE(set.add(R(i * 0x2000, 0x1000)).ok());
  EXPECT_EQ(set.count(), RegionSet::kCapacity);
  return set;
}

TEST(RegionSetTest, StartsEmpty) {
  RegionSet set;
  EXPECT_EQ(set.count(), 0u);
  EXPECT_EQ(set.total_bytes(), 0u);
  EXPECT_EQ(set[0], R(0, 0));
  EXPECT_EQ(set.find_free(1, 1).error(), Error::kNoMemory);
}

// Adding keeps the ranges sorted whatever order they arrive in.
TEST(RegionSetTest, AddKeepsRangesSorted) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x5000, 0x1000)).ok());
  ASSERT_TRUE(set.add(R(0x1000, 0x1000)).ok());
  ASSERT_TRUE(set.add(R(0x3000, 0x1000)).ok());
  EXPECT_EQ(ranges_of(set),
            (std::vector<PhysRange>{R(0x1000, 0x1000), R(0x3000, 0x1000), R(0x5000, 0x1000)}));
  EXPECT_EQ(set.total_bytes(), 0x3000u);
  EXPECT_TRUE(is_canonical(set));
}

TEST(RegionSetTest, AddMergesOverlapping) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0x2000)).ok());
  ASSERT_TRUE(set.add(R(0x2000, 0x2000)).ok());
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x3000)}));
  // Fully contained: no change.
  ASSERT_TRUE(set.add(R(0x1800, 0x10)).ok());
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x3000)}));
}

// Ranges that merely touch are coalesced too, on either side.
TEST(RegionSetTest, AddCoalescesAdjacent) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x2000, 0x1000)).ok());
  ASSERT_TRUE(set.add(R(0x3000, 0x1000)).ok());  // touches the end
  ASSERT_TRUE(set.add(R(0x1000, 0x1000)).ok());  // touches the base
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x3000)}));
  // One byte of gap is not adjacent.
  ASSERT_TRUE(set.add(R(0x4001, 0x1000)).ok());
  EXPECT_EQ(set.count(), 2u);
}

// One add that spans several ranges and the gaps between them merges them all.
TEST(RegionSetTest, AddBridgesSeveralRanges) {
  RegionSet set;
  for (uint64_t base : std::initializer_list<uint64_t>{0x1000, 0x3000, 0x5000, 0x9000})
    ASSERT_TRUE(set.add(R(base, 0x1000)).ok());
  ASSERT_TRUE(set.add(R(0x1800, 0x4000)).ok());  // 0x1800..0x5800
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x5000), R(0x9000, 0x1000)}));
  EXPECT_TRUE(is_canonical(set));
}

TEST(RegionSetTest, EmptyRangesAreNoOps) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0)).ok());
  EXPECT_EQ(set.count(), 0u);
  ASSERT_TRUE(set.add(R(0x1000, 0x1000)).ok());
  ASSERT_TRUE(set.subtract(R(0x1800, 0)).ok());
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x1000)}));
}

TEST(RegionSetTest, SubtractSplitsRange) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x0, 0x10000)).ok());
  ASSERT_TRUE(set.subtract(R(0x4000, 0x2000)).ok());
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x0, 0x4000), R(0x6000, 0xA000)}));
  EXPECT_EQ(set.total_bytes(), 0xE000u);
}

TEST(RegionSetTest, SubtractTrimsEdges) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0x4000)).ok());
  ASSERT_TRUE(set.subtract(R(0x0, 0x2000)).ok());     // overlaps the base
  ASSERT_TRUE(set.subtract(R(0x4000, 0x9000)).ok());  // overlaps the end
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x2000, 0x2000)}));
  ASSERT_TRUE(set.subtract(R(0x2000, 0x2000)).ok());  // exactly the range
  EXPECT_EQ(set.count(), 0u);
}

// A subtract spanning several ranges drops the inner ones and trims the outer.
TEST(RegionSetTest, SubtractAcrossSeveralRanges) {
  RegionSet set;
  for (uint64_t base : std::initializer_list<uint64_t>{0x1000, 0x3000, 0x5000, 0x7000})
    ASSERT_TRUE(set.add(R(base, 0x1000)).ok());
  ASSERT_TRUE(set.subtract(R(0x1800, 0x4000)).ok());  // 0x1800..0x5800
  EXPECT_EQ(ranges_of(set),
            (std::vector<PhysRange>{R(0x1000, 0x800), R(0x5800, 0x800), R(0x7000, 0x1000)}));
  // Subtracting what is not there changes nothing.
  ASSERT_TRUE(set.subtract(R(0x2000, 0x1000)).ok());
  ASSERT_TRUE(set.subtract(R(0x100000, 0x1000)).ok());
  EXPECT_EQ(set.count(), 3u);
  EXPECT_TRUE(is_canonical(set));
}

// 2^64 is not representable: a range ending at or beyond it is refused, one
// ending at UINT64_MAX is fine.
TEST(RegionSetTest, RejectsRangesEndingPast64Bits) {
  RegionSet set;
  EXPECT_EQ(set.add(R(0xFFFF'FFFF'FFFF'F000, 0x1000)).error(), Error::kOutOfRange);
  EXPECT_EQ(set.add(R(1, UINT64_MAX)).error(), Error::kOutOfRange);
  EXPECT_EQ(set.add(R(UINT64_MAX, UINT64_MAX)).error(), Error::kOutOfRange);
  EXPECT_EQ(set.count(), 0u);

  ASSERT_TRUE(set.add(R(0xFFFF'FFFF'FFFF'F000, 0xFFF)).ok());
  EXPECT_EQ(set[0].end().value(), UINT64_MAX);
  ASSERT_TRUE(set.add(R(0, UINT64_MAX)).ok());  // [0, UINT64_MAX) merges with it
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0, UINT64_MAX)}));
  EXPECT_EQ(set.total_bytes(), UINT64_MAX);

  EXPECT_EQ(set.subtract(R(0xFFFF'FFFF'FFFF'F000, 0x1000)).error(), Error::kOutOfRange);
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0, UINT64_MAX)}));
  EXPECT_FALSE(set.contains(R(0xFFFF'FFFF'FFFF'F000, 0x1000)));
  EXPECT_TRUE(set.contains(R(0xFFFF'FFFF'FFFF'F000, 0xFFF)));
}

TEST(RegionSetTest, AddBeyondCapacityFailsAndLeavesSetUnchanged) {
  RegionSet set = full_set();
  const auto before = ranges_of(set);
  EXPECT_EQ(set.add(R(0x1000'0000, 0x1000)).error(), Error::kTooManyRegions);
  EXPECT_EQ(ranges_of(set), before);
  // Adds that merge need no new entry and still work when full.
  ASSERT_TRUE(set.add(R(0x1000, 0x1000)).ok());  // joins ranges 0 and 1
  EXPECT_EQ(set.count(), RegionSet::kCapacity - 1);
  ASSERT_TRUE(set.add(R(0x1000'0000, 0x1000)).ok());
  EXPECT_EQ(set.count(), RegionSet::kCapacity);
  EXPECT_TRUE(is_canonical(set));
}

TEST(RegionSetTest, SplitBeyondCapacityFailsAndLeavesSetUnchanged) {
  RegionSet set = full_set();
  const auto before = ranges_of(set);
  EXPECT_EQ(set.subtract(R(0x2400, 0x100)).error(), Error::kTooManyRegions);
  EXPECT_EQ(ranges_of(set), before);
  // Trimming an edge or removing a whole range needs no new entry.
  ASSERT_TRUE(set.subtract(R(0x2000, 0x100)).ok());
  ASSERT_TRUE(set.subtract(R(0x4000, 0x1000)).ok());
  EXPECT_EQ(set.count(), RegionSet::kCapacity - 1);
  ASSERT_TRUE(set.subtract(R(0x2400, 0x100)).ok());  // now there is room to split
  EXPECT_EQ(set.count(), RegionSet::kCapacity);
}

TEST(RegionSetTest, Contains) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0x2000)).ok());
  ASSERT_TRUE(set.add(R(0x5000, 0x1000)).ok());
  EXPECT_TRUE(set.contains(R(0x1000, 0x2000)));
  EXPECT_TRUE(set.contains(R(0x1800, 0x100)));
  EXPECT_TRUE(set.contains(R(0x2FFF, 1)));
  EXPECT_FALSE(set.contains(R(0x3000, 1)));       // first byte past the end
  EXPECT_FALSE(set.contains(R(0x0FFF, 2)));       // starts before
  EXPECT_FALSE(set.contains(R(0x2000, 0x3800)));  // spans the hole
  EXPECT_TRUE(set.contains(R(0x4000, 0)));        // empty: vacuously
}

TEST(RegionSetTest, FindFreeReturnsLowestFit) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0x1000)).ok());
  ASSERT_TRUE(set.add(R(0x10000, 0x4000)).ok());
  EXPECT_EQ(set.find_free(0x1000, 0x1000).value(), PhysAddr(0x1000));
  EXPECT_EQ(set.find_free(0x1001, 0x1000).value(), PhysAddr(0x10000));
  EXPECT_EQ(set.find_free(0x4000, 1).value(), PhysAddr(0x10000));
  EXPECT_EQ(set.find_free(0x4001, 1).error(), Error::kNoMemory);
  // find_free does not take the memory.
  EXPECT_EQ(set.total_bytes(), 0x5000u);
}

// Alignment is of the address: a range is skipped if aligning its base
// leaves too little room, and an aligned slot inside a range is found.
TEST(RegionSetTest, FindFreeHonoursAlignment) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0x3000)).ok());  // no 16K-aligned 8K slot
  ASSERT_TRUE(set.add(R(0x9000, 0x9000)).ok());  // 0x9000..0x12000
  EXPECT_EQ(set.find_free(0x2000, 0x4000).value(), PhysAddr(0xC000));
  EXPECT_EQ(set.find_free(0x1000, 0x2000).value(), PhysAddr(0x2000));
  EXPECT_EQ(set.find_free(0x2000, 0x10000).value(), PhysAddr(0x10000));
  EXPECT_EQ(set.find_free(0x2001, 0x10000).error(), Error::kNoMemory);
}

TEST(RegionSetTest, FindFreeRejectsBadArguments) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x1000, 0x1000)).ok());
  EXPECT_EQ(set.find_free(0x100, 0).error(), Error::kMisaligned);
  EXPECT_EQ(set.find_free(0x100, 3).error(), Error::kMisaligned);
  EXPECT_EQ(set.find_free(0, 1).error(), Error::kOutOfRange);
}

// Aligning a base near the top of the address space must not wrap to 0.
TEST(RegionSetTest, FindFreeNearTopDoesNotWrap) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0xFFFF'FFFF'FFFF'F001, 0xFFE)).ok());
  EXPECT_EQ(set.find_free(1, 0x1000).error(), Error::kNoMemory);
  EXPECT_EQ(set.find_free(1, 1).value(), PhysAddr(0xFFFF'FFFF'FFFF'F001));
}

TEST(RegionSetTest, AlignInwardShrinksAndDropsRanges) {
  RegionSet set;
  ASSERT_TRUE(set.add(R(0x0800, 0x2000)).ok());                // -> 0x1000..0x2000
  ASSERT_TRUE(set.add(R(0x4100, 0x0E00)).ok());                // no whole page: dropped
  ASSERT_TRUE(set.add(R(0x6000, 0x3000)).ok());                // already aligned
  ASSERT_TRUE(set.add(R(0xFFFF'FFFF'FFFF'F001, 0xFFE)).ok());  // would round up past 2^64
  set.align_inward(kPageSize);
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x1000), R(0x6000, 0x3000)}));
  EXPECT_TRUE(is_canonical(set));

  set.align_inward(3);  // not a power of two: unchanged
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x1000, 0x1000), R(0x6000, 0x3000)}));
  set.align_inward(0x2000);
  EXPECT_EQ(ranges_of(set), (std::vector<PhysRange>{R(0x6000, 0x2000)}));
}

// Random adds and subtracts over a small space, checked byte for byte against
// a bitset model; capacity errors must leave both unchanged.
TEST(RegionSetTest, RandomOperationsMatchModel) {
  constexpr uint64_t kSpace = 1024;
  std::mt19937_64 rng(0x5EED'1234);
  RegionSet set;
  std::bitset<kSpace> model;
  int capacity_errors = 0;
  for (int op = 0; op < 4000; ++op) {
    const uint64_t base = rng() % kSpace;
    // Mostly small ranges, so the set fragments up to its capacity; now and
    // then a large one, so it also merges and empties.
    const uint64_t size = rng() % (rng() % 16 == 0 ? 256 : 4);
    const uint64_t end = base + size < kSpace ? base + size : kSpace;
    const bool adding = rng() % 2 == 0;
    const auto before = ranges_of(set);
    const auto result = adding ? set.add(R(base, end - base)) : set.subtract(R(base, end - base));
    if (!result.ok()) {
      ASSERT_EQ(result.error(), Error::kTooManyRegions);
      ASSERT_EQ(ranges_of(set), before);
      ++capacity_errors;
    } else {
      for (uint64_t b = base; b < end; ++b) model[b] = adding;
    }
    ASSERT_TRUE(is_canonical(set));
    std::bitset<kSpace> actual;
    for (const PhysRange& r : ranges_of(set)) {
      ASSERT_LE(r.end().value(), kSpace);
      for (uint64_t b = r.base.value(); b < r.end().value(); ++b) actual[b] = true;
    }
    ASSERT_EQ(actual, model) << "after op " << op;
    ASSERT_EQ(set.total_bytes(), model.count());
  }
  EXPECT_GT(capacity_errors, 0);  // the test did reach the capacity limit
}

}  // namespace
}  // namespace lamina::mm
