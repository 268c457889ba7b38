// MDCR_EL2 and PMCR_EL0.N layouts against DDI 0487 K.a D23.2 "MDCR_EL2" and
// D23.5 "PMCR_EL0".
#include "arch/regs/mdcr_el2.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(MdcrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<MdcrEl2>({
      {"hpmn", 4, 0},   {"tpmcr", 5, 5},  {"tpm", 6, 6},     {"hpme", 7, 7},   {"tde", 8, 8},
      {"tda", 9, 9},    {"tdosa", 10, 10}, {"tdra", 11, 11}, {"e2pb", 13, 12}, {"tpms", 14, 14},
      {"hpmd", 17, 17}, {"ttrf", 19, 19}, {"hccd", 23, 23},  {"e2tb", 25, 24}, {"hlp", 26, 26},
      {"tdcc", 27, 27},
  });
  EXPECT_EQ(MdcrEl2::kRes1, 0u);
}

TEST(MdcrEl2Layout, EveryFieldRoundTrips) {
  using Reg = MdcrEl2;
  LAMINA_MDCR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(PmcrEl0Layout, NIsBits15To11) {
  expect_layout<PmcrEl0>({{"n", 15, 11}});
  using Reg = PmcrEl0;
  LAMINA_PMCR_EL0_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // A Cortex-A57's PMCR_EL0 (IMP 0x41, IDCODE 0x01, N = 6).
  EXPECT_EQ(PmcrEl0::from_raw(0x4101'3000).get(PmcrEl0::n), 6u);
}

}  // namespace
}  // namespace lamina::arch
