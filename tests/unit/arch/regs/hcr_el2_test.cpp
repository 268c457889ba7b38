// HCR_EL2 layout against DDI 0487 K.a D23.2 "HCR_EL2".
#include "arch/regs/hcr_el2.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(HcrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<HcrEl2>({
      {"vm", 0, 0},       {"swio", 1, 1},     {"ptw", 2, 2},      {"fmo", 3, 3},
      {"imo", 4, 4},      {"amo", 5, 5},      {"vf", 6, 6},       {"vi", 7, 7},
      {"vse", 8, 8},      {"fb", 9, 9},       {"bsu", 11, 10},    {"dc", 12, 12},
      {"twi", 13, 13},    {"twe", 14, 14},    {"tid0", 15, 15},   {"tid1", 16, 16},
      {"tid2", 17, 17},   {"tid3", 18, 18},   {"tsc", 19, 19},    {"tidcp", 20, 20},
      {"tacr", 21, 21},   {"tsw", 22, 22},    {"tpcp", 23, 23},   {"tpu", 24, 24},
      {"ttlb", 25, 25},   {"tvm", 26, 26},    {"tge", 27, 27},    {"tdz", 28, 28},
      {"hcd", 29, 29},    {"trvm", 30, 30},   {"rw", 31, 31},     {"cd", 32, 32},
      {"id", 33, 33},     {"e2h", 34, 34},    {"tlor", 35, 35},   {"terr", 36, 36},
      {"tea", 37, 37},    {"miocnce", 38, 38}, {"apk", 40, 40},   {"api", 41, 41},
      {"nv", 42, 42},     {"nv1", 43, 43},    {"at", 44, 44},     {"nv2", 45, 45},
      {"fwb", 46, 46},    {"fien", 47, 47},   {"tid4", 49, 49},   {"ticab", 50, 50},
      {"tocu", 52, 52},   {"ttlbis", 54, 54}, {"ttlbos", 55, 55}, {"ata", 56, 56},
      {"dct", 57, 57},    {"tid5", 58, 58},
  });
  EXPECT_EQ(HcrEl2::kRes1, 0u);
  EXPECT_EQ(HcrEl2::from_scratch().raw(), 0u);
}

TEST(HcrEl2Layout, EveryFieldRoundTrips) {
  using Reg = HcrEl2;
  LAMINA_HCR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(HcrEl2Layout, BsuEncodings) {
  EXPECT_EQ(HcrEl2().with(HcrEl2::bsu, BarrierShareability::kInnerShareable).raw(), uint64_t{1} << 10);
  EXPECT_EQ(HcrEl2().with(HcrEl2::bsu, BarrierShareability::kOuterShareable).raw(), uint64_t{2} << 10);
  EXPECT_EQ(HcrEl2().with(HcrEl2::bsu, BarrierShareability::kFullSystem).raw(), uint64_t{3} << 10);
}

// The usual guest configuration, as one literal computed by hand.
static_assert(HcrEl2::from_scratch()
                  .with(HcrEl2::vm, true)
                  .with(HcrEl2::fmo, true)
                  .with(HcrEl2::imo, true)
                  .with(HcrEl2::amo, true)
                  .with(HcrEl2::tsc, true)
                  .with(HcrEl2::rw, true)
                  .raw() == 0x8008'0039);

}  // namespace
}  // namespace lamina::arch
