// VTCR_EL2 layout against DDI 0487 K.a D23.2 "VTCR_EL2".
#include "arch/regs/vtcr_el2.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(VtcrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<VtcrEl2>({
      {"t0sz", 5, 0},  {"sl0", 7, 6},   {"irgn0", 9, 8}, {"orgn0", 11, 10}, {"sh0", 13, 12},
      {"tg0", 15, 14}, {"ps", 18, 16},  {"vs", 19, 19},  {"ha", 21, 21},    {"hd", 22, 22},
      {"nsw", 29, 29}, {"nsa", 30, 30}, {"ds", 32, 32},  {"sl2", 33, 33},
  });
}

TEST(VtcrEl2Layout, Res1IsBit31) {
  EXPECT_EQ(VtcrEl2::kRes1, uint64_t{1} << 31);
  EXPECT_EQ(VtcrEl2::from_scratch().raw(), 0x8000'0000u);
}

TEST(VtcrEl2Layout, EveryFieldRoundTrips) {
  using Reg = VtcrEl2;
  LAMINA_VTCR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

}  // namespace
}  // namespace lamina::arch
