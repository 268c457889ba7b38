// Tests for mm/stage2_walker.hpp, the one stage-2 table walker: which entries
// it visits, in which order, with which IPA, level and descriptor, and the
// re-reading, skipping and unwinding rules its header promises the visitors
// (map, unmap, protect, lookup and destroy rely on each of them).
//
// The tables are written by hand with literal descriptors (bits[1:0] from
// DDI 0487 K.a D8.3.1: 0b11 table at levels 0-2 and page at level 3, 0b01
// block at levels 1-2), and every expected visit sequence is written out,
// so these tests do not go through the code they check.
#include "mm/stage2_walker.hpp"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "fakes/fake_s2_table_memory.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::mm {
namespace {

using test::FakeS2TableMemory;

constexpr uint64_t k4K = 4096;
constexpr uint64_t k2M = uint64_t{2} << 20;
constexpr uint64_t k1G = uint64_t{1} << 30;

constexpr uint64_t kTable = 0b11;  // levels 0-2
constexpr uint64_t kBlock = 0b01;  // levels 1-2
constexpr uint64_t kPage = 0b11;   // level 3
constexpr uint64_t kAf = uint64_t{1} << 10;

constexpr unsigned kAll = kS2WalkLeaf | kS2WalkTablePre | kS2WalkTablePost;

// One visit, as a readable string: "pre L1 0x0", "leaf L3 0x201000 old=0x...", "post L2 0x200000 unwinding".
std::string describe(const S2WalkEntry& e, bool with_old) {
  const char* visit = e.visit == S2Visit::kLeaf ? "leaf" : e.visit == S2Visit::kTablePre ? "pre" : "post";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s L%u 0x%" PRIx64, visit, e.level, e.ipa);
  std::string out = buf;
  if (with_old) {
    std::snprintf(buf, sizeof buf, " old=0x%" PRIx64, e.old);
    out += buf;
  }
  if (e.unwinding) out += " unwinding";
  return out;
}

// Records every visit; `hook` (optional) decides the answer.
struct RecordingVisitor {
  bool with_old = false;
  std::function<Result<S2WalkNext, Error>(const S2WalkEntry&)> hook;
  std::vector<std::string> visits;
  std::vector<const uint64_t*> slots;

