// Behaviour of mm/stage2 (a VM's stage-2 address space) on fake table memory
// with the recording arch ops: block choice, index math, lookups,
// replacement with break-before-make, splitting, freeing, TLB batching,
// errors, VTTBR, destroy and concurrent faulting. Every test ends with the
// recorder's break-before-make check and the fake memory's misuse counters.
#include "mm/stage2.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_s2_table_memory.hpp"
#include "fakes/recording_stage2_arch_ops.hpp"
#include "mm/stage2_arch_ops.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::mm {
namespace {

using test::FakeS2TableMemory;
using test::S2Event;
using test::Stage2Recorder;
using Kind = S2Event::Kind;

constexpr uint64_t k4K = 4096;
constexpr uint64_t k2M = uint64_t{2} << 20;
constexpr uint64_t k1G = uint64_t{1} << 30;

constexpr S2Attrs kRamRw{S2MemKind::kNormalWriteBack, true, true, false, false, arch::Shareability::kInnerShareable, 0};
constexpr S2Attrs kRamRo{S2MemKind::kNormalWriteBack, true, false, false, false, arch::Shareability::kInnerShareable, 0};

IntermediatePhysAddr ipa(uint64_t v) { return IntermediatePhysAddr(v); }
PhysAddr pa(uint64_t v) { return PhysAddr(v); }

// An address space on fake memory, tracked by the recorder.
class Space {
 public:
  explicit Space(unsigned ipa_bits, uint16_t vmid = 7, bool cnp = false, size_t max_pages = 8192,
                 S2CodecConfig codec = {})
      : memory_(max_pages) {
    memory_.set_free_observer([](PhysAddr p, const uint64_t* host, unsigned pages) {
      Stage2Recorder::note_table_free(p, host, pages);
    });
    Stage2::Config config{stage2_geometry(ipa_bits).value(), codec, Vmid(vmid), cnp};
    init_status_ = s2_.init(config, memory_.memory()).ok();
    if (init_status_) Stage2Recorder::track(s2_, [this](PhysAddr p) { return memory_.host(p); });
  }
  ~Space() {
    s2_.destroy();
    EXPECT_EQ(memory_.live_pages(), 0u) << "destroy() left table pages allocated";
    EXPECT_EQ(memory_.bad_frees(), 0u);
    EXPECT_EQ(memory_.bad_translations(), 0u);
  }
  Stage2& s2() { return s2_; }
  FakeS2TableMemory& memory() { return memory_; }
  [[nodiscard]] bool initialized() const { return init_status_; }
  [[nodiscard]] uint64_t root_pages() const { return s2_.config().geometry.concatenated_tables; }

 private:
  FakeS2TableMemory memory_;
  Stage2 s2_;
  bool init_status_ = false;
};

class Stage2Test : public ::testing::Test {
 protected:
  void SetUp() override { Stage2Recorder::reset(); }
  void TearDown() override { EXPECT_EQ(Stage2Recorder::check_break_before_make(), ""); }
};

// Events of the given kinds, in order, as short strings ("store", "inval ...").
std::vector<std::string> trace(bool with_stores = true) {
  std::vector<std::string> out;
  for (const S2Event& e : Stage2Recorder::events()) {
    switch (e.kind) {
      case Kind::kStore:
        if (with_stores) out.push_back((e.new_raw & 1) != 0 ? "store valid" : "store invalid");
        break;
      case Kind::kInvalidateIpa: {
        char buf[96];
        std::snprintf(buf, sizeof buf, "invalidate_ipa 0x%llx L%u%s", static_cast<unsigned long long>(e.ipa),
                      e.level, e.last_level ? " last" : "");
        out.push_back(buf);
        break;
      }
      default: out.push_back(test::s2_event_kind_name(e.kind));
    }
  }
  return out;
}

// --- block choice, per geometry ---------------------------------------------

struct GeometryCase {
  unsigned ipa_bits;
  unsigned start_level;
  unsigned roots;
};

class Stage2GeometryTest : public Stage2Test, public ::testing::WithParamInterface<GeometryCase> {};

INSTANTIATE_TEST_SUITE_P(Geometries, Stage2GeometryTest,
                         ::testing::Values(GeometryCase{40, 1, 2}, GeometryCase{48, 0, 1}, GeometryCase{32, 2, 4}),
                         [](const auto& info) { return "Ipa" + std::to_string(info.param.ipa_bits); });

TEST_P(Stage2GeometryTest, GeometryHasTheExpectedStartLevelAndRoots) {
  // The geometries under test are the three shapes: 3 levels with 2 roots, 4 levels, 2 levels with 4 roots.
  Space space(GetParam().ipa_bits);
  ASSERT_TRUE(space.initialized());
  EXPECT_EQ(space.s2().config().geometry.start_level, GetParam().start_level);
  EXPECT_EQ(space.root_pages(), GetParam().roots);
  EXPECT_EQ(space.s2().table_pages(), GetParam().roots);
  EXPECT_EQ(space.memory().live_pages(), GetParam().roots);
}

TEST_P(Stage2GeometryTest, AlignedGigabyteUsesTheLargestBlockTheGeometryHas) {
  // A 1 GiB range with IPA and PA 1 GiB-aligned is one level-1 block, or 512 level-2 blocks when the walk starts at level 2.
  Space space(GetParam().ipa_bits);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(5 * k1G), k1G, kRamRw).ok());
  const auto census = space.memory().census(space.s2());
  if (GetParam().start_level <= 1) {
    EXPECT_EQ(census.leaves.size(), 1u);
    EXPECT_EQ(census.leaves_at(1), 1u);
  } else {
    EXPECT_EQ(census.leaves.size(), 512u);
    EXPECT_EQ(census.leaves_at(2), 512u);
  }
  const auto hit = space.s2().lookup(ipa(k1G + 0x1234567));
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit.value().output, pa(5 * k1G + 0x1234567));
  EXPECT_EQ(hit.value().level, GetParam().start_level <= 1 ? 1u : 2u);
  EXPECT_EQ(census.empty_tables, 0u);
}

TEST_P(Stage2GeometryTest, RaggedRangeUsesPagesAtTheEndsAndBlocksInTheMiddle) {
  // [X - 4K, X + 4M + 4K) with X 2 MiB-aligned (PA alike) is a page, two 2 MiB blocks and a page.
  Space space(GetParam().ipa_bits);
  const uint64_t x = k1G + 10 * k2M;
  ASSERT_TRUE(space.s2().map(ipa(x - k4K), pa(3 * k1G + 10 * k2M - k4K), 2 * k2M + 2 * k4K, kRamRw).ok());
  const auto census = space.memory().census(space.s2());
  EXPECT_EQ(census.leaves.size(), 4u);
  EXPECT_EQ(census.leaves_at(3), 2u);
  EXPECT_EQ(census.leaves_at(2), 2u);
  ASSERT_EQ(census.leaves.size(), 4u);
  EXPECT_EQ(census.leaves[0].ipa, x - k4K);
  EXPECT_EQ(census.leaves[1].ipa, x);
  EXPECT_EQ(census.leaves[2].ipa, x + k2M);
  EXPECT_EQ(census.leaves[3].ipa, x + 2 * k2M);
  EXPECT_EQ(space.s2().lookup(ipa(x + k2M + 5)).value().output, pa(3 * k1G + 11 * k2M + 5));
}

TEST_P(Stage2GeometryTest, PaAlignedOnlyTo4KForcesPages) {
  // A 2 MiB-aligned IPA range whose PA is only 4K-aligned cannot use a block: 512 pages.
  Space space(GetParam().ipa_bits);
  ASSERT_TRUE(space.s2().map(ipa(2 * k2M), pa(k1G + k4K), k2M, kRamRw).ok());
  const auto census = space.memory().census(space.s2());
  EXPECT_EQ(census.leaves_at(3), 512u);
  EXPECT_EQ(census.leaves.size(), 512u);
  EXPECT_EQ(space.s2().lookup(ipa(2 * k2M + 0x3456)).value().output, pa(k1G + k4K + 0x3456));
}

