// SCTLR_EL2 layout (E2H == 0) against DDI 0487 K.a D23.2 "SCTLR_EL2".
#include "arch/regs/sctlr_el2.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::bits;
using test::expect_layout;

TEST(SctlrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<SctlrEl2>({
      {"m", 0, 0},       {"a", 1, 1},       {"c", 2, 2},       {"sa", 3, 3},     {"naa", 6, 6},
      {"i", 12, 12},     {"endb", 13, 13},  {"wxn", 19, 19},   {"iesb", 21, 21}, {"ee", 25, 25},
      {"enda", 27, 27},  {"enib", 30, 30},  {"enia", 31, 31},  {"bt", 36, 36},   {"dssbs", 44, 44},
  });
}

TEST(SctlrEl2Layout, Res1ForE2hZero) {
  EXPECT_EQ(SctlrEl2::kRes1, bits({4, 5, 11, 16, 18, 22, 23, 28, 29}));
  EXPECT_EQ(SctlrEl2::kRes1, 0x30c5'0830u);
  EXPECT_EQ(SctlrEl2::from_scratch().raw(), 0x30c5'0830u);
}

TEST(SctlrEl2Layout, EveryFieldRoundTrips) {
  using Reg = SctlrEl2;
  LAMINA_SCTLR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

}  // namespace
}  // namespace lamina::arch