  Result<S2WalkNext, Error> operator()(const S2WalkEntry& e) {
    visits.push_back(describe(e, with_old));
    slots.push_back(e.slot);
    if (hook) return hook(e);
    return S2WalkNext::kContinue;
  }
};

// A 40-bit IPA space: start level 1, two concatenated root pages (1024
// entries of 1 GiB; DDI 0487 K.a D8.2.7), holding
//   root[0]   -> level-2 table A
//     A[0]    2 MiB block, output 0x8000'0000
//     A[1]    -> level-3 table B: B[0] page 0x9000'0000, B[2] page 0x9000'2000, B[511] page 0x9000'3000
//     A[2..]  invalid
//   root[1]   1 GiB block, output 0xC000'0000
//   root[513] (second root page) 1 GiB block, output 0x1'0000'0000
class WalkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    geometry_ = stage2_geometry(40).value();
    ASSERT_EQ(geometry_.start_level, 1u);
    ASSERT_EQ(geometry_.concatenated_tables, 2u);
    root_ = memory_.memory().alloc(memory_.memory().context, 2).value();
    a_ = new_table();
    b_ = new_table();
    put(root_, 0, a_.value() | kTable);
    put(root_, 1, 0xC000'0000 | kAf | kBlock);
    put(root_, 513, 0x1'0000'0000 | kAf | kBlock);
    put(a_, 0, 0x8000'0000 | kAf | kBlock);
    put(a_, 1, b_.value() | kTable);
    put(b_, 0, 0x9000'0000 | kAf | kPage);
    put(b_, 2, 0x9000'2000 | kAf | kPage);
    put(b_, 511, 0x9000'3000 | kAf | kPage);
  }

  PhysAddr new_table() { return memory_.memory().alloc(memory_.memory().context, 1).value(); }
  // Entry `index` of the table at `table` (the root's 1024 entries run over its two pages).
  uint64_t* slot(PhysAddr table, uint64_t index) {
    return &memory_.host(table.offset((index / 512) * k4K))[index % 512];
  }
  void put(PhysAddr table, uint64_t index, uint64_t raw) { *slot(table, index) = raw; }
  [[nodiscard]] S2Walker walker() { return S2Walker(memory_.memory(), geometry_, root_); }

  FakeS2TableMemory memory_{64};
  Stage2Geometry geometry_;
  PhysAddr root_;
  PhysAddr a_;
  PhysAddr b_;
};

TEST_F(WalkerTest, VisitsTablesBeforeAndAfterTheirEntriesAndEveryEntryOnceInIpaOrder) {
  // [0, 0x203000): root[0] only; below it A[0] (a block) and A[1] (a table) of which B[0..2].
  RecordingVisitor v;
  v.with_old = true;
  ASSERT_TRUE(walker().walk<kAll>(0, 0x20'3000, v).ok());
  char a_raw[32], b_raw[32];
  std::snprintf(a_raw, sizeof a_raw, "0x%" PRIx64, a_.value() | kTable);
  std::snprintf(b_raw, sizeof b_raw, "0x%" PRIx64, b_.value() | kTable);
  const std::vector<std::string> want = {
      std::string("pre L1 0x0 old=") + a_raw,
      "leaf L2 0x0 old=0x80000401",
      std::string("pre L2 0x200000 old=") + b_raw,
      "leaf L3 0x200000 old=0x90000403",
      "leaf L3 0x201000 old=0x0",
      "leaf L3 0x202000 old=0x90002403",
      std::string("post L2 0x200000 old=") + b_raw,
      std::string("post L1 0x0 old=") + a_raw,
  };
  EXPECT_EQ(v.visits, want);
  // The slots are the entries themselves.
  const std::vector<const uint64_t*> slots = {slot(root_, 0), slot(a_, 0), slot(a_, 1), slot(b_, 0),
                                              slot(b_, 1),    slot(b_, 2), slot(a_, 1), slot(root_, 0)};
  EXPECT_EQ(v.slots, slots);
}

TEST_F(WalkerTest, APartialRangeVisitsOnlyTheEntriesItTouchesWithTheirAlignedIpa) {
  // [1 GiB - 4 KiB, 1 GiB + 4 KiB): the last page of root[0] (A[511], invalid: a level-2 leaf visit at its
  // 2 MiB-aligned IPA) and the first page of root[1] (a 1 GiB block, visited at 1 GiB).
  RecordingVisitor v;
  ASSERT_TRUE(walker().walk<kAll>(k1G - k4K, k1G + k4K, v).ok());
  const std::vector<std::string> want = {"pre L1 0x0", "leaf L2 0x3fe00000", "post L1 0x0",
                                         "leaf L1 0x40000000"};
  EXPECT_EQ(v.visits, want);
}

TEST_F(WalkerTest, TheSecondConcatenatedRootPageHoldsEntries512AndUp) {
  // IPA 513 GiB is root entry 513: entry 1 of the second root page.
  RecordingVisitor v;
  v.with_old = true;
  ASSERT_TRUE(walker().walk<kAll>(513 * k1G, 513 * k1G + k4K, v).ok());
  EXPECT_EQ(v.visits, std::vector<std::string>{"leaf L1 0x8040000000 old=0x100000401"});
  EXPECT_EQ(v.slots, std::vector<const uint64_t*>{slot(root_, 513)});
}

TEST_F(WalkerTest, OnlyTheVisitsAskedForAreMadeButTablesAreAlwaysDescended) {
  RecordingVisitor leaf;
  ASSERT_TRUE(walker().walk<kS2WalkLeaf>(0, 0x20'3000, leaf).ok());
  EXPECT_EQ(leaf.visits, (std::vector<std::string>{"leaf L2 0x0", "leaf L3 0x200000", "leaf L3 0x201000",
                                                   "leaf L3 0x202000"}));
  RecordingVisitor pre;
  ASSERT_TRUE(walker().walk<kS2WalkTablePre>(0, 0x20'3000, pre).ok());
  EXPECT_EQ(pre.visits, (std::vector<std::string>{"pre L1 0x0", "pre L2 0x200000"}));
  RecordingVisitor post;
  ASSERT_TRUE(walker().walk<kS2WalkTablePost>(0, 0x20'3000, post).ok());
  EXPECT_EQ(post.visits, (std::vector<std::string>{"post L2 0x200000", "post L1 0x0"}));
}

TEST_F(WalkerTest, SkipAtTablePreNeitherDescendsNorVisitsTheEntryAgain) {
  RecordingVisitor v;
  v.hook = [](const S2WalkEntry& e) -> Result<S2WalkNext, Error> {
    return e.visit == S2Visit::kTablePre && e.level == 2 ? S2WalkNext::kSkip : S2WalkNext::kContinue;
  };
  ASSERT_TRUE(walker().walk<kAll>(0, 0x40'1000, v).ok());
  const std::vector<std::string> want = {"pre L1 0x0", "leaf L2 0x0", "pre L2 0x200000", "leaf L2 0x400000",
                                         "post L1 0x0"};
  EXPECT_EQ(v.visits, want);
}

TEST_F(WalkerTest, ATableALeafVisitMadeIsDescendedIntoAndVisitedAfter) {
  // A[2] (IPA 0x400000) is invalid; LEAF links a fresh table C there with one page in C[1]: the walker reads
  // the entry again, descends into C for [0x400000, 0x402000) and visits A[2] again after it.
  const PhysAddr c = new_table();
  put(c, 1, 0x9100'0000 | kAf | kPage);
  RecordingVisitor v;
  v.with_old = true;
  v.hook = [&](const S2WalkEntry& e) -> Result<S2WalkNext, Error> {
    if (e.visit == S2Visit::kLeaf && e.level == 2 && e.ipa == 2 * k2M) *e.slot = c.value() | kTable;
    return S2WalkNext::kContinue;
  };
  ASSERT_TRUE(walker().walk<kAll>(0x40'0000, 0x40'2000, v).ok());
  char c_raw[32], a_raw[32];
  std::snprintf(c_raw, sizeof c_raw, "0x%" PRIx64, c.value() | kTable);
  std::snprintf(a_raw, sizeof a_raw, "0x%" PRIx64, a_.value() | kTable);
  const std::vector<std::string> want = {
      std::string("pre L1 0x0 old=") + a_raw,
      "leaf L2 0x400000 old=0x0",
      "leaf L3 0x400000 old=0x0",
      "leaf L3 0x401000 old=0x91000403",
      std::string("post L2 0x400000 old=") + c_raw,
      std::string("post L1 0x0 old=") + a_raw,
  };
  EXPECT_EQ(v.visits, want);
}

TEST_F(WalkerTest, ATableTablePreReplacedByABlockGoesToLeafAndIsNotDescended) {
  // TABLE_PRE of A[1] stores a block there and continues: the walker reads it again and hands it to LEAF.
  RecordingVisitor v;
  v.with_old = true;
  v.hook = [](const S2WalkEntry& e) -> Result<S2WalkNext, Error> {
    if (e.visit == S2Visit::kTablePre && e.level == 2) *e.slot = 0xA000'0000 | kAf | kBlock;
    return S2WalkNext::kContinue;
  };
  ASSERT_TRUE(walker().walk<kAll>(k2M, 2 * k2M, v).ok());
  char a_raw[32], b_raw[32];
  std::snprintf(a_raw, sizeof a_raw, "0x%" PRIx64, a_.value() | kTable);
  std::snprintf(b_raw, sizeof b_raw, "0x%" PRIx64, b_.value() | kTable);
  const std::vector<std::string> want = {
      std::string("pre L1 0x0 old=") + a_raw,
      std::string("pre L2 0x200000 old=") + b_raw,
      "leaf L2 0x200000 old=0xa0000401",
      std::string("post L1 0x0 old=") + a_raw,
  };
  EXPECT_EQ(v.visits, want);
}

TEST_F(WalkerTest, AnErrorStopsTheWalkAndTablePostUnwindsEveryLevelReturningTheFirstError) {
  // LEAF of B[1] fails: no later entry is visited; TABLE_POST runs for A[1] then root[0], marked unwinding;
  // their own errors are ignored.
  RecordingVisitor v;
  v.hook = [](const S2WalkEntry& e) -> Result<S2WalkNext, Error> {
    if (e.visit == S2Visit::kLeaf && e.ipa == 0x20'1000) return Err{Error::kNoMemory};
    if (e.visit == S2Visit::kTablePost) return Err{Error::kBusy};
    return S2WalkNext::kContinue;
  };
  const Status<Error> r = walker().walk<kAll>(0, k1G + k4K, v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kNoMemory);
  const std::vector<std::string> want = {"pre L1 0x0",           "leaf L2 0x0",
                                         "pre L2 0x200000",      "leaf L3 0x200000",
                                         "leaf L3 0x201000",     "post L2 0x200000 unwinding",
                                         "post L1 0x0 unwinding"};
  EXPECT_EQ(v.visits, want);
}

TEST_F(WalkerTest, AnErrorFromTablePostIsReturnedAndUnwindsTheLevelsAbove) {
  // [0x3ff000, 0x401000): B[511], then TABLE_POST of A[1] fails; root[0] gets an unwinding TABLE_POST and
  // A[2] (IPA 0x400000) is never visited.
  RecordingVisitor v;
  v.hook = [](const S2WalkEntry& e) -> Result<S2WalkNext, Error> {
    if (e.visit == S2Visit::kTablePost && e.level == 2) return Err{Error::kBusy};
    return S2WalkNext::kContinue;
  };
  const Status<Error> r = walker().walk<kAll>(0x3f'f000, 0x40'1000, v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kBusy);
  const std::vector<std::string> want = {"pre L1 0x0", "pre L2 0x200000", "leaf L3 0x3ff000",
                                         "post L2 0x200000", "post L1 0x0 unwinding"};
  EXPECT_EQ(v.visits, want);
}

TEST_F(WalkerTest, AnErrorAtTheTopLevelHasNothingToUnwind) {
  RecordingVisitor v;
  v.hook = [](const S2WalkEntry& e) -> Result<S2WalkNext, Error> {
    if (e.level == 1 && e.visit == S2Visit::kLeaf) return Err{Error::kOutOfRange};
    return S2WalkNext::kContinue;
  };
  const Status<Error> r = walker().walk<kAll>(k1G, 3 * k1G, v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kOutOfRange);
  EXPECT_EQ(v.visits, std::vector<std::string>{"leaf L1 0x40000000"});
}

TEST_F(WalkerTest, WalkTableVisitsOneDetachedTableByTheLowBitsOfTheIpas) {
  // B walked on its own as a level-3 table from IPA 0: all 512 entries, IPAs 0..511 x 4 KiB.
  RecordingVisitor v;
  ASSERT_TRUE(walker().walk_table<kS2WalkLeaf>(b_, 3, 0, 512 * k4K, v).ok());
  ASSERT_EQ(v.visits.size(), 512u);
  EXPECT_EQ(v.visits[0], "leaf L3 0x0");
  EXPECT_EQ(v.visits[511], "leaf L3 0x1ff000");
  for (uint64_t i = 0; i < 512; ++i) EXPECT_EQ(v.slots[i], slot(b_, i));
  // A as a level-2 table: its table entry A[1] is descended into (B's entries follow A[1]'s TABLE_PRE).
  RecordingVisitor w;
  ASSERT_TRUE(walker().walk_table<kS2WalkTablePre | kS2WalkTablePost>(a_, 2, 0, 512 * k2M, w).ok());
  EXPECT_EQ(w.visits, (std::vector<std::string>{"pre L2 0x200000", "post L2 0x200000"}));
}

TEST_F(WalkerTest, AnEmptyRangeVisitsNothing) {
  RecordingVisitor v;
  ASSERT_TRUE(walker().walk<kAll>(k2M, k2M, v).ok());
  EXPECT_TRUE(v.visits.empty());
}

}  // namespace
}  // namespace lamina::mm