TEST_P(Stage2GeometryTest, MappingTheTopOfTheIpaSpaceWorksAndBeyondIsOutOfRange) {
  // The last page of the IPA space can be mapped; one page further is kOutOfRange.
  Space space(GetParam().ipa_bits);
  const uint64_t top = uint64_t{1} << GetParam().ipa_bits;
  ASSERT_TRUE(space.s2().map(ipa(top - k4K), pa(k4K), k4K, kRamRw).ok());
  EXPECT_EQ(space.s2().lookup(ipa(top - 1)).value().output, pa(2 * k4K - 1));
  const auto r = space.s2().map(ipa(top - k4K), pa(k4K), 2 * k4K, kRamRw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kOutOfRange);
  EXPECT_EQ(space.s2().lookup(ipa(top)).error(), Error::kOutOfRange);
}

// --- root index math ----------------------------------------------------------

TEST_F(Stage2Test, QemuVirtPassthroughWindowsAreMappedWithBlocks) {
  // The 7 page ranges of every QEMU virt device (hyp/passthrough.cpp maps
  // them IPA = PA, as Device): three single pages, the virtio-mmio page
  // run, the 32-bit PCIe MMIO + PIO windows (752 MiB from 256 MiB), ECAM
  // (256 MiB at 256 GiB + 256 MiB) and the 512 GiB high MMIO window at
  // 512 GiB. The big windows take 2 MiB and 1 GiB blocks, so the whole map
  // is 1023 descriptors in 7 table pages, not hundreds of millions of pages.
  Space space(48);
  const struct {
    uint64_t base, size;
  } ranges[] = {{0x9010000, 0x1000},       {0x9020000, 0x1000},        {0x9030000, 0x1000},
                {0xa000000, 0x4000},       {0x10000000, 0x2f000000},   {0x4010000000, 0x10000000},
                {0x8000000000, 0x8000000000}};
  for (const auto& r : ranges)
    ASSERT_TRUE(space.s2().map(ipa(r.base), pa(r.base), r.size, kS2GuestDevice).ok()) << std::hex << r.base;
  const auto census = space.memory().census(space.s2());
  EXPECT_EQ(census.leaves_at(1), 512u);              // the 512 GiB window
  EXPECT_EQ(census.leaves_at(2), 376u + 128u);       // the 32-bit window and ECAM
  EXPECT_EQ(census.leaves_at(3), 3u + 4u);           // the single pages and virtio
  EXPECT_EQ(census.leaves.size(), 1023u);
  // Root, two level-1 tables (below and above 512 GiB), two level-2 tables
  // (GiB 0, GiB 256), two level-3 tables (the 2 MiB holding the three
  // pages, the one holding virtio).
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 6);
  EXPECT_EQ(space.s2().lookup(ipa(0x8000000000 + 0x123456789)).value().output, pa(0x8000000000 + 0x123456789));
  EXPECT_EQ(space.s2().lookup(ipa(0x8000000000 + 0x123456789)).value().level, 1u);
}

TEST_F(Stage2Test, IpaInTheSecondConcatenatedRootLandsInTheSecondRootPage) {
  // With a 40-bit IPA (start level 1, two roots) IPA 512 GiB + 3 GiB is entry 3 of the second root page.
  Space space(40);
  const uint64_t x = (uint64_t{512} << 30) + 3 * k1G;
  ASSERT_TRUE(space.s2().map(ipa(x), pa(7 * k1G), k1G, kRamRw).ok());
  const uint64_t* root0 = space.memory().entries(space.s2().root());
  const uint64_t* root1 = space.memory().entries(space.s2().root().offset(k4K));
  ASSERT_NE(root1, nullptr);
  EXPECT_EQ(classify(root1[3], 1), S2DescKind::kBlock);
  EXPECT_EQ(classify(root0[3], 1), S2DescKind::kInvalid);
  EXPECT_EQ(decode_leaf(root1[3], 1, {}).value().output, pa(7 * k1G));
  EXPECT_EQ(space.s2().lookup(ipa(x + 42)).value().output, pa(7 * k1G + 42));
  EXPECT_EQ(space.s2().lookup(ipa(3 * k1G)).error(), Error::kOutOfRange);
}

TEST_F(Stage2Test, IpaInTheFourthRootOfA32BitSpaceLandsInTheFourthRootPage) {
  // With a 32-bit IPA (start level 2, four roots) IPA 3 GiB + 2 MiB is entry 1 of the fourth root page.
  Space space(32);
  ASSERT_TRUE(space.s2().map(ipa(3 * k1G + k2M), pa(k2M), k2M, kRamRw).ok());
  const uint64_t* root3 = space.memory().entries(space.s2().root().offset(3 * k4K));
  ASSERT_NE(root3, nullptr);
  EXPECT_EQ(classify(root3[1], 2), S2DescKind::kBlock);
  for (unsigned page = 0; page < 3; ++page)
    EXPECT_EQ(classify(space.memory().entries(space.s2().root().offset(page * k4K))[1], 2), S2DescKind::kInvalid);
}

// --- lookup -------------------------------------------------------------------

TEST_F(Stage2Test, LookupReturnsTheLeafItsLevelAndTheOutputForTheIpa) {
  // lookup() returns the raw leaf, its level, the decoded leaf and the output address of the exact IPA.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(4 * k2M), pa(8 * k2M), k2M, kS2GuestRam).ok());
  const auto hit = space.s2().lookup(ipa(4 * k2M + 0x12345));
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit.value().level, 2u);
  EXPECT_EQ(hit.value().output, pa(8 * k2M + 0x12345));
  EXPECT_EQ(hit.value().leaf.output, pa(8 * k2M));
  EXPECT_EQ(hit.value().leaf.attrs, kS2GuestRam);
  EXPECT_EQ(hit.value().descriptor, encode_leaf(pa(8 * k2M), 2, kS2GuestRam, {}).value().raw());
  EXPECT_EQ(space.s2().lookup(ipa(5 * k2M)).error(), Error::kOutOfRange) << "unmapped";
  EXPECT_EQ(space.s2().lookup(ipa(uint64_t{1} << 40)).error(), Error::kOutOfRange) << "outside the space";
}

// --- replacing mappings --------------------------------------------------------

TEST_F(Stage2Test, RemappingAPageToAnotherOutputBreaksInvalidatesThenMakes) {
  // A valid page remapped elsewhere: invalid store, publish, TLBI by IPA in the VM's VMID, completion, new store.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G), k4K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G + k4K), k4K, kRamRw).ok());
  const std::vector<std::string> expected = {
      "store invalid", "publish", "enter_vmid", "invalidate_ipa 0x200000 L3 last", "complete_ipa_invalidation",
      "exit_vmid", "store valid", "publish"};
  EXPECT_EQ(trace(), expected);
  EXPECT_EQ(space.s2().lookup(ipa(k2M)).value().output, pa(k1G + k4K));
  for (const S2Event& e : Stage2Recorder::events())
    if (e.kind == Kind::kEnterVmid) {
      EXPECT_EQ(e.vttbr, space.s2().vttbr().raw());
    }
}

TEST_F(Stage2Test, PermissionOnlyChangeIsWrittenInPlaceAndInvalidated) {
  // Same output, same memory type, other permissions: one in-place store, then the TLBI batch; no invalid entry.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G), k4K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G), k4K, kRamRo).ok());
  const std::vector<std::string> expected = {"store valid", "publish", "enter_vmid",
                                             "invalidate_ipa 0x200000 L3 last", "complete_ipa_invalidation",
                                             "exit_vmid"};
  EXPECT_EQ(trace(), expected);
  EXPECT_EQ(space.s2().lookup(ipa(k2M)).value().leaf.attrs, kRamRo);
}

