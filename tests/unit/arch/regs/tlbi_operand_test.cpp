// The TLBI-by-IPA operand against DDI 0487 K.a "TLBI IPAS2E1IS, TLBI
// IPAS2E1ISNXS" (register operand fields).
#include "arch/regs/tlbi_operand.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(TlbiIpaOperandLayout, FieldsMatchTheArmArm) {
  expect_layout<TlbiIpaOperand>({{"ipa", 39, 0}, {"ttl", 47, 44}});
  using Reg = TlbiIpaOperand;
  LAMINA_TLBI_IPA_OPERAND_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(TlbiIpaOperand, IpaBits51To12GoToBits39To0WithoutLevelHint) {
  static_assert(TlbiIpaOperand::for_ipa(0x8000'1000).raw() == 0x8'0001);
  static_assert(TlbiIpaOperand::for_ipa(0x8000'1fff).raw() == 0x8'0001, "page offset dropped");
  static_assert(TlbiIpaOperand::for_ipa(0xffff'f000).raw() == 0xf'ffff);
  // The largest 52-bit IPA fills all 40 bits; nothing reaches TTL.
  static_assert(TlbiIpaOperand::for_ipa(0x000f'ffff'ffff'f000).raw() == 0xff'ffff'ffff);
  static_assert(TlbiIpaOperand::for_ipa(0xfff0'0000'0000'0000).raw() == 0);
  EXPECT_EQ(TlbiIpaOperand::for_ipa(0x0000'ffff'ffff'f000).get(TlbiIpaOperand::ttl), 0u);
}

}  // namespace
}  // namespace lamina::arch
