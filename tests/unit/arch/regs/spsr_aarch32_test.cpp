// SPSR_ELx (AArch32 source) against DDI 0487 K.a C5.2.19 "SPSR_EL2", "When
// exception taken from AArch32 state".
#include "arch/regs/spsr_aarch32.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(SpsrAarch32Layout, FieldsMatchTheArmArm) {
  expect_layout<SpsrAarch32>({
      {"m", 4, 0},     {"t", 5, 5},       {"f", 6, 6},     {"i", 7, 7},       {"a", 8, 8},
      {"e", 9, 9},     {"it7_2", 15, 10}, {"ge", 19, 16},  {"il", 20, 20},    {"ss", 21, 21},
      {"pan", 22, 22}, {"ssbs", 23, 23},  {"dit", 24, 24}, {"it1_0", 26, 25}, {"q", 27, 27},
      {"v", 28, 28},   {"c", 29, 29},     {"z", 30, 30},   {"n", 31, 31},
  });
  using Reg = SpsrAarch32;
  LAMINA_SPSR_AARCH32_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(SpsrAarch32Layout, ModesAndItSplit) {
  EXPECT_EQ(static_cast<uint64_t>(Aarch32Mode::kUser), 0b10000u);
  EXPECT_EQ(static_cast<uint64_t>(Aarch32Mode::kSupervisor), 0b10011u);
  EXPECT_EQ(static_cast<uint64_t>(Aarch32Mode::kSystem), 0b11111u);
  // IT[1:0] at [26:25], IT[7:2] at [15:10].
  const SpsrAarch32 s = SpsrAarch32::from_scratch().with_it(0b1010'0110);
  EXPECT_EQ(s.raw(), (uint64_t{0b10} << 25) | (uint64_t{0b101001} << 10));
  EXPECT_EQ(s.it(), 0b1010'0110u);
}

}  // namespace
}  // namespace lamina::arch
