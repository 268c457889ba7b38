// Tests for mm/hyp_map: lamina's EL2 stage-1 table builder, run on a fake
// table arena (tests/fakes/fake_page_table_memory.hpp) and checked through
// lookup() and by reading the tables it builds.
#include "mm/hyp_map.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <vector>

#include "arch/regs/stage1_desc.hpp"
#include "fakes/fake_page_table_memory.hpp"

namespace lamina::mm {

// Internal linkage: other test files may print Error their own way.
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, Error e) { return os << error_name(e); }

namespace {

using arch::El2Access;
using arch::MemAttrIndex;
using arch::S1Leaf;
using arch::S1Table;
using arch::Shareability;
using test::FakePageTableMemory;

constexpr uint64_t kKiB4 = uint64_t{4} << 10;
constexpr uint64_t kMiB2 = uint64_t{2} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// A table plus the arena it lives in.
struct Harness {
  explicit Harness(unsigned va_bits = 48, size_t pages = 256) : arena(pages) {
    auto created = HypPageTable::create(arena.memory(), va_bits);
    EXPECT_TRUE(created.ok());
    if (created.ok()) table.emplace(created.value());
  }
  ~Harness() { EXPECT_EQ(arena.bad_translations(), 0u) << "table() called with a PA it never handed out"; }

  Status<Error> map(uint64_t va, uint64_t pa, uint64_t size, HypMapAttrs attrs,
                    Overlap overlap = Overlap::kFail) {
    return table->map(VirtAddr(va), PhysAddr(pa), size, attrs, overlap);
  }
  Status<Error> map_identity(uint64_t va, uint64_t size, HypMapAttrs attrs, Overlap overlap = Overlap::kFail) {
    return map(va, va, size, attrs, overlap);
  }
  Result<HypLeaf, Error> lookup(uint64_t va) const { return table->lookup(VirtAddr(va)); }

