// System register names against DDI 0487 K.a D23 (each register's
// "Accessing ..." encoding), the numbered families by rule, and the generic
// S<op0>_<op1>_C<n>_C<m>_<op2> form.
#include "hyp/trap/sysreg_encoding.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <set>
#include <string>

#include "arch/esr.hpp"

namespace lamina::hyp {
namespace {

std::string name_of(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) {
  char buf[kSysRegNameMax];
  system_register_name(op0, op1, crn, crm, op2, buf, sizeof buf);
  return buf;
}

TEST(SysRegFields, RoundTripAndMatchTheTrappedEncoding) {
  for (uint32_t op0 = 0; op0 < 4; ++op0)
    for (uint32_t op1 = 0; op1 < 8; ++op1)
      for (uint32_t crn = 0; crn < 16; ++crn)
        for (uint32_t crm = 0; crm < 16; ++crm)
          for (uint32_t op2 = 0; op2 < 8; ++op2) {
            const SysRegFields f = sys_reg_fields(sys_reg_id(op0, op1, crn, crm, op2));
            ASSERT_EQ(f,
                      (SysRegFields{uint8_t(op0), uint8_t(op1), uint8_t(crn), uint8_t(crm), uint8_t(op2)}));
          }
  // MRS X3, ICC_SRE_EL1 (op0 3, op1 0, CRn 12, CRm 12, op2 5) trapped:
  // ESR ISS = Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10] Rt[9:5] CRm[4:1] Dir[0].
  const uint64_t iss = (uint64_t{3} << 20) | (uint64_t{5} << 17) | (uint64_t{0} << 14) |
                       (uint64_t{12} << 10) | (uint64_t{3} << 5) | (uint64_t{12} << 1) | 1;
  const auto access =
      arch::SysRegAccess::from(arch::EsrEl2::from_raw((uint64_t{0x18} << 26) | (1u << 25) | iss));
  ASSERT_TRUE(access.ok());
  EXPECT_STREQ(sys_reg_name(access.value().encoding()), "ICC_SRE_EL1");
}

TEST(SysRegName, RegistersFromTheArmArm) {
  struct Case {
    uint32_t op0, op1, crn, crm, op2;
    const char* name;
  };
  const Case cases[] = {
      {3, 0, 0, 0, 0, "MIDR_EL1"},         {3, 0, 0, 4, 0, "ID_AA64PFR0_EL1"},
      {3, 0, 0, 7, 2, "ID_AA64MMFR2_EL1"}, {3, 0, 0, 2, 6, "ID_MMFR4_EL1"},
      {3, 0, 0, 3, 4, "ID_PFR2_EL1"},      {3, 1, 0, 0, 0, "CCSIDR_EL1"},
      {3, 2, 0, 0, 0, "CSSELR_EL1"},       {3, 3, 0, 0, 1, "CTR_EL0"},
      {3, 0, 1, 0, 0, "SCTLR_EL1"},        {3, 0, 2, 0, 2, "TCR_EL1"},
      {3, 0, 5, 2, 0, "ESR_EL1"},          {3, 0, 5, 3, 0, "ERRIDR_EL1"},
      {3, 0, 6, 0, 0, "FAR_EL1"},          {3, 0, 10, 2, 0, "MAIR_EL1"},
      {3, 0, 10, 4, 7, "LORID_EL1"},       {3, 0, 12, 0, 0, "VBAR_EL1"},
      {3, 0, 12, 12, 5, "ICC_SRE_EL1"},    {3, 0, 12, 11, 5, "ICC_SGI1R_EL1"},
      {3, 0, 4, 6, 0, "ICC_PMR_EL1"},      {3, 0, 13, 0, 1, "CONTEXTIDR_EL1"},
      {3, 0, 14, 1, 0, "CNTKCTL_EL1"},     {3, 3, 14, 2, 1, "CNTP_CTL_EL0"},
      {3, 3, 14, 3, 2, "CNTV_CVAL_EL0"},   {3, 3, 9, 12, 0, "PMCR_EL0"},
      {3, 3, 9, 14, 0, "PMUSERENR_EL0"},   {3, 3, 14, 15, 7, "PMCCFILTR_EL0"},
      {3, 3, 13, 2, 3, "AMUSERENR_EL0"},   {3, 3, 4, 4, 0, "FPCR"},
      {2, 0, 0, 2, 2, "MDSCR_EL1"},        {2, 0, 1, 0, 4, "OSLAR_EL1"},
      {2, 0, 1, 3, 4, "OSDLR_EL1"},        {2, 0, 7, 14, 6, "DBGAUTHSTATUS_EL1"},
      {1, 0, 7, 6, 2, "DC ISW"},           {1, 0, 7, 14, 2, "DC CISW"},
      {1, 3, 7, 14, 1, "DC CIVAC"},        {1, 0, 8, 3, 0, "TLBI VMALLE1IS"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(name_of(c.op0, c.op1, c.crn, c.crm, c.op2), c.name);
    EXPECT_STREQ(sys_reg_name(sys_reg_id(c.op0, c.op1, c.crn, c.crm, c.op2)), c.name);
  }
}

TEST(SysRegName, AgreesWithTheSysRegIdConstants) {
  EXPECT_STREQ(sys_reg_name(arch::SysRegId::kMpidrEl1), "MPIDR_EL1");
  EXPECT_STREQ(sys_reg_name(arch::SysRegId::kIdAa64Dfr0El1), "ID_AA64DFR0_EL1");
  EXPECT_STREQ(sys_reg_name(arch::SysRegId::kIdAa64Isar1El1), "ID_AA64ISAR1_EL1");
  EXPECT_STREQ(sys_reg_name(arch::SysRegId::kIccSgi1rEl1), "ICC_SGI1R_EL1");
  EXPECT_STREQ(sys_reg_name(arch::SysRegId::kCntpCvalEl0), "CNTP_CVAL_EL0");
  EXPECT_STREQ(sys_reg_name(arch::SysRegId::kOslsrEl1), "OSLSR_EL1");
}

TEST(SysRegName, NumberedFamilies) {
  EXPECT_EQ(name_of(2, 0, 0, 0, 4), "DBGBVR0_EL1");
  EXPECT_EQ(name_of(2, 0, 0, 5, 5), "DBGBCR5_EL1");
  EXPECT_EQ(name_of(2, 0, 0, 12, 6), "DBGWVR12_EL1");
  EXPECT_EQ(name_of(2, 0, 0, 15, 7), "DBGWCR15_EL1");
  // PMEVCNTR<n>_EL0: CRm 0b10:n[4:3], op2 n[2:0]; PMEVTYPER<n>: CRm 0b11:n[4:3].
  EXPECT_EQ(name_of(3, 3, 14, 8, 0), "PMEVCNTR0_EL0");
  EXPECT_EQ(name_of(3, 3, 14, 11, 6), "PMEVCNTR30_EL0");
  EXPECT_EQ(name_of(3, 3, 14, 12, 0), "PMEVTYPER0_EL0");
  EXPECT_EQ(name_of(3, 3, 14, 14, 1), "PMEVTYPER17_EL0");
  EXPECT_EQ(name_of(3, 3, 14, 11, 7), "S3_3_C14_C11_7");  // n = 31 is not a counter
  EXPECT_EQ(name_of(3, 0, 12, 8, 4), "ICC_AP0R0_EL1");
  EXPECT_EQ(name_of(3, 0, 12, 8, 7), "ICC_AP0R3_EL1");
  EXPECT_EQ(name_of(3, 0, 12, 9, 0), "ICC_AP1R0_EL1");
  EXPECT_EQ(name_of(3, 0, 12, 9, 3), "ICC_AP1R3_EL1");
}

TEST(SysRegName, GenericForm) {
  EXPECT_EQ(name_of(3, 0, 15, 2, 0), "S3_0_C15_C2_0");  // IMPLEMENTATION DEFINED space
  EXPECT_EQ(name_of(3, 7, 15, 15, 7), "S3_7_C15_C15_7");
  EXPECT_EQ(name_of(3, 0, 0, 4, 3), "S3_0_C0_C4_3");  // unallocated ID register
  EXPECT_EQ(sys_reg_name(sys_reg_id(3, 0, 15, 2, 0)), nullptr);
  // A buffer too small is cut, NUL-terminated.
  char small[6];
  system_register_name(3, 0, 0, 4, 0, small, sizeof small);
  EXPECT_EQ(std::strlen(small), 5u);
}

TEST(SysRegName, TableHasNoDuplicates) {
  std::set<uint32_t> encodings;
  std::set<std::string> names;
  for (const SysRegNameEntry& e : kSysRegNames) {
    EXPECT_TRUE(encodings.insert(e.encoding).second) << e.name;
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_LT(std::strlen(e.name), kSysRegNameMax);
  }
}

TEST(SysRegName, Formatter) {
  char line[64];
  fmt::format(line, sizeof line, "read of {} at {:x}", SysRegName{sys_reg_id(3, 0, 12, 12, 5)}, 0x1000);
  EXPECT_STREQ(line, "read of ICC_SRE_EL1 at 0x1000");
  fmt::format(line, sizeof line, "[{:>16}]", SysRegName{sys_reg_id(3, 0, 15, 2, 0)});
  EXPECT_STREQ(line, "[   S3_0_C15_C2_0]");
}

static_assert(sys_reg_fields(arch::SysRegId::kIdAa64Mmfr0El1) == SysRegFields{3, 0, 0, 7, 0});
static_assert(sys_reg_name(arch::SysRegId::kMidrEl1)[0] == 'M');

}  // namespace
}  // namespace lamina::hyp