TEST_F(Stage2Test, IdenticalRemapStoresNothing) {
  // Mapping exactly what is already mapped writes no descriptor and issues no TLBI.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(0), pa(k1G), 2 * k2M + 3 * k4K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(0), pa(k1G), 2 * k2M + 3 * k4K, kRamRw).ok());
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 0u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 0u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateVmid), 0u);
}

TEST_F(Stage2Test, MemoryTypeChangeNeedsBreakBeforeMake) {
  // RAM remapped as device at the same output changes the memory type: break, TLBI, make.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G), k2M, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G), k2M, kS2GuestDevice).ok());
  const std::vector<std::string> expected = {
      "store invalid", "publish", "enter_vmid", "invalidate_ipa 0x200000 L2 last", "complete_ipa_invalidation",
      "exit_vmid", "store valid", "publish"};
  EXPECT_EQ(trace(), expected);
  EXPECT_EQ(space.s2().lookup(ipa(k2M)).value().leaf.attrs.kind, S2MemKind::kDeviceNgnre);
}

TEST_F(Stage2Test, TableReplacedByABlockIsBrokenInvalidatedAndFreedAfterwards) {
  // Pages under a 2 MiB entry replaced by a 2 MiB block: the table entry is broken, every page and the walk cache
  // are invalidated, the block is made, and only then the old table is freed.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G + k4K), pa(k4K), 3 * k4K, kRamRw).ok());
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 2);
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k2M), k2M, kRamRw).ok());
  const std::vector<std::string> expected = {"store invalid",
                                             "publish",
                                             "enter_vmid",
                                             "invalidate_ipa 0x40000000 L2",
                                             "invalidate_ipa 0x40001000 L3 last",
                                             "invalidate_ipa 0x40002000 L3 last",
                                             "invalidate_ipa 0x40003000 L3 last",
                                             "complete_ipa_invalidation",
                                             "exit_vmid",
                                             "store valid",
                                             "publish",
                                             "free_table"};
  EXPECT_EQ(trace(), expected);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 1);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + k4K)).value().level, 2u);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + k4K)).value().output, pa(k2M + k4K));
}

TEST_F(Stage2Test, ManyReplacementsShareTlbSequences) {
  // 100 pages remapped elsewhere: every one is broken and made, but the TLB work is batched (no TLBI per page).
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G + k4K), 100 * k4K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(2 * k1G + k4K), 100 * k4K, kRamRw).ok());
  const size_t sequences =
      Stage2Recorder::count(Kind::kCompleteIpaInvalidation) + Stage2Recorder::count(Kind::kInvalidateVmid);
  EXPECT_GE(sequences, 1u);
  EXPECT_LE(sequences, 4u);
  for (uint64_t i = 0; i < 100; ++i)
    EXPECT_EQ(space.s2().lookup(ipa(k2M + i * k4K)).value().output, pa(2 * k1G + k4K + i * k4K));
}

// --- splitting ----------------------------------------------------------------

TEST_F(Stage2Test, UnmappingOnePageOfAGigabyteBlockSplitsDownToPages) {
  // One page unmapped from a 1 GiB block leaves 511 2 MiB blocks and 511 pages with the same outputs.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(4 * k1G), k1G, kRamRw).ok());
  const uint64_t hole = k1G + 300 * k2M + 17 * k4K;
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(hole), k4K).ok());
  const auto census = space.memory().census(space.s2());
  EXPECT_EQ(census.leaves_at(1), 0u);
  EXPECT_EQ(census.leaves_at(2), 511u);
  EXPECT_EQ(census.leaves_at(3), 511u);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 2);
  EXPECT_EQ(space.s2().lookup(ipa(hole)).error(), Error::kOutOfRange);
  EXPECT_EQ(space.s2().lookup(ipa(hole - k4K)).value().output, pa(4 * k1G + 300 * k2M + 16 * k4K));
  EXPECT_EQ(space.s2().lookup(ipa(hole + k4K)).value().output, pa(4 * k1G + 300 * k2M + 18 * k4K));
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 7 * k2M + 9)).value().output, pa(4 * k1G + 7 * k2M + 9));
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 7 * k2M)).value().level, 2u);
  // Only the two blocks that were split were invalidated; the new tables were filled before being linked.
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 2u);
}

TEST_F(Stage2Test, ProtectingPartOfA2MBlockSplitsIt) {
  // Protecting 3 pages of a 2 MiB block makes them read-only; the other 509 pages keep their attributes and outputs.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(8 * k2M), k2M, kRamRw).ok());
  ASSERT_TRUE(space.s2().protect(ipa(k2M + 10 * k4K), 3 * k4K, kRamRo).ok());
  const auto census = space.memory().census(space.s2());
  EXPECT_EQ(census.leaves_at(3), 512u);
  for (uint64_t i = 0; i < 512; ++i) {
    const auto hit = space.s2().lookup(ipa(k2M + i * k4K));
    ASSERT_TRUE(hit.ok());
    EXPECT_EQ(hit.value().output, pa(8 * k2M + i * k4K));
    EXPECT_EQ(hit.value().leaf.attrs, (i >= 10 && i < 13) ? kRamRo : kRamRw) << i;
  }
}

TEST_F(Stage2Test, ProtectLeavesUnmappedPartsUnmapped) {
  // protect() over a hole changes the mapped pages only.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(0), pa(k1G), k4K, kRamRw).ok());
  ASSERT_TRUE(space.s2().protect(ipa(0), 4 * k4K, kRamRo).ok());
  EXPECT_EQ(space.s2().lookup(ipa(0)).value().leaf.attrs, kRamRo);
  EXPECT_EQ(space.s2().lookup(ipa(k4K)).error(), Error::kOutOfRange);
}

TEST_F(Stage2Test, ProtectChangingMemoryTypeOfAWholeBlockIsBreakBeforeMake) {
  // Turning a RAM block into non-cacheable memory is a memory-type change: the block is broken and re-made.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k1G), k1G, kRamRw).ok());
  Stage2Recorder::clear_events();
  S2Attrs nc = kRamRw;
  nc.kind = S2MemKind::kNormalNonCacheable;
  ASSERT_TRUE(space.s2().protect(ipa(k1G), k1G, nc).ok());
  const std::vector<std::string> expected = {
      "store invalid", "publish", "enter_vmid", "invalidate_ipa 0x40000000 L1 last", "complete_ipa_invalidation",
      "exit_vmid", "store valid", "publish"};
  EXPECT_EQ(trace(), expected);
  EXPECT_EQ(space.s2().lookup(ipa(k1G)).value().leaf.attrs, nc);
}

// --- freeing ------------------------------------------------------------------

TEST_F(Stage2Test, UnmappingEverythingFreesEveryTableButTheRoot) {
  // After a mix of pages and blocks is unmapped piecewise, only the root's pages remain.
  for (const unsigned bits : {32u, 40u, 48u}) {
    SCOPED_TRACE(bits);
    Stage2Recorder::reset();
    Space space(bits);
    ASSERT_TRUE(space.s2().map(ipa(k2M - k4K), pa(k1G - k4K), k1G + 5 * k4K, kRamRw).ok());
    ASSERT_TRUE(space.s2().map(ipa(k1G + 7 * k2M + k4K), pa(k4K), 9 * k4K, kRamRo).ok());
    EXPECT_GT(space.s2().table_pages(), space.root_pages());
    ASSERT_TRUE(space.s2().unmap(ipa(k2M), 3 * k4K).ok());
    ASSERT_TRUE(space.s2().unmap(ipa(0), k1G).ok());
    ASSERT_TRUE(space.s2().unmap(ipa(k1G), k1G).ok());
    EXPECT_EQ(space.s2().table_pages(), space.root_pages());
    EXPECT_EQ(space.memory().live_pages(), space.root_pages());
    EXPECT_TRUE(space.memory().census(space.s2()).leaves.empty());
    EXPECT_EQ(Stage2Recorder::check_break_before_make(), "");
  }
}