  FakePageTableMemory arena;
  std::optional<HypPageTable> table;
};

// The attributes a leaf descriptor encodes, decoded the other way round.
HypMapAttrs decode(const S1Leaf& d) {
  HypMapAttrs a;
  a.type = d.get(S1Leaf::attr_index) == MemAttrIndex::kDeviceNgnre ? HypMemType::kDevice : HypMemType::kNormal;
  a.writable = d.get(S1Leaf::ap) == El2Access::kReadWrite;
  a.executable = !d.get(S1Leaf::xn);
  return a;
}

bool same(HypMapAttrs a, HypMapAttrs b) {
  return a.type == b.type && a.writable == b.writable && a.executable == b.executable;
}

// Everything a leaf must hold whatever it maps.
void expect_well_formed_leaf(const HypLeaf& leaf) {
  const S1Leaf& d = leaf.desc;
  EXPECT_TRUE(d.get(S1Leaf::valid));
  EXPECT_EQ(d.get(S1Leaf::is_page_or_table), leaf.level == 3) << "page at level 3, block above";
  EXPECT_GE(leaf.level, 1u) << "no level-0 blocks with a 4K granule";
  EXPECT_TRUE(d.get(S1Leaf::af)) << "AF=1, or the first access faults";
  EXPECT_FALSE(d.get(S1Leaf::ns));
  EXPECT_FALSE(d.get(S1Leaf::ng));
  EXPECT_FALSE(d.get(S1Leaf::pxn)) << "bit 53 is RES0 in the EL2 regime";
  EXPECT_FALSE(d.get(S1Leaf::contiguous));
  EXPECT_EQ(d.get(S1Leaf::software), 0u);
  const auto attr = d.get(S1Leaf::attr_index);
  EXPECT_TRUE(attr == MemAttrIndex::kNormalWriteBack || attr == MemAttrIndex::kDeviceNgnre);
  if (attr == MemAttrIndex::kNormalWriteBack) {
    EXPECT_EQ(d.get(S1Leaf::sh), Shareability::kInnerShareable);
  }
  const uint64_t oa = d.get(S1Leaf::output_address) << kPageShift;
  EXPECT_EQ(oa & (level_entry_size(leaf.level) - 1), 0u) << "block output address aligned to the block";
  EXPECT_FALSE(decode(d).writable && decode(d).executable) << "W^X";
}

// Expects `va` to be mapped at `level` to `pa` with `attrs`.
void expect_mapped(const Harness& h, uint64_t va, unsigned level, uint64_t pa, HypMapAttrs attrs) {
  SCOPED_TRACE(testing::Message() << "va 0x" << std::hex << va);
  const auto leaf = h.lookup(va);
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  EXPECT_EQ(leaf.value().level, level);
  EXPECT_EQ(leaf.value().pa.value(), pa);
  expect_well_formed_leaf(leaf.value());
  EXPECT_TRUE(same(decode(leaf.value().desc), attrs));
}

void expect_unmapped(const Harness& h, uint64_t va) {
  const auto leaf = h.lookup(va);
  EXPECT_FALSE(leaf.ok()) << "va 0x" << std::hex << va << " is mapped";
  if (!leaf.ok()) {
    EXPECT_EQ(leaf.error(), Error::kOutOfRange);
  }
}

TEST(HypMapCreate, StartLevelFollowsVaBits) {
  // 4K granule, one level resolves 9 bits over a 12-bit page offset: a walk
  // from level 1 covers 39 bits, from level 0 covers 48.
  for (unsigned va_bits = 32; va_bits <= 48; ++va_bits) {
    FakePageTableMemory arena(4);
    const auto t = HypPageTable::create(arena.memory(), va_bits);
    ASSERT_TRUE(t.ok()) << va_bits;
    EXPECT_EQ(t.value().va_bits(), va_bits);
    EXPECT_EQ(t.value().start_level(), va_bits >= 40 ? 0u : 1u) << va_bits;
    EXPECT_EQ(t.value().tables_allocated(), 1u);
    EXPECT_EQ(arena.pages_allocated(), 1u);
    EXPECT_EQ(t.value().root().value(), FakePageTableMemory::kBasePa);
  }
  EXPECT_EQ(stage1_start_level(48), 0u);
  EXPECT_EQ(stage1_start_level(40), 0u);
  EXPECT_EQ(stage1_start_level(39), 1u);
  EXPECT_EQ(stage1_start_level(32), 1u);
}

TEST(HypMapCreate, RejectsVaBitsOutside32To48) {
  for (unsigned va_bits : {0u, 25u, 31u, 49u, 52u, 64u}) {
    FakePageTableMemory arena(4);
    const auto t = HypPageTable::create(arena.memory(), va_bits);
    ASSERT_FALSE(t.ok()) << va_bits;
    EXPECT_EQ(t.error(), Error::kOutOfRange);
    EXPECT_EQ(arena.pages_allocated(), 0u) << "nothing allocated for a refused table";
  }
}

TEST(HypMapCreate, NoMemoryForTheRoot) {
  FakePageTableMemory arena(0);
  const auto t = HypPageTable::create(arena.memory(), 48);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error(), Error::kNoMemory);
}

TEST(HypMapLevels, EntrySizes) {
  EXPECT_EQ(level_entry_size(0), uint64_t{512} * kGiB);
  EXPECT_EQ(level_entry_size(1), kGiB);
  EXPECT_EQ(level_entry_size(2), kMiB2);
  EXPECT_EQ(level_entry_size(3), kKiB4);
}

