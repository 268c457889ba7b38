// PAR_EL1 layouts against DDI 0487 K.a D23.2 "PAR_EL1" (both the F = 0 and
// the F = 1 encodings).
#include "arch/regs/par_el1.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(ParEl1Layout, FieldsMatchTheArmArm) {
  expect_layout<ParEl1>({{"f", 0, 0}});
  expect_layout<ParEl1Ok>({{"f", 0, 0}, {"sh", 8, 7}, {"ns", 9, 9}, {"pa", 47, 12}, {"attr", 63, 56}});
  expect_layout<ParEl1Fault>({{"f", 0, 0}, {"fst", 6, 1}, {"ptw", 8, 8}, {"s", 9, 9}});
}

TEST(ParEl1Layout, Res1IsBit11InBothLayouts) {
  EXPECT_EQ(ParEl1::kRes1, uint64_t{1} << 11);
  EXPECT_EQ(ParEl1Ok::kRes1, uint64_t{1} << 11);
  EXPECT_EQ(ParEl1Fault::kRes1, uint64_t{1} << 11);
  EXPECT_EQ(ParEl1Ok::kRes0, test::bits({1, 2, 3, 4, 5, 6, 52, 53, 54, 55}));
  EXPECT_EQ(ParEl1Fault::kRes0 & test::bits({7, 12, 47}), test::bits({7, 12, 47}));
}

TEST(ParEl1Layout, EveryFieldRoundTrips) {
  {
    using Reg = ParEl1Ok;
    LAMINA_PAR_EL1_OK_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  {
    using Reg = ParEl1Fault;
    LAMINA_PAR_EL1_FAULT_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
}

// A successful stage 1+2 translation as QEMU reports it: Normal WB RWA
// (0xff), inner shareable, NS, RES1 bit 11, output page 0x4012_3000.
TEST(ParEl1Decode, Success) {
  const ParEl1 par = ParEl1::from_raw(0xff00'0000'4012'3b80);
  ASSERT_FALSE(par.faulted());
  const ParEl1Ok ok = ParEl1Ok::from(par);
  EXPECT_EQ(ok.page_pa(), 0x4012'3000u);
  EXPECT_EQ(ok.get(ParEl1Ok::attr), 0xffu);
  EXPECT_EQ(ok.get(ParEl1Ok::sh), Shareability::kInnerShareable);
  EXPECT_TRUE(ok.get(ParEl1Ok::ns));
}

// A stage-2 permission fault at level 3: F, FST 0b001111, S, bit 11.
TEST(ParEl1Decode, Stage2PermissionFault) {
  const ParEl1 par = ParEl1::from_raw(0x0000'0000'0000'0a1f);
  ASSERT_TRUE(par.faulted());
  const ParEl1Fault fault = ParEl1Fault::from(par);
  EXPECT_EQ(fault.get(ParEl1Fault::fst), permission_fault_status(3));
  EXPECT_TRUE(fault.get(ParEl1Fault::s));
  EXPECT_FALSE(fault.get(ParEl1Fault::ptw));
}

TEST(ParEl1Decode, FaultStatusCodesMatchTheDfscTable) {
  static_assert(translation_fault_status(0) == 0b000100);
  static_assert(translation_fault_status(3) == 0b000111);
  static_assert(permission_fault_status(1) == 0b001101);
  static_assert(permission_fault_status(3) == 0b001111);
  EXPECT_EQ(translation_fault_status(2), 0x06u);
}

}  // namespace
}  // namespace lamina::arch
