// CNTV_CTL_EL0 layout against DDI 0487 K.a D23.8 "CNTV_CTL_EL0".
#include "arch/regs/cntv_ctl_el0.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(CntvCtlEl0Layout, FieldsMatchTheArmArm) {
  expect_layout<CntvCtlEl0>({{"enable", 0, 0}, {"imask", 1, 1}, {"istatus", 2, 2}});
}

TEST(CntvCtlEl0Layout, EveryFieldRoundTrips) {
  using Reg = CntvCtlEl0;
  LAMINA_CNTV_CTL_EL0_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

// Only ENABLE = 1, ISTATUS = 1, IMASK = 0 (raw 0b101) asserts the interrupt.
TEST(CntvCtlEl0Layout, InterruptAssertedOnlyWhenEnabledFiredAndUnmasked) {
  for (uint64_t raw = 0; raw < 8; ++raw)
    EXPECT_EQ(CntvCtlEl0::from_raw(raw).interrupt_asserted(), raw == 0b101) << raw;
}

// CNTHP_CTL_EL2 shares the layout (DDI 0487 K.a D23.8 "CNTHP_CTL_EL2").
TEST(CnthpCtlEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<CnthpCtlEl2>({{"enable", 0, 0}, {"imask", 1, 1}, {"istatus", 2, 2}});
  using Reg = CnthpCtlEl2;
  LAMINA_CNTV_CTL_EL0_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

// CNTP_CTL_EL0 (D23.8 "CNTP_CTL_EL0") has the same fields and rule.
TEST(CntpCtlEl0Layout, SameFieldsAndRuleAsTheVirtualTimer) {
  expect_layout<CntpCtlEl0>({{"enable", 0, 0}, {"imask", 1, 1}, {"istatus", 2, 2}});
  for (uint64_t raw = 0; raw < 8; ++raw)
    EXPECT_EQ(CntpCtlEl0::from_raw(raw).interrupt_asserted(), raw == 0b101) << raw;
}

}  // namespace
}  // namespace lamina::arch
