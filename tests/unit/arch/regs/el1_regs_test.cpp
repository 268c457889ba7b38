// CPACR_EL1, SCTLR_EL1 and TCR_EL1 layouts against DDI 0487 K.a D23.2
// "CPACR_EL1", "SCTLR_EL1", "TCR_EL1".
#include "arch/regs/el1_regs.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::bits;
using test::expect_layout;

TEST(CpacrEl1Layout, FieldsMatchTheArmArm) {
  expect_layout<CpacrEl1>({{"zen", 17, 16}, {"fpen", 21, 20}, {"smen", 25, 24}, {"tta", 28, 28}});
  using Reg = CpacrEl1;
  LAMINA_CPACR_EL1_FIELDS(LAMINA_TEST_CHECK_FIELD)
  EXPECT_EQ(CpacrEl1().with(CpacrEl1::fpen, kCpacrFpenNoTrap).raw(), 0x30'0000u);
}

TEST(SctlrEl1Layout, FieldsMatchTheArmArm) {
  expect_layout<SctlrEl1>({
      {"m", 0, 0},     {"a", 1, 1},       {"c", 2, 2},     {"sa", 3, 3},     {"sa0", 4, 4},
      {"i", 12, 12},   {"wxn", 19, 19},   {"span", 23, 23}, {"e0e", 24, 24}, {"ee", 25, 25},
      {"dssbs", 44, 44},
  });
  // EOS (11), TSCXT (20), EIS (22), nTLSMD (28), LSMAOE (29) are RES1
  // without FEAT_ExS, FEAT_CSV2_2 and FEAT_LSMAOC.
  EXPECT_EQ(SctlrEl1::kRes1, bits({11, 20, 22, 28, 29}));
  using Reg = SctlrEl1;
  LAMINA_SCTLR_EL1_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(TcrEl1Layout, FieldsMatchTheArmArm) {
  expect_layout<TcrEl1>({
      {"t0sz", 5, 0},     {"epd0", 7, 7},     {"irgn0", 9, 8},   {"orgn0", 11, 10}, {"sh0", 13, 12},
      {"tg0", 15, 14},    {"t1sz", 21, 16},   {"a1", 22, 22},    {"epd1", 23, 23},  {"irgn1", 25, 24},
      {"orgn1", 27, 26},  {"sh1", 29, 28},    {"tg1", 31, 30},   {"ips", 34, 32},   {"as", 36, 36},
      {"tbi0", 37, 37},   {"tbi1", 38, 38},
  });
  using Reg = TcrEl1;
  LAMINA_TCR_EL1_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

// TG1 encodes granules differently from TG0: 0b01 16K, 0b10 4K, 0b11 64K.
static_assert(static_cast<uint64_t>(Tg1::k16K) == 0b01);
static_assert(static_cast<uint64_t>(Tg1::k4K) == 0b10);
static_assert(static_cast<uint64_t>(Tg1::k64K) == 0b11);
static_assert(TcrEl1().with(TcrEl1::tg1, Tg1::k4K).raw() == uint64_t{2} << 30);

}  // namespace
}  // namespace lamina::arch
