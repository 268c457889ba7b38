// TTBR0_EL2/TTBR0_EL1 layouts against DDI 0487 K.a D23.2 "TTBR0_EL2", and the
// plain one-value registers.
#include "arch/regs/plain_regs.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(Ttbr0El2Layout, FieldsMatchTheArmArm) {
  expect_layout<Ttbr0El2>({{"cnp", 0, 0}, {"baddr", 47, 1}});
  expect_layout<Ttbr0El1>({{"cnp", 0, 0}, {"baddr", 47, 1}});
  {
    using Reg = Ttbr0El2;
    LAMINA_TTBR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  {
    using Reg = Ttbr0El1;
    LAMINA_TTBR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
}

TEST(Ttbr0El2Layout, ForTableKeepsAddressBits47To1Only) {
  EXPECT_EQ(Ttbr0El2::for_table(0x4008'0000).raw(), 0x4008'0000u);
  EXPECT_FALSE(Ttbr0El2::for_table(0x4008'0000).get(Ttbr0El2::cnp));
  // Bits above 47 (the ASID field of TTBR0_EL1, RES0 in TTBR0_EL2) and CnP are dropped.
  EXPECT_EQ(Ttbr0El2::for_table(0xffff'8000'4000'1001).raw(), 0x8000'4000'1000u);
  EXPECT_EQ(Ttbr0El1::for_table(0xffff'8000'4000'1001).raw(), 0x8000'4000'1000u);
}

TEST(PlainRegs, ValueIsTheRawValue) {
  EXPECT_EQ(VbarEl2(0x4008'0800).value(), 0x4008'0800u);
  EXPECT_EQ(FarEl2(~uint64_t{0}).value(), ~uint64_t{0});
  EXPECT_EQ(CntfrqEl0(62'500'000).value(), 62'500'000u);
  EXPECT_EQ(TpidrEl2::from_scratch().raw(), 0u);
  EXPECT_EQ(MairEl1::same_as(Mair::lamina_default()).raw(), 0xff44'0400u);
}

}  // namespace
}  // namespace lamina::arch
