// SPSR_EL2 and CurrentEL layouts against DDI 0487 K.a C5.2 "SPSR_EL2" (AArch64
// state) and C5.1 "CurrentEL".
#include "arch/regs/pstate.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(SpsrLayout, FieldsMatchTheArmArm) {
  expect_layout<Spsr>({
      {"m", 3, 0},     {"nrw", 4, 4},   {"f", 6, 6},     {"i", 7, 7},     {"a", 8, 8},
      {"d", 9, 9},     {"btype", 11, 10}, {"ssbs", 12, 12}, {"il", 20, 20}, {"ss", 21, 21},
      {"pan", 22, 22}, {"uao", 23, 23}, {"dit", 24, 24}, {"tco", 25, 25}, {"v", 28, 28},
      {"c", 29, 29},   {"z", 30, 30},   {"n", 31, 31},
  });
  using Reg = Spsr;
  LAMINA_SPSR_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(SpsrLayout, ModeEncodings) {
  EXPECT_EQ(static_cast<uint64_t>(Aarch64Mode::kEl0t), 0b0000u);
  EXPECT_EQ(static_cast<uint64_t>(Aarch64Mode::kEl1t), 0b0100u);
  EXPECT_EQ(static_cast<uint64_t>(Aarch64Mode::kEl1h), 0b0101u);
  EXPECT_EQ(static_cast<uint64_t>(Aarch64Mode::kEl2t), 0b1000u);
  EXPECT_EQ(static_cast<uint64_t>(Aarch64Mode::kEl2h), 0b1001u);
  // The classic "EL1h, DAIF masked" entry state is 0x3c5.
  const Spsr s = Spsr::from_scratch()
                     .with(Spsr::m, Aarch64Mode::kEl1h)
                     .with(Spsr::d, true)
                     .with(Spsr::a, true)
                     .with(Spsr::i, true)
                     .with(Spsr::f, true);
  EXPECT_EQ(s.raw(), 0x3c5u);
}

TEST(CurrentElLayout, ElIsBits3To2) {
  expect_layout<CurrentEl>({{"el", 3, 2}});
  using Reg = CurrentEl;
  LAMINA_CURRENT_EL_FIELDS(LAMINA_TEST_CHECK_FIELD)
  EXPECT_EQ(CurrentEl::from_raw(0b1000).get(CurrentEl::el), 2u);
  EXPECT_EQ(CurrentEl::from_raw(0b0100).get(CurrentEl::el), 1u);
}

}  // namespace
}  // namespace lamina::arch
