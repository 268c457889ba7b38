// ID_AA64PFR1_EL1 and ID_AA64ISAR0/1/2_EL1 against DDI 0487 K.a D23.2
// (the registers' field tables).
#include "arch/regs/id_aa64_regs.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(IdAa64Pfr1Layout, FieldsMatchTheArmArm) {
  // [23:20] is RES0.
  expect_layout<IdAa64Pfr1>({
      {"bt", 3, 0},
      {"ssbs", 7, 4},
      {"mte", 11, 8},
      {"ras_frac", 15, 12},
      {"mpam_frac", 19, 16},
      {"sme", 27, 24},
      {"rndr_trap", 31, 28},
      {"csv2_frac", 35, 32},
      {"nmi", 39, 36},
      {"mte_frac", 43, 40},
      {"gcs", 47, 44},
      {"the", 51, 48},
      {"mtex", 55, 52},
      {"df2", 59, 56},
      {"pfar", 63, 60},
  });
  using Reg = IdAa64Pfr1;
  LAMINA_ID_AA64PFR1_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(IdAa64Isar0Layout, FieldsMatchTheArmArm) {
  // [3:0] is RES0.
  expect_layout<IdAa64Isar0>({
      {"aes", 7, 4},
      {"sha1", 11, 8},
      {"sha2", 15, 12},
      {"crc32", 19, 16},
      {"atomic", 23, 20},
      {"tme", 27, 24},
      {"rdm", 31, 28},
      {"sha3", 35, 32},
      {"sm3", 39, 36},
      {"sm4", 43, 40},
      {"dp", 47, 44},
      {"fhm", 51, 48},
      {"ts", 55, 52},
      {"tlb", 59, 56},
      {"rndr", 63, 60},
  });
  using Reg = IdAa64Isar0;
  LAMINA_ID_AA64ISAR0_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(IdAa64Isar1Layout, FieldsMatchTheArmArm) {
  expect_layout<IdAa64Isar1>({
      {"dpb", 3, 0},
      {"apa", 7, 4},
      {"api", 11, 8},
      {"jscvt", 15, 12},
      {"fcma", 19, 16},
      {"lrcpc", 23, 20},
      {"gpa", 27, 24},
      {"gpi", 31, 28},
      {"frintts", 35, 32},
      {"sb", 39, 36},
      {"specres", 43, 40},
      {"bf16", 47, 44},
      {"dgh", 51, 48},
      {"i8mm", 55, 52},
      {"xs", 59, 56},
      {"ls64", 63, 60},
  });
  using Reg = IdAa64Isar1;
  LAMINA_ID_AA64ISAR1_FIELDS(LAMINA_TEST_CHECK_FIELD)
  EXPECT_EQ(kPauthFpacCombine, 0b0101u);
}

TEST(IdAa64Isar2Layout, FieldsMatchTheArmArm) {
  expect_layout<IdAa64Isar2>({
      {"wfxt", 3, 0},
      {"rpres", 7, 4},
      {"gpa3", 11, 8},
      {"apa3", 15, 12},
      {"mops", 19, 16},
      {"bc", 23, 20},
      {"pac_frac", 27, 24},
      {"clrbhb", 31, 28},
      {"sysreg_128", 35, 32},
      {"sysinstr_128", 39, 36},
      {"prfmslc", 43, 40},
      {"pcdphint", 47, 44},
      {"rprfm", 51, 48},
      {"cssc", 55, 52},
      {"lut", 59, 56},
      {"ats1a", 63, 60},
  });
  using Reg = IdAa64Isar2;
  LAMINA_ID_AA64ISAR2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

}  // namespace
}  // namespace lamina::arch
