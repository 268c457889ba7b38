// MAIR_EL2 layout against DDI 0487 K.a D23.2 "MAIR_EL2", and lamina's table.
#include "arch/regs/mair.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(MairLayout, FieldsMatchTheArmArm) {
  expect_layout<Mair>({
      {"attr0", 7, 0},   {"attr1", 15, 8},  {"attr2", 23, 16}, {"attr3", 31, 24},
      {"attr4", 39, 32}, {"attr5", 47, 40}, {"attr6", 55, 48}, {"attr7", 63, 56},
  });
  using Reg = Mair;
  LAMINA_MAIR_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(MairLayout, AttributeEncodings) {
  // Attr<n>: 0b0000dd00 device (dd: 00 nGnRnE, 01 nGnRE), 0xoi normal with
  // outer/inner 0b0100 = non-cacheable and 0b1111 = WB non-transient RW-allocate.
  EXPECT_EQ(kAttrDeviceNgnrne, 0x00u);
  EXPECT_EQ(kAttrDeviceNgnre, 0x04u);
  EXPECT_EQ(kAttrNormalNonCacheable, 0x44u);
  EXPECT_EQ(kAttrNormalWriteBackRwAllocate, 0xffu);
}

TEST(MairLayout, LaminaDefaultMatchesMemAttrIndex) {
  const Mair m = Mair::lamina_default();
  EXPECT_EQ(m.raw(), 0xff44'0400u);
  EXPECT_EQ(m.get(Mair::attr0), 0x00u);
  EXPECT_EQ(m.get(Mair::attr1), 0x04u);
  EXPECT_EQ(m.get(Mair::attr2), 0x44u);
  EXPECT_EQ(m.get(Mair::attr3), 0xffu);
  // Each MemAttrIndex selects the byte with the attribute of its name.
  EXPECT_EQ((m.raw() >> (8 * static_cast<uint64_t>(MemAttrIndex::kDeviceNgnrne))) & 0xff, 0x00u);
  EXPECT_EQ((m.raw() >> (8 * static_cast<uint64_t>(MemAttrIndex::kDeviceNgnre))) & 0xff, 0x04u);
  EXPECT_EQ((m.raw() >> (8 * static_cast<uint64_t>(MemAttrIndex::kNormalNonCacheable))) & 0xff, 0x44u);
  EXPECT_EQ((m.raw() >> (8 * static_cast<uint64_t>(MemAttrIndex::kNormalWriteBack))) & 0xff, 0xffu);
}
static_assert(Mair::lamina_default().raw() == 0xff44'0400);

}  // namespace
}  // namespace lamina::arch
