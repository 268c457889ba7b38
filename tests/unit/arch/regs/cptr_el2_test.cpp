// CPTR_EL2 layout (E2H == 0) against DDI 0487 K.a D23.2 "CPTR_EL2".
#include "arch/regs/cptr_el2.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::bits;
using test::expect_layout;

TEST(CptrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<CptrEl2>({
      {"tz", 8, 8}, {"tfp", 10, 10}, {"tsm", 12, 12}, {"tta", 20, 20}, {"tam", 30, 30}, {"tcpac", 31, 31},
  });
}

TEST(CptrEl2Layout, Res1IsBits13And9And7To0) {
  EXPECT_EQ(CptrEl2::kRes1, bits({13, 9, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(CptrEl2::kRes1, 0x22ffu);
  EXPECT_EQ(CptrEl2::from_scratch().raw(), 0x22ffu);
}

TEST(CptrEl2Layout, EveryFieldRoundTrips) {
  using Reg = CptrEl2;
  LAMINA_CPTR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

// Fuchsia's el2.S retypes this as CPTR_EL2_RES1 0x33ff (RES1 plus TZ and TSM).
static_assert(CptrEl2::from_scratch().with(CptrEl2::tz, true).with(CptrEl2::tsm, true).raw() == 0x33ff);

}  // namespace
}  // namespace lamina::arch
