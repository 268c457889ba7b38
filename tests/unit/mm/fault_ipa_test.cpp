// mm::faulting_ipa and the HPFAR_EL2 layout (DDI 0487 K.a D23.2 "HPFAR_EL2":
// FIPA [43:4] = IPA[51:12], NS [63]).
#include "mm/fault_ipa.hpp"

#include <cstdint>
#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::mm {
namespace {

using arch::HpfarEl2;

TEST(HpfarEl2, FieldsMatchTheArmArm) {
  arch::test::expect_layout<HpfarEl2>({{"fipa", 43, 4}, {"ns", 63, 63}});
  EXPECT_EQ(HpfarEl2::kRes0, arch::test::bits({0, 1, 2, 3}) | (((uint64_t{1} << 19) - 1) << 44));
  EXPECT_STREQ(HpfarEl2::kName, "HPFAR_EL2");
  EXPECT_EQ(HpfarEl2::from_raw(~uint64_t{0}).get(HpfarEl2::fipa), (uint64_t{1} << 40) - 1);
  EXPECT_EQ(HpfarEl2::from_raw(uint64_t{1} << 63).get(HpfarEl2::fipa), 0u);
  EXPECT_TRUE(HpfarEl2::from_raw(uint64_t{1} << 63).get(HpfarEl2::ns));
  EXPECT_EQ(HpfarEl2().with(HpfarEl2::fipa, uint64_t{0x1234}).raw(), 0x12340u);
}

TEST(FaultingIpa, PageFromHpfarOffsetFromFar) {
  // A guest store to IPA 0x0900_0abc (e.g. a UART register): HPFAR.FIPA =
  // 0x9000, written at bit 4; FAR = the guest VA with the same page offset.
  const auto hpfar = HpfarEl2::from_raw(uint64_t{0x9000} << 4);
  EXPECT_EQ(faulting_ipa(hpfar, 0xffff'8000'1234'5abc), IntermediatePhysAddr(0x0900'0abc));
}

TEST(FaultingIpa, IgnoresNsRes0AndFarAbovePageOffset) {
  const uint64_t hpfar_raw = (uint64_t{1} << 63) | (uint64_t{0xff'ffff'ffff} << 4) | 0xf;
  EXPECT_EQ(faulting_ipa(HpfarEl2::from_raw(hpfar_raw), ~uint64_t{0}),
            IntermediatePhysAddr((uint64_t{1} << 52) - 1));  // IPA[51:0] all ones
  EXPECT_EQ(faulting_ipa(HpfarEl2::from_raw(0), ~uint64_t{0} & ~uint64_t{0xfff}), IntermediatePhysAddr(0));
}

TEST(FaultingIpa, EveryFipaBitLandsAtItsIpaBit) {
  for (unsigned bit = 12; bit < 52; ++bit) {
    const auto hpfar = HpfarEl2::from_raw(uint64_t{1} << (bit - 12 + 4));
    EXPECT_EQ(faulting_ipa(hpfar, 0x123), IntermediatePhysAddr((uint64_t{1} << bit) | 0x123)) << bit;
  }
}

static_assert(faulting_ipa(HpfarEl2(0x4'0000'0010), 0xfff) == IntermediatePhysAddr(0x400'0000'1fff));

}  // namespace
}  // namespace lamina::mm
