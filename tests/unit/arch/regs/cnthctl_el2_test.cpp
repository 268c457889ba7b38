// CNTHCTL_EL2 layout (E2H == 0) against DDI 0487 K.a D23.8 "CNTHCTL_EL2".
#include "arch/regs/cnthctl_el2.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(CnthctlEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<CnthctlEl2>({
      {"el1pcten", 0, 0}, {"el1pcen", 1, 1},   {"evnten", 2, 2},     {"evntdir", 3, 3},
      {"evnti", 7, 4},    {"ecv", 12, 12},     {"el1tvt", 13, 13},   {"el1tvct", 14, 14},
      {"el1nvpct", 15, 15}, {"el1nvvct", 16, 16}, {"evntis", 17, 17},
  });
  EXPECT_EQ(CnthctlEl2::kRes1, 0u);
}

TEST(CnthctlEl2Layout, EveryFieldRoundTrips) {
  using Reg = CnthctlEl2;
  LAMINA_CNTHCTL_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

static_assert(CnthctlEl2().with(CnthctlEl2::evnti, uint64_t{15}).raw() == 0xf0);

}  // namespace
}  // namespace lamina::arch
