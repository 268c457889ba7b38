// Typed ISS views of arch/esr: layouts against DDI 0487 K.a D23.2 "ESR_EL2"
// ISS encoding tables (positions retyped here from the spec, not copied from
// the header), class checking, and decoding of hand-built real syndromes.
#include <cstdint>
#include <gtest/gtest.h>
#include <utility>

#include "arch/esr.hpp"

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

// ESR_EL2 = EC[31:26] | IL[25] | ISS[24:0], built from the spec by hand.
constexpr EsrEl2 esr_of(uint64_t ec, uint64_t iss, bool il = true) {
  return EsrEl2::from_raw((ec << 26) | (uint64_t{il} << 25) | iss);
}

TEST(InstructionAbortIssLayout, FieldsMatchTheArmArm) {
  expect_layout<InstructionAbortIss>(
      {{"ifsc", 5, 0}, {"s1ptw", 7, 7}, {"ea", 9, 9}, {"fnv", 10, 10}, {"set", 12, 11}});
  using Reg = InstructionAbortIss;
  LAMINA_INSTRUCTION_ABORT_ISS_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(SysRegIssLayout, FieldsMatchTheArmArm) {
  expect_layout<SysRegIss>({{"op0", 21, 20},
                            {"op2", 19, 17},
                            {"op1", 16, 14},
                            {"crn", 13, 10},
                            {"rt", 9, 5},
                            {"crm", 4, 1},
                            {"direction", 0, 0}});
  using Reg = SysRegIss;
  LAMINA_SYS_REG_ISS_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(HvcSmcIssLayout, FieldsMatchTheArmArm) {
  expect_layout<HvcSmcIss>({{"imm16", 15, 0}});
  using Reg = HvcSmcIss;
  LAMINA_HVC_SMC_ISS_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(WfxIssLayout, FieldsMatchTheArmArm) {
  expect_layout<WfxIss>({{"ti", 1, 0}, {"rv", 2, 2}, {"rn", 9, 5}});
  using Reg = WfxIss;
  LAMINA_WFX_ISS_FIELDS(LAMINA_TEST_CHECK_FIELD)
  EXPECT_EQ(static_cast<uint64_t>(WfxKind::kWfi), 0b00u);
  EXPECT_EQ(static_cast<uint64_t>(WfxKind::kWfe), 0b01u);
  EXPECT_EQ(static_cast<uint64_t>(WfxKind::kWfit), 0b10u);
  EXPECT_EQ(static_cast<uint64_t>(WfxKind::kWfet), 0b11u);
}

// Every one of the 64 EC values: each view accepts exactly its classes.
TEST(IssViews, BuildOnlyFromTheirExceptionClasses) {
  for (uint64_t ec = 0; ec < 64; ++ec) {
    SCOPED_TRACE(ec);
    const EsrEl2 esr = esr_of(ec, 0x1ff'ffff);
    EXPECT_EQ(DataAbort::from(esr).ok(), ec == 0x24 || ec == 0x25);
    EXPECT_EQ(InstructionAbort::from(esr).ok(), ec == 0x20 || ec == 0x21);
    EXPECT_EQ(SysRegAccess::from(esr).ok(), ec == 0x18);
    EXPECT_EQ(HvcSmc::from(esr).ok(), ec == 0x16 || ec == 0x17);
    EXPECT_EQ(Wfx::from(esr).ok(), ec == 0x01);
    if (ec != 0x24 && ec != 0x25) {
      EXPECT_EQ(DataAbort::from(esr).error(), EsrError::kWrongExceptionClass);
    }
  }
}

TEST(DataAbort, WordStoreFromW3) {
  // STR W3, [X1] to an unmapped IPA from EL1: EC 0x24, IL 1, ISV 1,
  // SAS 0b10, SSE 0, SRT 3, SF 0, AR 0, WnR 1, DFSC 0b000111 (translation
  // fault, level 3).
  const auto esr = EsrEl2::from_raw(0x9383'0047);
  const auto r = DataAbort::from(esr);
  ASSERT_TRUE(r.ok());
  const DataAbort& da = r.value();
  EXPECT_TRUE(da.from_lower_el());
  EXPECT_TRUE(da.isv());
  EXPECT_EQ(da.access_bytes(), 4);
  EXPECT_FALSE(da.sign_extend());
  EXPECT_EQ(da.register_index(), 3);
  EXPECT_FALSE(da.is_64bit_register());
  EXPECT_FALSE(da.acquire_release());
  EXPECT_FALSE(da.vncr());
  EXPECT_TRUE(da.is_write());
  EXPECT_FALSE(da.s1ptw());
  EXPECT_FALSE(da.cache_maintenance());
  EXPECT_FALSE(da.external_abort());
  EXPECT_TRUE(da.far_valid());
  EXPECT_EQ(da.error_type(), SyncErrorType::kRecoverable);
  EXPECT_EQ(da.fault_status(), 0b000111);
}

TEST(DataAbort, SignExtendedByteLoadIntoX5) {
  // LDRSB X5, [X0]: SAS 0b00, SSE 1, SRT 5, SF 1, WnR 0, DFSC 0b000110.
  const auto r = DataAbort::from(EsrEl2::from_raw(0x9325'8006));
  ASSERT_TRUE(r.ok());
  const DataAbort& da = r.value();
  EXPECT_EQ(da.access_bytes(), 1);
  EXPECT_TRUE(da.sign_extend());
  EXPECT_EQ(da.register_index(), 5);
  EXPECT_TRUE(da.is_64bit_register());
  EXPECT_FALSE(da.is_write());
  EXPECT_EQ(da.fault_status(), 0b000110);
}

TEST(DataAbort, LoadAcquireDoublewordIntoX30) {
  // LDAR X30, [X2]: SAS 0b11, SRT 30, SF 1, AR 1.
  const auto r = DataAbort::from(EsrEl2::from_raw(0x93de'c007));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().access_bytes(), 8);
  EXPECT_EQ(r.value().register_index(), 30);
  EXPECT_TRUE(r.value().acquire_release());
  EXPECT_TRUE(r.value().is_64bit_register());
}

TEST(DataAbort, EveryAccessSizeAndTheZeroRegister) {
  const uint8_t bytes[] = {1, 2, 4, 8};
  for (uint64_t sas = 0; sas < 4; ++sas) {
    const auto r = DataAbort::from(esr_of(0x24, (1u << 24) | (sas << 22) | (31u << 16)));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().access_bytes(), bytes[sas]);
    EXPECT_EQ(r.value().register_index(), 31);  // XZR/WZR
  }
}

TEST(DataAbort, NoSyndromeFarNotValidFromEl2) {
  // LDP from EL2 itself: EC 0x25, ISV 0, FnV 1, EA 1, SET 0b10, S1PTW 1, CM 1, VNCR 1.
  const auto r = DataAbort::from(
      esr_of(0x25, (1u << 13) | (0b10u << 11) | (1u << 10) | (1u << 9) | (1u << 8) | (1u << 7) | 0b010000));
  ASSERT_TRUE(r.ok());
  const DataAbort& da = r.value();
  EXPECT_FALSE(da.from_lower_el());
  EXPECT_FALSE(da.isv());
  EXPECT_FALSE(da.far_valid());
  EXPECT_TRUE(da.external_abort());
  EXPECT_EQ(da.error_type(), SyncErrorType::kUncontainable);
  EXPECT_TRUE(da.s1ptw());
  EXPECT_TRUE(da.cache_maintenance());
  EXPECT_TRUE(da.vncr());
  EXPECT_EQ(da.fault_status(), 0b010000);
}

TEST(InstructionAbort, PermissionFaultOnStage1Walk) {
  // EC 0x20, IL 1, S1PTW 1, IFSC 0b001111 (permission fault, level 3).
  const auto r = InstructionAbort::from(EsrEl2::from_raw(0x8200'008f));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().from_lower_el());
  EXPECT_TRUE(r.value().s1ptw());
  EXPECT_EQ(r.value().fault_status(), 0b001111);
  EXPECT_TRUE(r.value().far_valid());
  EXPECT_FALSE(r.value().external_abort());
  const auto same = InstructionAbort::from(esr_of(0x21, (0b11u << 11) | (1u << 10) | (1u << 9) | 0b010000));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same.value().from_lower_el());
  EXPECT_FALSE(same.value().far_valid());
  EXPECT_TRUE(same.value().external_abort());
  EXPECT_EQ(same.value().error_type(), SyncErrorType::kRestartable);
  EXPECT_FALSE(same.value().s1ptw());
}

TEST(HvcSmc, Imm16AndKind) {
  const auto hvc = HvcSmc::from(EsrEl2::from_raw(0x5a00'1234));  // HVC #0x1234
  ASSERT_TRUE(hvc.ok());
  EXPECT_FALSE(hvc.value().is_smc());
  EXPECT_EQ(hvc.value().imm16(), 0x1234);
  const auto smc = HvcSmc::from(EsrEl2::from_raw(0x5e00'ffff));  // SMC #0xffff
  ASSERT_TRUE(smc.ok());
  EXPECT_TRUE(smc.value().is_smc());
  EXPECT_EQ(smc.value().imm16(), 0xffff);
}

TEST(Wfx, KindsAndRegister) {
  const std::pair<uint64_t, WfxKind> cases[] = {{0x0600'0000, WfxKind::kWfi},
                                                {0x0600'0001, WfxKind::kWfe},
                                                {0x0600'0002, WfxKind::kWfit},
                                                {0x0600'0003, WfxKind::kWfet}};
  for (const auto& [raw, kind] : cases) {
    const auto r = Wfx::from(EsrEl2::from_raw(raw));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().kind(), kind);
    EXPECT_FALSE(r.value().register_valid());
  }
  // WFIT X7: TI 0b10, RV 1, Rn 7.
  const auto wfit = Wfx::from(EsrEl2::from_raw(0x0600'00e6));
  ASSERT_TRUE(wfit.ok());
  EXPECT_EQ(wfit.value().kind(), WfxKind::kWfit);
  EXPECT_TRUE(wfit.value().register_valid());
  EXPECT_EQ(wfit.value().register_index(), 7);
}

TEST(SysRegAccess, MrsIdAa64Pfr0IntoX0) {
  // MRS X0, ID_AA64PFR0_EL1: Op0 3, Op2 0, Op1 0, CRn 0, Rt 0, CRm 4, read.
  const auto r = SysRegAccess::from(EsrEl2::from_raw(0x6230'0009));
  ASSERT_TRUE(r.ok());
  const SysRegAccess& s = r.value();
  EXPECT_EQ(s.op0(), 3);
  EXPECT_EQ(s.op1(), 0);
  EXPECT_EQ(s.crn(), 0);
  EXPECT_EQ(s.crm(), 4);
  EXPECT_EQ(s.op2(), 0);
  EXPECT_EQ(s.register_index(), 0);
  EXPECT_TRUE(s.is_read());
  EXPECT_EQ(s.encoding(), SysRegId::kIdAa64Pfr0El1);
}

TEST(SysRegAccess, MsrCntpCtlFromX2AndSgi1rFromX1) {
  // MSR CNTP_CTL_EL0, X2: Op0 3, Op2 1, Op1 3, CRn 14, Rt 2, CRm 2, write.
  const auto ctl = SysRegAccess::from(EsrEl2::from_raw(0x6232'f844));
  ASSERT_TRUE(ctl.ok());
  EXPECT_EQ(ctl.value().op1(), 3);
  EXPECT_EQ(ctl.value().crn(), 14);
  EXPECT_EQ(ctl.value().crm(), 2);
  EXPECT_EQ(ctl.value().op2(), 1);
  EXPECT_EQ(ctl.value().register_index(), 2);
  EXPECT_FALSE(ctl.value().is_read());
  EXPECT_EQ(ctl.value().encoding(), SysRegId::kCntpCtlEl0);
  // MSR ICC_SGI1R_EL1, X1: Op0 3, Op2 5, Op1 0, CRn 12, Rt 1, CRm 11, write.
  const auto sgi = SysRegAccess::from(EsrEl2::from_raw(0x623a'3036));
  ASSERT_TRUE(sgi.ok());
  EXPECT_EQ(sgi.value().encoding(), SysRegId::kIccSgi1rEl1);
  EXPECT_EQ(sgi.value().register_index(), 1);
}

TEST(SysRegAccess, EncodingRepacksEveryFieldIndependently) {
  // Each field at its max, the others zero, lands in its own key bits.
  for (uint64_t iss : {uint64_t{0b11} << 20, uint64_t{0b111} << 17, uint64_t{0b111} << 14,
                       uint64_t{0xf} << 10, uint64_t{0xf} << 1}) {
    const auto r = SysRegAccess::from(esr_of(0x18, iss));
    ASSERT_TRUE(r.ok());
    const SysRegAccess& s = r.value();
    EXPECT_EQ(static_cast<uint32_t>(s.encoding()), pack_sys_reg(s.op0(), s.op1(), s.crn(), s.crm(), s.op2()));
    EXPECT_NE(static_cast<uint32_t>(s.encoding()), 0u);
  }
}

// The key is the MRS/MSR instruction's op0:op1:CRn:CRm:op2 field, bits
// [20:5] of the word (bit 20 is 1 and bit 19 is o0, so [20:19] is op0 = 2 + o0).
TEST(SysRegId, MatchesAssembledMrsMsrEncodings) {
  // Assembled with aarch64-linux-gnu-as (MRS/MSR Xt, <reg> with Xt = X0).
  const std::pair<uint32_t, SysRegId> cases[] = {
      {0xd5380000, SysRegId::kMidrEl1},        {0xd53800a0, SysRegId::kMpidrEl1},
      {0xd5380400, SysRegId::kIdAa64Pfr0El1},  {0xd5380420, SysRegId::kIdAa64Pfr1El1},
      {0xd5380500, SysRegId::kIdAa64Dfr0El1},  {0xd5380600, SysRegId::kIdAa64Isar0El1},
      {0xd5380620, SysRegId::kIdAa64Isar1El1}, {0xd5380700, SysRegId::kIdAa64Mmfr0El1},
      {0xd5380720, SysRegId::kIdAa64Mmfr1El1}, {0xd5380740, SysRegId::kIdAa64Mmfr2El1},
      {0xd518cba0, SysRegId::kIccSgi1rEl1},    {0xd53be200, SysRegId::kCntpTvalEl0},
      {0xd53be220, SysRegId::kCntpCtlEl0},     {0xd53be240, SysRegId::kCntpCvalEl0},
      {0xd5101080, SysRegId::kOslarEl1},       {0xd5301180, SysRegId::kOslsrEl1},
      {0xd5101380, SysRegId::kOsdlrEl1},
  };
  for (const auto& [insn, id] : cases) {
    SCOPED_TRACE(insn);
    EXPECT_EQ((insn >> 5) & 0xffff, static_cast<uint32_t>(id));
  }
}

static_assert(pack_sys_reg(3, 0, 0, 7, 0) == 0xc038);
static_assert(static_cast<uint32_t>(SysRegId::kIdAa64Mmfr0El1) == 0xc038);

}  // namespace
}  // namespace lamina::arch