TEST_F(Stage2Test, UnmappingTheLastPageOfATableFreesTheTableAfterItsInvalidation) {
  // The last page of a table unmapped: page invalid, table entry invalid, both TLBIs completed, then the free.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G + k2M), pa(k4K), k4K, kRamRw).ok());
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k1G), k2M, kRamRw).ok());  // keeps the level-2 table alive
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k1G + k2M), k4K).ok());
  const std::vector<std::string> expected = {"store invalid",
                                             "store invalid",
                                             "publish",
                                             "enter_vmid",
                                             "invalidate_ipa 0x40200000 L3 last",
                                             "invalidate_ipa 0x40200000 L2",
                                             "complete_ipa_invalidation",
                                             "exit_vmid",
                                             "free_table"};
  EXPECT_EQ(trace(), expected);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 1);
}

// --- TLB batching ---------------------------------------------------------------

TEST_F(Stage2Test, UnmappingAGigabyteOfPagesInvalidatesTheVmidOnce) {
  // 262144 pages unmapped at once: one invalidate_vmid, no invalidate_ipa, every table freed after it.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k4K), k1G, kRamRw).ok());  // PA only 4K-aligned: pages
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 1 + 512);
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k1G), k1G).ok());
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 0u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateVmid), 1u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kFreeTable), 513u);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages());
}

TEST_F(Stage2Test, UnmappingTenPagesIssuesTenInvalidationsAndOneCompletion) {
  // 10 pages out of 512: 10 last-level TLBIs by IPA and one completion, all inside enter/exit_vmid with this VTTBR.
  Space space(40, 0x42);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G + k4K), k2M, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k2M + 100 * k4K), 10 * k4K).ok());
  const auto events = Stage2Recorder::events();
  std::vector<std::string> tlb;
  bool inside = false;
  for (const S2Event& e : events) {
    if (e.kind == Kind::kEnterVmid) {
      EXPECT_EQ(e.vttbr, space.s2().vttbr().raw());
      inside = true;
    } else if (e.kind == Kind::kExitVmid) {
      inside = false;
    } else if (e.kind == Kind::kInvalidateIpa || e.kind == Kind::kCompleteIpaInvalidation) {
      EXPECT_TRUE(inside);
      EXPECT_EQ(e.vttbr, space.s2().vttbr().raw());
    }
  }
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 10u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kCompleteIpaInvalidation), 1u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kEnterVmid), 1u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kExitVmid), 1u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateVmid), 0u);
  uint64_t expected_ipa = k2M + 100 * k4K;
  for (const S2Event& e : events) {
    if (e.kind != Kind::kInvalidateIpa) continue;
    EXPECT_EQ(e.ipa, expected_ipa);
    EXPECT_EQ(e.level, 3u);
    EXPECT_TRUE(e.last_level);
    expected_ipa += k4K;
  }
}

TEST_F(Stage2Test, SixtyFourInvalidationsStayByIpaSixtyFiveBecomeOneVmidInvalidation) {
  // kMaxBatchedInvalidations per-IPA TLBIs are issued as such; one more and the batch invalidates the VMID.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k1G + k4K), k2M, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k2M), kMaxBatchedInvalidations * k4K).ok());
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), kMaxBatchedInvalidations);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateVmid), 0u);
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k2M + kMaxBatchedInvalidations * k4K), (kMaxBatchedInvalidations + 1) * k4K).ok());
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 0u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateVmid), 1u);
}

// --- errors -------------------------------------------------------------------

TEST_F(Stage2Test, MisalignedArgumentsAreRefused) {
  // An IPA, PA or size that is not page-aligned is kMisaligned, and nothing is stored.
  Space space(40);
  Stage2Recorder::clear_events();
  EXPECT_EQ(space.s2().map(ipa(0x800), pa(0), k4K, kRamRw).error(), Error::kMisaligned);
  EXPECT_EQ(space.s2().map(ipa(0), pa(0x800), k4K, kRamRw).error(), Error::kMisaligned);
  EXPECT_EQ(space.s2().map(ipa(0), pa(0), 0x800, kRamRw).error(), Error::kMisaligned);
  EXPECT_EQ(space.s2().unmap(ipa(0x10), k4K).error(), Error::kMisaligned);
  EXPECT_EQ(space.s2().protect(ipa(0), 0x10, kRamRo).error(), Error::kMisaligned);
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 0u);
}

TEST_F(Stage2Test, RangesOutsideTheSpacesAreRefused) {
  // Beyond the IPA space, wrapping around, or an output beyond 48 bits: kOutOfRange.
  Space space(40);
  const uint64_t top = uint64_t{1} << 40;
  EXPECT_EQ(space.s2().map(ipa(top), pa(0), k4K, kRamRw).error(), Error::kOutOfRange);
  EXPECT_EQ(space.s2().map(ipa(top - k4K), pa(0), 2 * k4K, kRamRw).error(), Error::kOutOfRange);
  EXPECT_EQ(space.s2().unmap(ipa(k4K), ~uint64_t{0} & ~(k4K - 1)).error(), Error::kOutOfRange);
  EXPECT_EQ(space.s2().map(ipa(0), pa((uint64_t{1} << 48) - k4K), 2 * k4K, kRamRw).error(), Error::kOutOfRange);
  EXPECT_EQ(space.s2().protect(ipa(top - k4K), 2 * k4K, kRamRo).error(), Error::kOutOfRange);
  EXPECT_TRUE(space.memory().census(space.s2()).leaves.empty());
}

TEST_F(Stage2Test, ExecutableDeviceMemoryIsRefusedByTheCodec) {
  // Device memory with execute permission is kExecuteDevice (the codec's kExecutableDevice), for map and protect.
  Space space(40);
  S2Attrs bad = kS2GuestDevice;
  bad.exec_el1 = bad.exec_el0 = true;
  EXPECT_EQ(space.s2().map(ipa(0), pa(0), k4K, bad).error(), Error::kExecuteDevice);
  ASSERT_TRUE(space.s2().map(ipa(0), pa(0), k4K, kRamRw).ok());
  EXPECT_EQ(space.s2().protect(ipa(0), k4K, bad).error(), Error::kExecuteDevice);
  EXPECT_EQ(space.s2().lookup(ipa(0)).value().leaf.attrs, kRamRw);
  S2Attrs split = kRamRw;
  split.exec_el1 = true;  // EL1 but not EL0 needs FEAT_XNX
  EXPECT_EQ(space.s2().map(ipa(0), pa(0), k4K, split).error(), Error::kBadAttributes);
}

TEST_F(Stage2Test, OutOfTableMemoryChangesNothing) {
  // kNoMemory while building the path to a new page leaves no mapping and no table behind.
  Space space(40);
  space.memory().set_page_limit(space.root_pages() + 1);  // a level-2 table, but no level-3 one
  Stage2Recorder::clear_events();
  const auto r = space.s2().map(ipa(k1G + k4K), pa(k4K), k4K, kRamRw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kNoMemory);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages());
  EXPECT_EQ(space.memory().live_pages(), space.root_pages());
  EXPECT_EQ(space.s2().lookup(ipa(k1G + k4K)).error(), Error::kOutOfRange);
}

TEST_F(Stage2Test, OutOfMemoryForASplitLeavesTheBlockIntact) {
  // Unmapping a page of a 2 MiB block with no page for the split fails with kNoMemory; the block is untouched.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k2M), pa(k2M), k2M, kRamRw).ok());
  const uint64_t pages = space.s2().table_pages();
  const uint64_t raw = space.s2().lookup(ipa(k2M)).value().descriptor;
  space.memory().set_page_limit(space.memory().live_pages());
  Stage2Recorder::clear_events();
  const auto r = space.s2().unmap(ipa(k2M + k4K), k4K);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kNoMemory);
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 0u);
  EXPECT_EQ(space.s2().table_pages(), pages);
  EXPECT_EQ(space.s2().lookup(ipa(k2M + k4K)).value().descriptor, raw);
  EXPECT_EQ(space.s2().protect(ipa(k2M), k4K, kRamRo).error(), Error::kNoMemory);
  EXPECT_EQ(space.s2().lookup(ipa(k2M)).value().leaf.attrs, kRamRw);
}

