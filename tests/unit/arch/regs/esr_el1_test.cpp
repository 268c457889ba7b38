// ESR_EL1 against DDI 0487 K.a D23.2 "ESR_EL1": EC [31:26], IL [25],
// ISS [24:0], ISS2 [55:32].
#include "arch/regs/esr_el1.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

TEST(EsrEl1Layout, FieldsMatchTheArmArm) {
  test::expect_layout<EsrEl1>({{"iss", 24, 0}, {"il", 25, 25}, {"ec", 31, 26}, {"iss2", 55, 32}});
  using Reg = EsrEl1;
  LAMINA_ESR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
  const EsrEl1 e =
      EsrEl1::from_scratch().with(EsrEl1::ec, ExceptionClass::kDataAbortSameEl).with(EsrEl1::il, true);
  EXPECT_EQ(e.raw(), 0x9600'0000u);
}

}  // namespace
}  // namespace lamina::arch