TEST(HypMap, AlignedGigabyteUsesALevel1Block) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'0000, kGiB, kHypReadWrite).ok());
  expect_mapped(h, 0x4000'0000, 1, 0x4000'0000, kHypReadWrite);
  expect_mapped(h, 0x4000'0000 + 0x1234'5678, 1, 0x4000'0000 + 0x1234'5678, kHypReadWrite);
  expect_mapped(h, 0x7fff'ffff & ~(kKiB4 - 1), 1, 0x7fff'f000, kHypReadWrite);
  expect_unmapped(h, 0x3fff'f000);
  expect_unmapped(h, 0x8000'0000);
  EXPECT_EQ(h.table->tables_allocated(), 2u) << "root (L0) + one L1 table";
  EXPECT_EQ(h.arena.pages_allocated(), 2u);
  const S1Leaf d = h.lookup(0x4000'0000).value().desc;
  EXPECT_EQ(d.get(S1Leaf::attr_index), MemAttrIndex::kNormalWriteBack);
  EXPECT_EQ(static_cast<uint64_t>(d.get(S1Leaf::attr_index)), 3u);
  EXPECT_EQ(static_cast<uint64_t>(d.get(S1Leaf::ap)), 0b01u) << "RW with AP[1] RES1";
  EXPECT_EQ(d.get(S1Leaf::sh), Shareability::kInnerShareable);
  EXPECT_TRUE(d.get(S1Leaf::af));
  EXPECT_TRUE(d.get(S1Leaf::xn));
  EXPECT_FALSE(d.get(S1Leaf::is_page_or_table)) << "a block";
}

TEST(HypMap, Aligned2MiBUsesLevel2Blocks) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4020'0000, 2 * kMiB2, kHypReadOnly).ok());
  expect_mapped(h, 0x4020'0000, 2, 0x4020'0000, kHypReadOnly);
  expect_mapped(h, 0x405f'f000, 2, 0x405f'f000, kHypReadOnly);
  expect_unmapped(h, 0x4060'0000);
  expect_unmapped(h, 0x401f'f000);
  EXPECT_EQ(h.table->tables_allocated(), 3u) << "L0 + L1 + L2";
  EXPECT_EQ(static_cast<uint64_t>(h.lookup(0x4020'0000).value().desc.get(S1Leaf::ap)), 0b11u) << "RO";
}

TEST(HypMap, UnalignedUsesPages) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'1000, 3 * kKiB4, kHypText).ok());
  for (uint64_t va = 0x4000'1000; va < 0x4000'4000; va += kKiB4) expect_mapped(h, va, 3, va, kHypText);
  expect_unmapped(h, 0x4000'0000);
  expect_unmapped(h, 0x4000'4000);
  EXPECT_EQ(h.table->tables_allocated(), 4u) << "L0 + L1 + L2 + L3";
  const S1Leaf d = h.lookup(0x4000'1000).value().desc;
  EXPECT_TRUE(d.get(S1Leaf::is_page_or_table)) << "a page";
  EXPECT_FALSE(d.get(S1Leaf::xn)) << "text is executable";
  EXPECT_EQ(static_cast<uint64_t>(d.get(S1Leaf::ap)), 0b11u) << "text is read-only";
}

TEST(HypMap, BlockNeedsThePhysicalSideAlignedToo) {
  // VA 1 GiB-aligned, PA only 2 MiB-aligned: 512 level-2 blocks, not one L1 block.
  Harness h;
  ASSERT_TRUE(h.map(0x4000'0000, 0x8020'0000, kGiB, kHypReadWrite).ok());
  expect_mapped(h, 0x4000'0000, 2, 0x8020'0000, kHypReadWrite);
  expect_mapped(h, 0x4000'0000 + kGiB - kKiB4, 2, 0x8020'0000 + kGiB - kKiB4, kHypReadWrite);
  expect_mapped(h, 0x4123'4000, 2, 0x8143'4000, kHypReadWrite);
  // And PA only 4K-aligned: pages.
  ASSERT_TRUE(h.map(0x1'0000'0000, 0x2000'1000, kMiB2, kHypReadOnly).ok());
  expect_mapped(h, 0x1'0000'0000, 3, 0x2000'1000, kHypReadOnly);
  expect_mapped(h, 0x1'001f'f000, 3, 0x2020'0000, kHypReadOnly);
}

TEST(HypMap, RangeStraddlingBlockBoundariesMixesLevels) {
  // [1 GiB - 2 MiB - 4 KiB, 2 GiB + 2 MiB + 4 KiB): a page, a 2 MiB block,
  // a 1 GiB block, a 2 MiB block, a page.
  Harness h;
  const uint64_t start = kGiB - kMiB2 - kKiB4;
  const uint64_t end = 2 * kGiB + kMiB2 + kKiB4;
  ASSERT_TRUE(h.map_identity(start, end - start, kHypReadWrite).ok());
  expect_unmapped(h, start - kKiB4);
  expect_mapped(h, start, 3, start, kHypReadWrite);
  expect_mapped(h, kGiB - kMiB2, 2, kGiB - kMiB2, kHypReadWrite);
  expect_mapped(h, kGiB - kKiB4, 2, kGiB - kKiB4, kHypReadWrite);
  expect_mapped(h, kGiB, 1, kGiB, kHypReadWrite);
  expect_mapped(h, 2 * kGiB - kKiB4, 1, 2 * kGiB - kKiB4, kHypReadWrite);
  expect_mapped(h, 2 * kGiB, 2, 2 * kGiB, kHypReadWrite);
  expect_mapped(h, 2 * kGiB + kMiB2, 3, 2 * kGiB + kMiB2, kHypReadWrite);
  expect_unmapped(h, end);
  // L0, L1, an L2 + L3 on each side.
  EXPECT_EQ(h.table->tables_allocated(), 6u);
}

TEST(HypMap, DeviceMemory) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x0900'0000, kKiB4, kHypDevice).ok());
  expect_mapped(h, 0x0900'0000, 3, 0x0900'0000, kHypDevice);
  const S1Leaf d = h.lookup(0x0900'0000).value().desc;
  EXPECT_EQ(d.get(S1Leaf::attr_index), MemAttrIndex::kDeviceNgnre);
  EXPECT_EQ(static_cast<uint64_t>(d.get(S1Leaf::attr_index)), 1u);
  EXPECT_TRUE(d.get(S1Leaf::xn)) << "device memory is never executable";
  EXPECT_EQ(static_cast<uint64_t>(d.get(S1Leaf::ap)), 0b01u);
}

TEST(HypMap, LeafDescriptorEncoding) {
  // Independent of the walk: the exact bits for a page and a block.
  EXPECT_EQ(HypPageTable::leaf_descriptor(PhysAddr(0x4008'1000), kHypReadWrite, 3).raw(), 0x0040'0000'4008'174fu);
  EXPECT_EQ(HypPageTable::leaf_descriptor(PhysAddr(0x4000'0000), kHypText, 1).raw(), 0x0000'0000'4000'07cdu);
  const S1Leaf dev = HypPageTable::leaf_descriptor(PhysAddr(0x0800'0000), kHypDevice, 2);
  EXPECT_EQ(dev.raw() & 0x0060'0000'0000'07ffu, 0x0040'0000'0000'0000u | 0x400 | 0x40 | 0x4 | 0x1 |
                                                     (static_cast<uint64_t>(dev.get(S1Leaf::sh)) << 8));
}

TEST(HypMap, TableDescriptorsPointIntoTheArenaWithNoHierarchicalLimits) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'0000, kKiB4, kHypReadWrite).ok());
  PhysAddr table = h.table->root();
  for (unsigned level = 0; level < 3; ++level) {
    const uint64_t* entries = h.arena.entries(table);
    ASSERT_NE(entries, nullptr);
    const unsigned index = static_cast<unsigned>((uint64_t{0x4000'0000} >> (12 + 9 * (3 - level))) & 511);
    const S1Table d(entries[index]);
    EXPECT_TRUE(d.get(S1Table::valid));
    EXPECT_TRUE(d.get(S1Table::is_table));
    EXPECT_FALSE(d.get(S1Table::pxn_table));
    EXPECT_FALSE(d.get(S1Table::xn_table));
    EXPECT_EQ(d.get(S1Table::ap_table), 0u);
    EXPECT_FALSE(d.get(S1Table::ns_table));
    EXPECT_EQ(d.raw() & ~arch::union_of_fields(S1Table::kFields), 0u) << "no undeclared bits set";
    table = PhysAddr(d.get(S1Table::next_level) << kPageShift);
    EXPECT_TRUE(h.arena.owns(table));
    // Every other entry of the table is invalid.
    for (unsigned i = 0; i < 512; ++i)
      if (i != index) {
        EXPECT_EQ(entries[i], 0u) << "level " << level << " index " << i;
      }
  }
}

TEST(HypMap, OverlapFailRefusesAnyAlreadyMappedPage) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'2000, kKiB4, kHypReadOnly).ok());
  const auto again = h.map_identity(0x4000'2000, kKiB4, kHypReadOnly);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), Error::kAlreadyMapped);
  // A wider range that contains the page: refused; what precedes the
  // conflict stays mapped, nothing after it is.
  const auto wide = h.map_identity(0x4000'0000, 0x4000, kHypReadWrite);
  ASSERT_FALSE(wide.ok());
  EXPECT_EQ(wide.error(), Error::kAlreadyMapped);
  expect_mapped(h, 0x4000'2000, 3, 0x4000'2000, kHypReadOnly);
  expect_unmapped(h, 0x4000'3000);
}

TEST(HypMap, OverlapFailRefusesMappingInsideABlock) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'0000, kGiB, kHypReadWrite).ok());
  for (uint64_t va : {uint64_t{0x4000'0000}, uint64_t{0x4020'0000}, uint64_t{0x7fff'f000}}) {
    const auto r = h.map_identity(va, kKiB4, kHypReadOnly);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kAlreadyMapped);
  }
  const auto block2m = h.map_identity(0x4020'0000, kMiB2, kHypReadOnly);
  ASSERT_FALSE(block2m.ok());
  EXPECT_EQ(block2m.error(), Error::kAlreadyMapped);
  expect_mapped(h, 0x4020'0000, 1, 0x4020'0000, kHypReadWrite);
}

TEST(HypMap, FillHolesKeepsTheImageAndFillsTheRestWithBlocks) {
  // The boot sequence: the image first, page by page with its own
  // permissions, then all of RAM read-write around it.
  Harness h;
  const uint64_t text = 0x4008'0000;
  const uint64_t rodata = 0x400a'0000;
  const uint64_t data = 0x400b'0000;
  ASSERT_TRUE(h.map_identity(text, 0x2'0000, kHypText).ok());
  ASSERT_TRUE(h.map_identity(rodata, 0x1'0000, kHypReadOnly).ok());
  ASSERT_TRUE(h.map_identity(data, 0x5'0000, kHypReadWrite).ok());
  const uint64_t tables_before = h.table->tables_allocated();
  ASSERT_TRUE(h.map_identity(0x4000'0000, kGiB, kHypReadWrite, Overlap::kFillHoles).ok());
  EXPECT_EQ(h.table->tables_allocated(), tables_before) << "filling needs no new tables here";

  expect_mapped(h, text, 3, text, kHypText);
  expect_mapped(h, text + 0x1'f000, 3, text + 0x1'f000, kHypText);
  expect_mapped(h, rodata, 3, rodata, kHypReadOnly);
  expect_mapped(h, data + 0x4'f000, 3, data + 0x4'f000, kHypReadWrite);
  // The rest of the first 2 MiB shares the image's L3 table: pages.
  expect_mapped(h, 0x4000'0000, 3, 0x4000'0000, kHypReadWrite);
  expect_mapped(h, text - kKiB4, 3, text - kKiB4, kHypReadWrite);
  expect_mapped(h, 0x401f'f000, 3, 0x401f'f000, kHypReadWrite);
  // Beyond it, 2 MiB blocks (the L1 entry is already a table).
  expect_mapped(h, 0x4020'0000, 2, 0x4020'0000, kHypReadWrite);
  expect_mapped(h, 0x7fe0'0000, 2, 0x7fe0'0000, kHypReadWrite);
  expect_mapped(h, 0x7fff'f000, 2, 0x7fff'f000, kHypReadWrite);
  expect_unmapped(h, 0x8000'0000);

  // A second, untouched gigabyte becomes one L1 block.
  ASSERT_TRUE(h.map_identity(0x8000'0000, kGiB, kHypReadWrite, Overlap::kFillHoles).ok());
  expect_mapped(h, 0x8000'0000, 1, 0x8000'0000, kHypReadWrite);
}

TEST(HypMap, FillHolesKeepsAnExistingBlock) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4020'0000, kMiB2, kHypReadOnly).ok());
  ASSERT_TRUE(h.map_identity(0x4000'0000, 3 * kMiB2, kHypReadWrite, Overlap::kFillHoles).ok());
  expect_mapped(h, 0x4000'0000, 2, 0x4000'0000, kHypReadWrite);
  expect_mapped(h, 0x4020'0000, 2, 0x4020'0000, kHypReadOnly);
  expect_mapped(h, 0x403f'f000, 2, 0x403f'f000, kHypReadOnly);
  expect_mapped(h, 0x4040'0000, 2, 0x4040'0000, kHypReadWrite);
  // Filling a page inside the block is a no-op, not an error.
  ASSERT_TRUE(h.map_identity(0x4030'0000, kKiB4, kHypReadWrite, Overlap::kFillHoles).ok());
  expect_mapped(h, 0x4030'0000, 2, 0x4030'0000, kHypReadOnly);
}

TEST(HypMap, FillHolesOverAFullyMappedRangeChangesNothing) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'0000, 0x3000, kHypText).ok());
  ASSERT_TRUE(h.map_identity(0x4000'0000, 0x3000, kHypReadWrite, Overlap::kFillHoles).ok());
  for (uint64_t va = 0x4000'0000; va < 0x4000'3000; va += kKiB4) expect_mapped(h, va, 3, va, kHypText);
}

TEST(HypMap, MisalignedArgumentsAreRefused) {
  Harness h;
  struct Case {
    uint64_t va, pa, size;
  };
  for (const Case& c : {Case{0x4000'0800, 0x4000'0000, kKiB4}, Case{0x4000'0000, 0x4000'0001, kKiB4},
                        Case{0x4000'0000, 0x4000'0000, kKiB4 + 1}, Case{0x4000'0000, 0x4000'0000, 0x800}}) {
    const auto r = h.map(c.va, c.pa, c.size, kHypReadWrite);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kMisaligned);
  }
  EXPECT_EQ(h.table->tables_allocated(), 1u) << "nothing was built";
}

TEST(HypMap, WritableAndExecutableIsRefused) {
  Harness h;
  const auto r = h.map_identity(0x4000'0000, kKiB4, HypMapAttrs{HypMemType::kNormal, true, true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kWriteAndExecute);
  expect_unmapped(h, 0x4000'0000);
}

TEST(HypMap, ExecutableDeviceIsRefused) {
  Harness h;
  const auto r = h.map_identity(0x0900'0000, kKiB4, HypMapAttrs{HypMemType::kDevice, false, true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kExecuteDevice);
  expect_unmapped(h, 0x0900'0000);
}

TEST(HypMap, OutOfRangeAddresses) {
  Harness h(40);
  const uint64_t top = uint64_t{1} << 40;
  // Up to the last page is fine; one page further is not.
  ASSERT_TRUE(h.map_identity(top - kKiB4, kKiB4, kHypReadWrite).ok());
  expect_mapped(h, top - kKiB4, 3, top - kKiB4, kHypReadWrite);
  for (const auto& r : {h.map_identity(top, kKiB4, kHypReadWrite), h.map_identity(top - kKiB4, 2 * kKiB4, kHypReadWrite),
                        // va + size wraps around 2^64.
                        h.map(0xffff'ffff'ffff'f000, 0x1000, kKiB4, kHypReadWrite),
                        h.map(0x1000, 0x1000, ~uint64_t{0xfff}, kHypReadWrite),
                        // PA beyond 48 bits.
                        h.map(0x1000, uint64_t{1} << 48, kKiB4, kHypReadWrite),
                        h.map(0x1000, (uint64_t{1} << 48) - kKiB4, 2 * kKiB4, kHypReadWrite)}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kOutOfRange);
  }
  expect_unmapped(h, 0x1000);
  const auto beyond = h.lookup(top);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error(), Error::kOutOfRange);
}

TEST(HypMap, ThirtyTwoBitSpace) {
  Harness h(32);
  ASSERT_EQ(h.table->start_level(), 1u);
  ASSERT_TRUE(h.map_identity(0xc000'0000, kGiB, kHypReadWrite).ok());
  expect_mapped(h, 0xffff'f000, 1, 0xffff'f000, kHypReadWrite);
  const auto r = h.map_identity(0x1'0000'0000, kKiB4, kHypReadWrite);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kOutOfRange);
  EXPECT_EQ(h.table->tables_allocated(), 1u) << "a 1 GiB block straight in the level-1 root";
}

TEST(HypMap, ZeroSizeMapsNothing) {
  Harness h;
  ASSERT_TRUE(h.map_identity(0x4000'0000, 0, kHypReadWrite).ok());
  expect_unmapped(h, 0x4000'0000);
  EXPECT_EQ(h.table->tables_allocated(), 1u);
}

TEST(HypMap, RunsOutOfTableMemory) {
  // One page at va_bits 48 needs the root plus L1, L2 and L3 tables.
  {
    Harness h(48, 3);
    const auto r = h.map_identity(0x4000'0000, kKiB4, kHypReadWrite);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kNoMemory);
    expect_unmapped(h, 0x4000'0000);
    EXPECT_EQ(h.table->tables_allocated(), 3u);
  }
  {
    Harness h(48, 4);
    ASSERT_TRUE(h.map_identity(0x4000'0000, kKiB4, kHypReadWrite).ok());
    // A page in another 2 MiB region needs one more L3 table: none left. The
    // part mapped before the failure stays mapped.
    const auto r = h.map_identity(0x4000'1000, kMiB2, kHypReadWrite);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kNoMemory);
    expect_mapped(h, 0x4000'1000, 3, 0x4000'1000, kHypReadWrite);
    expect_mapped(h, 0x401f'f000, 3, 0x401f'f000, kHypReadWrite);
    expect_unmapped(h, 0x4020'0000);
  }
}

TEST(HypMap, LookupOfUnmappedAddresses) {
  Harness h;
  expect_unmapped(h, 0);
  expect_unmapped(h, 0x4000'0000);
  ASSERT_TRUE(h.map_identity(0x4000'0000, kKiB4, kHypReadWrite).ok());
  expect_unmapped(h, 0x4000'1000);      // same L3 table, invalid entry
  expect_unmapped(h, 0x4020'0000);      // same L2 table, invalid entry
  expect_unmapped(h, 0x8000'0000);      // same L1 table, invalid entry
  expect_unmapped(h, uint64_t{1} << 39);  // another L0 entry
}

TEST(HypMap, TablesAllocatedCountsEveryTable) {
  Harness h(48, 64);
  ASSERT_TRUE(h.map_identity(0x4000'0000, kKiB4, kHypReadWrite).ok());
  EXPECT_EQ(h.table->tables_allocated(), 4u);
  ASSERT_TRUE(h.map_identity(0x4000'1000, kKiB4, kHypReadWrite).ok());
  EXPECT_EQ(h.table->tables_allocated(), 4u) << "same L3 table";
  ASSERT_TRUE(h.map_identity(0x4020'0000, kKiB4, kHypReadWrite).ok());
  EXPECT_EQ(h.table->tables_allocated(), 5u) << "one more L3";
  ASSERT_TRUE(h.map_identity(0x8000'0000, kKiB4, kHypReadWrite).ok());
  EXPECT_EQ(h.table->tables_allocated(), 7u) << "one more L2 and L3";
  ASSERT_TRUE(h.map_identity(uint64_t{1} << 39, kKiB4, kHypReadWrite).ok());
  EXPECT_EQ(h.table->tables_allocated(), 10u) << "a new L1, L2 and L3";
  ASSERT_TRUE(h.map_identity(0xc000'0000, kGiB, kHypReadWrite).ok());
  EXPECT_EQ(h.table->tables_allocated(), 10u) << "a block needs no table";
  EXPECT_EQ(h.table->tables_allocated(), h.arena.pages_allocated());
}

// Randomized differential test: random page-aligned maps with kFillHoles,
// compared against a reference that knows nothing about tables. With
// kFillHoles the first map to cover a page decides its translation, so the
// reference is the ordered list of maps, and a page's expected translation
// comes from the first one containing it.
struct RefMap {
  uint64_t va, pa, size;
  HypMapAttrs attrs;
};

std::optional<std::pair<uint64_t, HypMapAttrs>> reference_lookup(const std::vector<RefMap>& maps, uint64_t va) {
  for (const RefMap& m : maps)
    if (va >= m.va && va - m.va < m.size) return std::make_pair(m.pa + (va - m.va), m.attrs);
  return std::nullopt;
}

void expect_matches_reference(const Harness& h, const std::vector<RefMap>& maps, uint64_t va) {
  SCOPED_TRACE(testing::Message() << "va 0x" << std::hex << va);
  const auto expected = reference_lookup(maps, va);
  const auto leaf = h.lookup(va);
  ASSERT_EQ(leaf.ok(), expected.has_value());
  if (!expected) return;
  EXPECT_EQ(leaf.value().pa.value(), expected->first);
  EXPECT_TRUE(same(decode(leaf.value().desc), expected->second));
  expect_well_formed_leaf(leaf.value());
  // A block must be uniform: its first and last page translate the same way
  // in the reference.
  if (leaf.value().level < 3) {
    const uint64_t block = level_entry_size(leaf.value().level);
    const uint64_t first = va & ~(block - 1);
    const uint64_t last = first + block - kKiB4;
    const auto ref_first = reference_lookup(maps, first);
    const auto ref_last = reference_lookup(maps, last);
    ASSERT_TRUE(ref_first && ref_last) << "block maps pages no map asked for";
    EXPECT_EQ(ref_first->first, leaf.value().pa.value() - (va - first));
    EXPECT_EQ(ref_last->first, leaf.value().pa.value() + (last - va));
    EXPECT_TRUE(same(ref_first->second, expected->second) && same(ref_last->second, expected->second));
  }
}

TEST(HypMapRandomized, MatchesAReferenceModel) {
  const HypMapAttrs kinds[] = {kHypText, kHypReadOnly, kHypReadWrite, kHypDevice};
  constexpr uint64_t kSpace = uint64_t{16} << 30;  // maps land in the first 16 GiB
  for (uint32_t seed = 1; seed <= 24; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    auto uniform = [&rng](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
    Harness h(seed % 2 == 0 ? 40 : 36, 4096);
    std::vector<RefMap> maps;
    for (int op = 0; op < 120; ++op) {
      uint64_t granule = kKiB4;
      uint64_t count = uniform(1, 40);
      const uint64_t pick = uniform(0, 99);
      if (pick >= 95) {
        granule = kGiB;
        count = 1;
      } else if (pick >= 65) {
        granule = kMiB2;
        count = uniform(1, 3);
      }
      const uint64_t size = granule * count;
      // Mostly aligned to the granule, sometimes only to a page, so ranges
      // straddle block boundaries.
      uint64_t va = uniform(0, (kSpace - size) / granule) * granule;
      if (uniform(0, 3) == 0) va = uniform(0, (kSpace - size) / kKiB4) * kKiB4;
      uint64_t pa = va;
      if (uniform(0, 2) == 0) pa = uniform(0, ((uint64_t{1} << 44) - size) / kKiB4) * kKiB4;
      if (uniform(0, 2) == 0) pa = (va + uniform(0, 64) * kMiB2) & ((uint64_t{1} << 44) - 1);
      if (pa + size > (uint64_t{1} << 44)) pa = va;
      const HypMapAttrs attrs = kinds[uniform(0, 3)];
      const auto r = h.map(va, pa, size, attrs, Overlap::kFillHoles);
      ASSERT_TRUE(r.ok()) << r.error() << " op " << op;
      maps.push_back({va, pa, size, attrs});
    }
    // Edges of every map, and random addresses anywhere in the space.
    for (const RefMap& m : maps) {
      for (uint64_t va : {m.va, m.va + m.size - kKiB4, m.va + uniform(0, m.size / kKiB4 - 1) * kKiB4})
        expect_matches_reference(h, maps, va);
      if (m.va >= kKiB4) expect_matches_reference(h, maps, m.va - kKiB4);
      expect_matches_reference(h, maps, m.va + m.size);
    }
    for (int i = 0; i < 3000; ++i) expect_matches_reference(h, maps, uniform(0, kSpace / kKiB4 - 1) * kKiB4 + uniform(0, 4095));
    EXPECT_EQ(h.table->tables_allocated(), h.arena.pages_allocated());
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace lamina::mm