TEST_F(Stage2Test, OutOfMemoryHalfWayKeepsWhatWasMappedBefore) {
  // A map that runs out of tables part-way has mapped the part before the failure and nothing after it.
  Space space(40);
  space.memory().set_page_limit(space.root_pages() + 2);  // one level-2 and one level-3 table
  const auto r = space.s2().map(ipa(k2M - 2 * k4K), pa(k1G + k4K), 4 * k4K, kRamRw);  // needs two level-3 tables
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kNoMemory);
  EXPECT_TRUE(space.s2().lookup(ipa(k2M - 2 * k4K)).ok());
  EXPECT_TRUE(space.s2().lookup(ipa(k2M - k4K)).ok());
  EXPECT_FALSE(space.s2().lookup(ipa(k2M)).ok());
  EXPECT_EQ(space.memory().census(space.s2()).empty_tables, 0u);
}

// --- the fault-in cases -----------------------------------------------------------
//
// A guest's first touch maps one page or block of RAM (kS2GuestRam) into a 48-bit, four-level space on a CPU
// with FEAT_S2FWB. In the three common cases the map only makes invalid entries valid, so it stores, publishes
// (DSB ISHST) and issues no TLB maintenance at all: a TLB never holds an entry that gives a Translation fault
// (DDI 0487 K.a D8.16 "TLB maintenance requirements"), so there is nothing stale to invalidate.
//
// Guest RAM leaves typed in from the spec with FWB: MemAttr[5:2] 0b0110 (Normal Write-Back, D8.5.6), S2AP[7:6]
// 0b11, SH[9:8] 0b11, AF (bit 10), XN[54:53] 0b00; bits[1:0] 0b11 for a page, 0b01 for a block (D8.3.1).
constexpr uint64_t kGuestRamPageFwb = 0x7db;
constexpr uint64_t kGuestRamBlockFwb = 0x7d9;
constexpr S2CodecConfig kFwb{true, false};

// The index of `slot` in its 4 KiB table page.
uint64_t index_in_page(const uint64_t* slot) { return (reinterpret_cast<uintptr_t>(slot) & 0xfff) / 8; }

TEST_F(Stage2Test, FaultInOfAPageUnderExistingTablesStoresOneLeafAndOnlyPublishes) {
  // The tables down to level 3 exist (a neighbour was mapped): one store of the page into entry 5 of the level-3
  // table, one publish, nothing else.
  Space space(48, 7, false, 8192, kFwb);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k2M), k4K, kS2GuestRam).ok());
  const uint64_t pages = space.s2().table_pages();
  EXPECT_EQ(pages, space.root_pages() + 3);
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G + 5 * k4K), pa(0x1234'5000), k4K, kS2GuestRam).ok());
  const std::vector<S2Event> events = Stage2Recorder::events();
  ASSERT_EQ(events.size(), 2u) << ::testing::PrintToString(trace());
  EXPECT_EQ(events[0].kind, Kind::kStore);
  EXPECT_EQ(events[0].old_raw, 0u);
  EXPECT_EQ(events[0].new_raw, 0x1234'5000 | kGuestRamPageFwb);
  EXPECT_EQ(index_in_page(events[0].slot), 5u);
  EXPECT_EQ(events[1].kind, Kind::kPublish);
  EXPECT_EQ(space.s2().table_pages(), pages);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 5 * k4K + 0x123)).value().output, pa(0x1234'5123));
}

TEST_F(Stage2Test, FaultInOfAPageThatNeedsALevel3TableLinksTheZeroedTableThenStoresTheLeaf) {
  // The level-2 table exists, its entry for the page is invalid: the new (zeroed) level-3 table is linked
  // first, then the page stored into it, then one publish; no TLB maintenance.
  Space space(48, 7, false, 8192, kFwb);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k2M), k4K, kS2GuestRam).ok());
  const uint64_t pages = space.s2().table_pages();
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G + 3 * k2M + 7 * k4K), pa(0x5670'0000), k4K, kS2GuestRam).ok());
  const std::vector<S2Event> events = Stage2Recorder::events();
  ASSERT_EQ(events.size(), 3u) << ::testing::PrintToString(trace());
  EXPECT_EQ(events[0].kind, Kind::kStore);
  EXPECT_EQ(events[0].old_raw, 0u);
  EXPECT_EQ(events[0].new_raw & 0b11, 0b11u) << "a table descriptor";
  EXPECT_EQ(index_in_page(events[0].slot), 3u) << "level-2 entry 3";
  const uint64_t* table = space.memory().entries(table_address(events[0].new_raw));
  ASSERT_NE(table, nullptr) << "links a live table page";
  EXPECT_EQ(events[1].kind, Kind::kStore);
  EXPECT_EQ(events[1].old_raw, 0u);
  EXPECT_EQ(events[1].new_raw, 0x5670'0000 | kGuestRamPageFwb);
  EXPECT_EQ(events[1].slot, table + 7) << "entry 7 of the new table";
  EXPECT_EQ(events[2].kind, Kind::kPublish);
  EXPECT_EQ(space.s2().table_pages(), pages + 1);
  for (uint64_t i = 0; i < 512; ++i) {
    if (i != 7) {
      EXPECT_EQ(table[i], 0u) << "entry " << i << " of the new table";
    }
  }
}

TEST_F(Stage2Test, FaultInOfA2MiBBlockUnderAnExistingLevel2TableStoresOneBlockAndOnlyPublishes) {
  Space space(48, 7, false, 8192, kFwb);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(k1G), k2M, kS2GuestRam).ok());
  const uint64_t pages = space.s2().table_pages();
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G + 4 * k2M), pa(0x1220'0000), k2M, kS2GuestRam).ok());
  const std::vector<S2Event> events = Stage2Recorder::events();
  ASSERT_EQ(events.size(), 2u) << ::testing::PrintToString(trace());
  EXPECT_EQ(events[0].kind, Kind::kStore);
  EXPECT_EQ(events[0].old_raw, 0u);
  EXPECT_EQ(events[0].new_raw, 0x1220'0000 | kGuestRamBlockFwb);
  EXPECT_EQ(index_in_page(events[0].slot), 4u);
  EXPECT_EQ(events[1].kind, Kind::kPublish);
  EXPECT_EQ(space.s2().table_pages(), pages);
}

TEST_F(Stage2Test, OutOfTableMemoryDeepInANewPathFreesEveryTableItAllocated) {
  // Four levels, nothing mapped yet: the level-1 and level-2 tables fit, the level-3 one does not. The map fails
  // with kNoMemory and, on the way back up, detaches and frees both new (empty) tables.
  Space space(48);
  space.memory().set_page_limit(space.root_pages() + 2);
  const auto r = space.s2().map(ipa(5 * k1G + 3 * k2M), pa(k4K), k4K, kRamRw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kNoMemory);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages());
  EXPECT_EQ(space.memory().live_pages(), space.root_pages());
  const FakeS2TableMemory::Census census = space.memory().census(space.s2());
  EXPECT_TRUE(census.leaves.empty());
  EXPECT_EQ(census.table_pages, space.root_pages());
  // The next map, with memory to spare, builds the path again.
  space.memory().set_page_limit(8192);
  ASSERT_TRUE(space.s2().map(ipa(5 * k1G + 3 * k2M), pa(k4K), k4K, kRamRw).ok());
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 3);
}

TEST_F(Stage2Test, AFailedMapFreesOnlyTheTablesItLeftEmpty) {
  // Two pages in different level-3 tables under one new level-2 table: the first level-3 table fits, the second
  // does not. The first page stays mapped, the second level-3 table was never linked, and no empty table is left.
  Space space(48);
  space.memory().set_page_limit(space.root_pages() + 3);  // level 1, level 2 and one level 3
  const auto r = space.s2().map(ipa(k1G + k2M - k4K), pa(k1G), 2 * k4K, kRamRw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kNoMemory);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + k2M - k4K)).value().output, pa(k1G));
  EXPECT_FALSE(space.s2().lookup(ipa(k1G + k2M)).ok());
  const FakeS2TableMemory::Census census = space.memory().census(space.s2());
  EXPECT_EQ(census.empty_tables, 0u);
  EXPECT_EQ(census.leaves.size(), 1u);
  EXPECT_EQ(space.s2().table_pages(), space.root_pages() + 3);
}

TEST_F(Stage2Test, OperationsBeforeInitAreOutOfRange) {
  // An address space that was never initialized maps nothing.
  Stage2 s2;
  EXPECT_EQ(s2.map(ipa(0), pa(0), k4K, kRamRw).error(), Error::kOutOfRange);
  EXPECT_EQ(s2.lookup(ipa(0)).error(), Error::kOutOfRange);
  s2.destroy();  // harmless
}

TEST_F(Stage2Test, InitTwiceIsRefused) {
  // init() on an initialized address space is kAlreadyMapped and allocates nothing.
  Space space(40);
  const size_t live = space.memory().live_pages();
  EXPECT_EQ(space.s2().init(space.s2().config(), space.memory().memory()).error(), Error::kAlreadyMapped);
  EXPECT_EQ(space.memory().live_pages(), live);
}

TEST_F(Stage2Test, ReentryFromTheLockOwnerFailsInsteadOfDeadlocking) {
  // An operation started while this CPU already holds the address space's lock returns kBusy at once.
  Space space(40);
  std::vector<Error> seen;
  Stage2Recorder::set_store_hook([&] {
    const auto r = space.s2().lookup(ipa(0));
    if (!r.ok()) seen.push_back(r.error());
  });
  ASSERT_TRUE(space.s2().map(ipa(0), pa(0), k4K, kRamRw).ok());
  Stage2Recorder::set_store_hook({});
  ASSERT_FALSE(seen.empty());
  for (const Error e : seen) EXPECT_EQ(e, Error::kBusy);
  EXPECT_TRUE(space.s2().lookup(ipa(0)).ok());
}

// --- VTTBR, destroy, cache maintenance ----------------------------------------------

TEST_F(Stage2Test, VttbrHoldsTheRootTheVmidAndCnp) {
  // VTTBR_EL2.BADDR is the (concatenated) root, VMID the VM's, CnP as configured.
  Space space(40, 0x1234, true);
  const arch::VttbrEl2 v = space.s2().vttbr();
  EXPECT_EQ(v.get(arch::VttbrEl2::baddr) << 1, space.s2().root().value());
  EXPECT_EQ(v.get(arch::VttbrEl2::vmid), 0x1234u);
  EXPECT_TRUE(v.get(arch::VttbrEl2::cnp));
  EXPECT_TRUE(space.s2().root().is_aligned(2 * k4K)) << "two concatenated roots: 8K-aligned";
  Space other(40, 3, false);
  EXPECT_FALSE(other.s2().vttbr().get(arch::VttbrEl2::cnp));
  EXPECT_EQ(other.s2().vttbr().get(arch::VttbrEl2::vmid), 3u);
}

TEST_F(Stage2Test, DestroyInvalidatesTheVmidAndFreesEveryTable) {
  // destroy() frees every table page, root included, after invalidating the whole VMID.
  auto space = std::make_unique<Space>(48);
  ASSERT_TRUE(space->s2().map(ipa(k2M - k4K), pa(k1G - k4K), k1G, kRamRw).ok());
  ASSERT_TRUE(space->s2().map(ipa(uint64_t{1} << 40), pa(k4K), 8 * k4K, kRamRw).ok());
  Stage2Recorder::clear_events();
  space->s2().destroy();
  EXPECT_EQ(space->memory().live_pages(), 0u);
  EXPECT_EQ(space->s2().table_pages(), 0u);
  EXPECT_GE(Stage2Recorder::count(Kind::kInvalidateVmid), 1u);
  const auto events = Stage2Recorder::events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, Kind::kFreeTable) << "the root is freed last";
  space.reset();
}

TEST_F(Stage2Test, MakeVisibleToGuestCleansAndSyncsTheICacheOnlyForCode) {
  // Data is cleaned to the PoC; executable data also gets the I-cache maintenance.
  make_visible_to_guest(pa(0x8000'0000), 3 * k4K, false);
  make_visible_to_guest(pa(0x9000'0000), k4K, true);
  const std::vector<std::string> expected = {"clean_dcache_to_poc", "clean_dcache_to_poc", "sync_icache"};
  EXPECT_EQ(trace(), expected);
  const auto events = Stage2Recorder::events();
  EXPECT_EQ(events[0].pa, 0x8000'0000u);
  EXPECT_EQ(events[0].size, 3 * k4K);
  EXPECT_EQ(events[2].pa, 0x9000'0000u);
}

// --- the recorder catches violations ------------------------------------------------

TEST_F(Stage2Test, RecorderCatchesAValidToValidReplacementAndAMissingInvalidation) {
  // A checker that cannot fail proves nothing: an output change written in place, and a break never invalidated,
  // are both reported.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(0), pa(k1G), k1G, kRamRw).ok());
  uint64_t* slot = &space.memory().host(space.s2().root())[0];
  const uint64_t original = *slot;
  const auto retrack = [&] {
    Stage2Recorder::reset();
    Stage2Recorder::track(space.s2(), [&](PhysAddr p) { return space.memory().host(p); });
  };
  s2ops::store_descriptor(slot, encode_leaf(pa(2 * k1G), 1, kRamRw, {}).value().raw());
  EXPECT_NE(Stage2Recorder::check_break_before_make().find("without break-before-make"), std::string::npos)
      << Stage2Recorder::check_break_before_make();
  retrack();
  s2ops::store_descriptor(slot, 0);
  EXPECT_NE(Stage2Recorder::check_break_before_make().find("never completed"), std::string::npos)
      << Stage2Recorder::check_break_before_make();
  retrack();
  s2ops::store_descriptor(slot, original);  // invalid -> valid: allowed
  EXPECT_EQ(Stage2Recorder::check_break_before_make(), "");
}

// --- the contiguous hint -------------------------------------------------------------

constexpr uint64_t k64K = 16 * k4K;
constexpr uint64_t k32M = 16 * k2M;

// Whether the leaf translating `v` carries the contiguous hint (via lookup).
bool hinted_at(Space& space, uint64_t v) {
  const auto hit = space.s2().lookup(ipa(v));
  EXPECT_TRUE(hit.ok()) << std::hex << v;
  return hit.ok() && hit.value().leaf.contiguous;
}

// Leaves with the hint, per the independent census of the tables.
size_t hinted_leaves(Space& space, unsigned level) {
  size_t n = 0;
  for (const auto& leaf : space.memory().census(space.s2()).leaves)
    if (leaf.level == level && decode_leaf(leaf.raw, leaf.level, {}).value().contiguous) ++n;
  return n;
}

// The host slot of the entry at `level` translating `v` (the path must exist).
uint64_t* slot_of(Space& space, uint64_t v, unsigned level) {
  const Stage2Geometry& g = space.s2().config().geometry;
  unsigned l = g.start_level;
  const uint64_t root_index = v >> (12 + 9 * (3 - l));
  uint64_t* slot = &space.memory().host(space.s2().root().offset((root_index / 512) * k4K))[root_index % 512];
  while (l < level) {
    uint64_t* table = space.memory().host(table_address(*slot));
    ++l;
    slot = &table[(v >> (12 + 9 * (3 - l))) & 511];
  }
  return slot;
}

// Checks the break of a whole run in the recorded events: `broken` invalid
// stores, then one completed TLBI batch covering `level` entries of the run,
// and only after it any valid store.
void expect_whole_run_broken_first(uint64_t run_ipa, unsigned level) {
  const std::vector<S2Event> events = Stage2Recorder::events();
  size_t invalid_stores = 0;
  size_t invalidations = 0;
  bool completed = false;
  for (const S2Event& e : events) {
    if (e.kind == Kind::kStore && (e.new_raw & 1) == 0 && !completed) ++invalid_stores;
    if (e.kind == Kind::kStore && (e.new_raw & 1) != 0) {
      EXPECT_TRUE(completed) << "a valid store before the run's break completed";
    }
    if (e.kind == Kind::kInvalidateIpa && e.level == level && e.ipa >= run_ipa &&
        e.ipa < run_ipa + 16 * s2_entry_size(level))
      ++invalidations;
    if (e.kind == Kind::kCompleteIpaInvalidation && invalidations == 16) completed = true;
  }
  EXPECT_EQ(invalid_stores, 16u);
  EXPECT_GE(invalidations, 16u);
  EXPECT_TRUE(completed);
}

TEST_F(Stage2Test, Aligned64KiBOfPagesGetsTheContiguousHintOnAll16) {
  // 64 KiB, IPA and PA 64 KiB-aligned: 16 level-3 pages, each with the hint, written from invalid (no TLBI).
  Space space(40);
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G + 3 * k64K), pa(2 * k1G + 5 * k64K), k64K, kRamRw).ok());
  EXPECT_EQ(hinted_leaves(space, 3), 16u);
  EXPECT_EQ(space.memory().census(space.s2()).leaves.size(), 16u);
  for (uint64_t i = 0; i < 16; ++i) {
    const auto hit = space.s2().lookup(ipa(k1G + 3 * k64K + i * k4K + 0x10));
    ASSERT_TRUE(hit.ok());
    EXPECT_TRUE(hit.value().leaf.contiguous) << i;
    EXPECT_EQ(hit.value().level, 3u);
    EXPECT_EQ(hit.value().output, pa(2 * k1G + 5 * k64K + i * k4K + 0x10));
    EXPECT_EQ(hit.value().leaf.attrs, kRamRw);
  }
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 0u);
}

TEST_F(Stage2Test, Aligned32MiBOf2MiBBlocksGetsTheContiguousHintOnAll16) {
  // 32 MiB, IPA and PA 32 MiB-aligned (not a whole 1 GiB): 16 level-2 blocks with the hint.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G + k32M), pa(3 * k1G + 2 * k32M), k32M, kRamRw).ok());
  EXPECT_EQ(hinted_leaves(space, 2), 16u);
  EXPECT_EQ(space.memory().census(space.s2()).leaves.size(), 16u);
  EXPECT_TRUE(hinted_at(space, k1G + k32M + 7 * k2M + 0x1234));
  EXPECT_EQ(space.s2().lookup(ipa(k1G + k32M + 7 * k2M)).value().level, 2u);
}

TEST_F(Stage2Test, LargerRangesHintEveryWholeAlignedRunAndNothingElse) {
  // [64K - 4K, 64K + 128K + 4K): one page, two hinted runs, one page: 32 hinted of 34.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k64K - k4K), pa(k1G + k64K - k4K), 2 * k64K + 2 * k4K, kRamRw).ok());
  EXPECT_EQ(space.memory().census(space.s2()).leaves.size(), 34u);
  EXPECT_EQ(hinted_leaves(space, 3), 32u);
  EXPECT_FALSE(hinted_at(space, k64K - k4K));
  EXPECT_TRUE(hinted_at(space, k64K));
  EXPECT_FALSE(hinted_at(space, 3 * k64K));
}

TEST_F(Stage2Test, UnalignedOrNonUniformRunsGetNoHint) {
  Space space(40);
  // IPA not 64 KiB-aligned: 16 pages straddling two runs.
  ASSERT_TRUE(space.s2().map(ipa(k1G + k4K), pa(2 * k1G + k4K), k64K, kRamRw).ok());
  // IPA aligned, output only 4 KiB-aligned.
  ASSERT_TRUE(space.s2().map(ipa(k1G + 4 * k64K), pa(2 * k1G + k4K), k64K, kRamRw).ok());
  // One aligned run mapped as two halves with different permissions.
  ASSERT_TRUE(space.s2().map(ipa(k1G + 8 * k64K), pa(3 * k1G), k64K / 2, kRamRw).ok());
  ASSERT_TRUE(space.s2().map(ipa(k1G + 8 * k64K + k64K / 2), pa(3 * k1G + k64K / 2), k64K / 2, kRamRo).ok());
  // 15 of 16 pages.
  ASSERT_TRUE(space.s2().map(ipa(k1G + 12 * k64K), pa(3 * k1G + 12 * k64K), k64K - k4K, kRamRw).ok());
  // 2 MiB blocks: 32 MiB IPA-aligned, output aligned to 2 MiB only.
  ASSERT_TRUE(space.s2().map(ipa(2 * k1G), pa(4 * k1G + k2M), k32M, kRamRw).ok());
  EXPECT_EQ(hinted_leaves(space, 3), 0u);
  EXPECT_EQ(hinted_leaves(space, 2), 0u);
  EXPECT_EQ(space.memory().census(space.s2()).leaves_at(2), 16u);
}

TEST_F(Stage2Test, MappingAHintedRunAgainWithTheSameAttributesIsANoOp) {
  // The whole run, or a part of it, mapped again identically: no store, no TLBI, the hint stays.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  ASSERT_TRUE(space.s2().map(ipa(k1G + k32M), pa(2 * k1G + k32M), k32M, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  ASSERT_TRUE(space.s2().map(ipa(k1G + 5 * k4K), pa(2 * k1G + 5 * k4K), 2 * k4K, kRamRw).ok());
  ASSERT_TRUE(space.s2().map(ipa(k1G + k32M), pa(2 * k1G + k32M), k32M, kRamRw).ok());
  ASSERT_TRUE(space.s2().map(ipa(k1G + k32M + k2M), pa(2 * k1G + k32M + k2M), k2M, kRamRw).ok());
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 0u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateIpa), 0u);
  EXPECT_EQ(Stage2Recorder::count(Kind::kInvalidateVmid), 0u);
  EXPECT_TRUE(hinted_at(space, k1G + 5 * k4K));
  EXPECT_TRUE(hinted_at(space, k1G + k32M + k2M));
}

TEST_F(Stage2Test, UnmappingOnePageOfARunBreaksTheWholeRunFirst) {
  // All 16 invalid and invalidated, completed, then the other 15 made again without the hint.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k1G + 5 * k4K), k4K).ok());
  expect_whole_run_broken_first(k1G, 3);
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 16u + 15u);
  EXPECT_FALSE(space.s2().lookup(ipa(k1G + 5 * k4K)).ok());
  for (uint64_t i = 0; i < 16; ++i) {
    if (i == 5) continue;
    const auto hit = space.s2().lookup(ipa(k1G + i * k4K));
    ASSERT_TRUE(hit.ok()) << i;
    EXPECT_FALSE(hit.value().leaf.contiguous) << i;
    EXPECT_EQ(hit.value().output, pa(2 * k1G + i * k4K));
    EXPECT_EQ(hit.value().leaf.attrs, kRamRw);
  }
  EXPECT_EQ(Stage2Recorder::check_break_before_make(), "");
}

TEST_F(Stage2Test, ProtectingOnePageOfARunBreaksTheWholeRunFirst) {
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().protect(ipa(k1G + 9 * k4K), k4K, kRamRo).ok());
  expect_whole_run_broken_first(k1G, 3);
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 16u + 16u);
  EXPECT_EQ(hinted_leaves(space, 3), 0u);
  for (uint64_t i = 0; i < 16; ++i) {
    const auto hit = space.s2().lookup(ipa(k1G + i * k4K));
    ASSERT_TRUE(hit.ok()) << i;
    EXPECT_EQ(hit.value().output, pa(2 * k1G + i * k4K));
    EXPECT_EQ(hit.value().leaf.attrs, i == 9 ? kRamRo : kRamRw) << i;
  }
}

TEST_F(Stage2Test, ProtectingAWholeRunKeepsTheHintWithBreakBeforeMake) {
  // Permissions of a whole hinted run: the run goes down and comes back hinted (never changed entry by entry).
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().protect(ipa(k1G), k64K, kRamRo).ok());
  expect_whole_run_broken_first(k1G, 3);
  EXPECT_EQ(hinted_leaves(space, 3), 16u);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 3 * k4K)).value().leaf.attrs, kRamRo);
  // The same permissions again: nothing changes.
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().protect(ipa(k1G), k64K, kRamRo).ok());
  EXPECT_EQ(Stage2Recorder::count(Kind::kStore), 0u);
}

TEST_F(Stage2Test, RemappingPartOfARunElsewhereBreaksTheWholeRunFirst) {
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G + 2 * k4K), pa(5 * k1G), 2 * k4K, kRamRw).ok());
  expect_whole_run_broken_first(k1G, 3);
  EXPECT_EQ(hinted_leaves(space, 3), 0u);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 3 * k4K)).value().output, pa(5 * k1G + k4K));
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 4 * k4K)).value().output, pa(2 * k1G + 4 * k4K));
}

TEST_F(Stage2Test, RemappingAWholeRunElsewhereBreaksItAndMakesTheNewRunHinted) {
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(5 * k1G), k64K, kRamRw).ok());
  expect_whole_run_broken_first(k1G, 3);
  EXPECT_EQ(hinted_leaves(space, 3), 16u);
  EXPECT_EQ(space.s2().lookup(ipa(k1G + 15 * k4K)).value().output, pa(5 * k1G + 15 * k4K));
}

TEST_F(Stage2Test, UnmappingOneBlockOfA32MiBRunBreaksTheRunOfBlocks) {
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G + k32M), pa(3 * k1G), k32M, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k1G + k32M + 4 * k2M), k2M).ok());
  expect_whole_run_broken_first(k1G + k32M, 2);
  EXPECT_EQ(hinted_leaves(space, 2), 0u);
  EXPECT_EQ(space.memory().census(space.s2()).leaves_at(2), 15u);
  EXPECT_FALSE(space.s2().lookup(ipa(k1G + k32M + 4 * k2M)).ok());
}

TEST_F(Stage2Test, SplittingABlockOfARunBreaksTheRunAndHintsTheWholeRunsOfTheNewTable) {
  // Unmapping one page of a hinted 2 MiB block: the run of blocks goes down (15 blocks come back without the
  // hint); the block's new table has the hint on its 31 untouched page runs, not on the run with the hole.
  Space space(40);
  ASSERT_TRUE(space.s2().map(ipa(k1G), pa(3 * k1G), k32M, kRamRw).ok());
  Stage2Recorder::clear_events();
  ASSERT_TRUE(space.s2().unmap(ipa(k1G + k2M + 3 * k4K), k4K).ok());
  expect_whole_run_broken_first(k1G, 2);
  EXPECT_EQ(hinted_leaves(space, 2), 0u);
  EXPECT_EQ(hinted_leaves(space, 3), 31u * 16u);
  EXPECT_FALSE(hinted_at(space, k1G + k2M));
  EXPECT_TRUE(hinted_at(space, k1G + k2M + k64K));
  EXPECT_EQ(space.s2().lookup(ipa(k1G + k2M + k64K)).value().output, pa(3 * k1G + k2M + k64K));
}

TEST_F(Stage2Test, RecorderCatchesAChangeOfOneEntryOfAHintedRun) {
  // Three ways to break the run rules, each reported: a permission change in place of one hinted entry; one
  // entry properly broken, invalidated and remade elsewhere while the other 15 keep the hint; one entry unmapped
  // (invalidated, completed) leaving 15 hinted entries behind.
  const S2Attrs ro_hint = kRamRo;
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    Stage2Recorder::reset();
    {
      Space space(40);
      ASSERT_TRUE(space.s2().map(ipa(k1G), pa(2 * k1G), k64K, kRamRw).ok());
      ASSERT_EQ(Stage2Recorder::check_break_before_make(), "");
      uint64_t* slot = slot_of(space, k1G + 5 * k4K, 3);
      ASSERT_TRUE(decode_leaf(*slot, 3, {}).value().contiguous);
      const auto tlbi = [&] {
        s2ops::publish_descriptors();
        const uint64_t previous = s2ops::enter_vmid(space.s2().vttbr().raw());
        s2ops::invalidate_ipa(ipa(k1G + 5 * k4K), 3, true);
        s2ops::complete_ipa_invalidation();
        s2ops::exit_vmid(previous);
      };
      std::string want;
      if (variant == 0) {
        s2ops::store_descriptor(slot, encode_leaf(pa(2 * k1G + 5 * k4K), 3, ro_hint, {}, {true}).value().raw());
        tlbi();
        want = "contiguous run";
      } else if (variant == 1) {
        s2ops::store_descriptor(slot, 0);
        tlbi();
        s2ops::store_descriptor(slot, encode_leaf(pa(7 * k1G), 3, kRamRw, {}).value().raw());
        want = "contiguous run";
      } else {
        s2ops::store_descriptor(slot, 0);
        tlbi();
        want = "not part of a whole uniform run";
      }
      const std::string got = Stage2Recorder::check_break_before_make();
      EXPECT_NE(got.find(want), std::string::npos) << got;
      Stage2Recorder::reset();  // the space's destroy() is not what this test checks
    }
  }
}

// --- concurrency -----------------------------------------------------------------

TEST_F(Stage2Test, ConcurrentFaultsOnOneAddressSpaceStayConsistent) {
  // Four threads fault pages of one VM in (lookup, map on a miss) over private and shared windows while one also
  // maps and unmaps 2 MiB blocks there; all outputs stay ipa + kOffset, BBM holds, and nothing leaks.
  Space space(40);
  constexpr uint64_t kOffset = 0x10'0000'0000;
  constexpr uint64_t kShared = k1G;  // 16 MiB shared by all threads
  constexpr uint64_t kPrivate = 4 * k1G;
  constexpr int kThreads = 4;
  constexpr int kOps = 1500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + static_cast<uint64_t>(t));
      for (int i = 0; i < kOps; ++i) {
        const bool shared = (rng() & 1) != 0;
        const uint64_t base = shared ? kShared : kPrivate + static_cast<uint64_t>(t) * k1G;
        const uint64_t page = base + (rng() % 4096) * k4K;
        if (t == 0 && i % 50 == 0) {
          const uint64_t block = align_down(page, k2M);
          const bool ok = (i % 100 == 0) ? space.s2().map(ipa(block), pa(block + kOffset), k2M, kRamRw).ok()
                                         : space.s2().unmap(ipa(block), k2M).ok();
          if (!ok) ++failures;
          continue;
        }
        const auto hit = space.s2().lookup(ipa(page + 8));
        if (hit.ok()) {
          if (hit.value().output != pa(page + 8 + kOffset)) ++failures;
          continue;
        }
        if (!space.s2().map(ipa(page), pa(page + kOffset), k4K, kRamRw).ok()) ++failures;
        const auto again = space.s2().lookup(ipa(page));
        // Another thread may unmap its 2 MiB block in between; only thread 0 unmaps, and only in the shared window.
        if (again.ok() && again.value().output != pa(page + kOffset)) ++failures;
        if (!again.ok() && !shared) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Stage2Recorder::check_break_before_make(), "");
  const auto census = space.memory().census(space.s2());
  EXPECT_EQ(census.empty_tables, 0u);
  EXPECT_EQ(census.table_pages, space.s2().table_pages());
  EXPECT_EQ(space.memory().live_pages(), space.s2().table_pages());
  for (const auto& leaf : census.leaves) {
    const auto decoded = decode_leaf(leaf.raw, leaf.level, {});
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded.value().output, pa(leaf.ipa + kOffset));
  }
  ASSERT_TRUE(space.s2().unmap(ipa(0), 8 * k1G).ok());
  EXPECT_EQ(space.s2().table_pages(), space.root_pages());
  EXPECT_EQ(space.memory().live_pages(), space.root_pages());
}

}  // namespace
}  // namespace lamina::mm
