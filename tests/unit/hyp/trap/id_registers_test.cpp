// The guest's ID registers, field by field, for the values QEMU 10.0.2
// reports at EL2 (-M virt,virtualization=on,gic-version=3) with -cpu max and
// -cpu cortex-a57 (read with MRS S3_0_C0_Cm_n by a bare-metal probe). Field
// positions and encodings are written here from DDI 0487 K.a D23.2 (each
// register's field table), independently of lamina's layout headers.
#include "hyp/trap/id_registers.hpp"

#include <cstdint>
#include <gtest/gtest.h>

namespace lamina::hyp {
namespace {

constexpr uint64_t fld(uint64_t v, unsigned hi, unsigned lo) {
  return (v >> lo) & ((uint64_t{1} << (hi - lo + 1)) - 1);
}

// QEMU -cpu max.
constexpr uint64_t kMaxPfr0 = 0x1301'0011'2111'0222;
constexpr uint64_t kMaxPfr1 = 0x0000'0010'0100'0121;
constexpr uint64_t kMaxZfr0 = 0x0110'1101'0021'0021;
constexpr uint64_t kMaxSmfr0 = 0x80f1'00fd'0000'0000;
constexpr uint64_t kMaxDfr0 = 0x1000'0000'1030'560a;
constexpr uint64_t kMaxIsar0 = 0x1221'1111'1021'2120;
constexpr uint64_t kMaxIsar1 = 0x0111'2111'1021'1502;
constexpr uint64_t kMaxIsar2 = 0x0000'0000'0011'0012;
constexpr uint64_t kMaxMmfr0 = 0x2100'0323'1020'1126;
constexpr uint64_t kMaxMmfr1 = 0x0110'1120'1031'2122;
constexpr uint64_t kMaxMmfr2 = 0x1221'0111'1201'1011;
constexpr uint64_t kMaxMmfr3 = 0x1000'0000'0000'0000;
constexpr uint64_t kMaxIdPfr0 = 0x1102'0131;  // AArch32 ID_PFR0_EL1
// QEMU -cpu cortex-a57 (AArch64 at EL0-EL2, no EL3 on virt).
constexpr uint64_t kA57Pfr0 = 0x0100'0222;
constexpr uint64_t kA57Dfr0 = 0x1030'5106;
constexpr uint64_t kA57Isar0 = 0x0001'1120;
constexpr uint64_t kA57Mmfr0 = 0x0000'1124;

uint64_t guest(uint32_t crm, uint32_t op2, uint64_t host,
               const IdRegisterPolicy& p = id_register_policy(40)) {
  return sanitize_id_register(crm, op2, host, p);
}

TEST(IdAa64Pfr0, QemuMax) {
  const uint64_t g = guest(4, 0, kMaxPfr0);
  EXPECT_EQ(fld(g, 3, 0), 0b0001u) << "EL0: AArch64 only (no AArch32 EL0 offered)";
  EXPECT_EQ(fld(g, 7, 4), 0b0001u) << "EL1: AArch64 only (HCR_EL2.RW)";
  EXPECT_EQ(fld(g, 11, 8), 0u) << "EL2: not implemented";
  EXPECT_EQ(fld(g, 15, 12), 0u) << "EL3: the CPU's (none on QEMU virt)";
  EXPECT_EQ(fld(g, 19, 16), 1u) << "FP: FP16";
  EXPECT_EQ(fld(g, 23, 20), 1u) << "AdvSIMD: FP16";
  EXPECT_EQ(fld(g, 27, 24), 0u) << "GIC: no system-register interface";
  EXPECT_EQ(fld(g, 31, 28), 1u) << "RAS: v1 (the CPU has v1p1)";
  EXPECT_EQ(fld(g, 35, 32), 0u) << "SVE";
  EXPECT_EQ(fld(g, 39, 36), 0u) << "SEL2";
  EXPECT_EQ(fld(g, 43, 40), 0u) << "MPAM";
  EXPECT_EQ(fld(g, 47, 44), 0u) << "AMU";
  EXPECT_EQ(fld(g, 51, 48), 1u) << "DIT";
  EXPECT_EQ(fld(g, 55, 52), 0u) << "RME";
  EXPECT_EQ(fld(g, 59, 56), 1u) << "CSV2: capped at 1 (the CPU has CSV2_3)";
  EXPECT_EQ(fld(g, 63, 60), 1u) << "CSV3";
  EXPECT_EQ(g, 0x1101'0000'1011'0011u);
}

TEST(IdAa64Pfr0, PolicyOffersAarch32El0AndTheGicInterface) {
  IdRegisterPolicy p = id_register_policy(40);
  p.aarch32_el0 = true;
  p.gic_sysreg = true;
  const uint64_t g = guest(4, 0, kMaxPfr0, p);
  EXPECT_EQ(fld(g, 3, 0), 0b0010u) << "EL0: AArch64 and AArch32";
  EXPECT_EQ(fld(g, 7, 4), 0b0001u);
  EXPECT_EQ(fld(g, 27, 24), 0b0001u) << "GIC: GICv3 interface";
  // A GICv4.1 CPU (0b0011) is offered as GICv3.
  EXPECT_EQ(fld(guest(4, 0, uint64_t{0b0011} << 24, p), 27, 24), 0b0001u);
}

TEST(IdAa64Pfr0, CortexA57) {
  EXPECT_EQ(guest(4, 0, kA57Pfr0), 0x11u);  // EL0 and EL1 AArch64 only, FP/AdvSIMD present (0)
  IdRegisterPolicy p = id_register_policy(40);
  p.aarch32_el0 = true;
  EXPECT_EQ(guest(4, 0, kA57Pfr0, p), 0x12u);
}

TEST(IdAa64Pfr0, SignedFpFieldsKeepNotImplemented) {
  // FP = AdvSIMD = 0b1111: not implemented; must stay so (not "capped").
  const uint64_t g = guest(4, 0, (uint64_t{0xf} << 16) | (uint64_t{0xf} << 20) | 0x11);
  EXPECT_EQ(fld(g, 19, 16), 0xfu);
  EXPECT_EQ(fld(g, 23, 20), 0xfu);
}

TEST(IdAa64Pfr1, QemuMaxKeepsOnlyBtAndSsbs) {
  const uint64_t g = guest(4, 1, kMaxPfr1);
  EXPECT_EQ(fld(g, 3, 0), 1u) << "BT";
  EXPECT_EQ(fld(g, 7, 4), 2u) << "SSBS: SSBS2";
  EXPECT_EQ(fld(g, 11, 8), 0u) << "MTE (the CPU has 1)";
  EXPECT_EQ(fld(g, 27, 24), 0u) << "SME (the CPU has 1)";
  EXPECT_EQ(fld(g, 39, 36), 0u) << "NMI (the CPU has 1)";
  EXPECT_EQ(g, 0x21u);
  // Every other field, whatever the CPU says: RAS_frac, MPAM_frac, SME,
  // RNDR_trap, CSV2_frac, NMI, MTE_frac, GCS, THE, MTEX, DF2, PFAR.
  EXPECT_EQ(guest(4, 1, ~uint64_t{0}), 0xffu);
}

TEST(IdAa64Dfr0, QemuMax) {
  const uint64_t g = guest(5, 0, kMaxDfr0);
  EXPECT_EQ(fld(g, 3, 0), 0b0110u) << "DebugVer: Armv8.0 (the CPU has v8.8)";
  EXPECT_EQ(fld(g, 7, 4), 0u) << "TraceVer";
  EXPECT_EQ(fld(g, 11, 8), 0u) << "PMUVer: no virtual PMU";
  EXPECT_EQ(fld(g, 15, 12), 5u) << "BRPs";
  EXPECT_EQ(fld(g, 23, 20), 3u) << "WRPs";
  EXPECT_EQ(fld(g, 31, 28), 1u) << "CTX_CMPs";
  EXPECT_EQ(fld(g, 35, 32), 0u) << "PMSVer";
  EXPECT_EQ(fld(g, 39, 36), 0u) << "DoubleLock: the CPU's (implemented)";
  EXPECT_EQ(fld(g, 63, 60), 0u) << "HPMN0 (the CPU has 1)";
  EXPECT_EQ(g, 0x1030'5006u);
  IdRegisterPolicy p = id_register_policy(40);
  p.pmu = true;
  EXPECT_EQ(fld(guest(5, 0, kMaxDfr0, p), 11, 8), 0b0110u) << "PMUVer: PMUv3p5";
}

TEST(IdAa64Dfr0, CortexA57AndSpecialEncodings) {
  EXPECT_EQ(guest(5, 0, kA57Dfr0), 0x1030'5006u);
  IdRegisterPolicy p = id_register_policy(40);
  p.pmu = true;
  EXPECT_EQ(guest(5, 0, kA57Dfr0, p), 0x1030'5106u);
  // PMUVer 0b1111 (IMPLEMENTATION DEFINED, not PMUv3) is "no PMU" for a guest.
  EXPECT_EQ(fld(guest(5, 0, uint64_t{0xf} << 8 | 6, p), 11, 8), 0u);
  // DoubleLock 0b1111 means "not implemented": kept, not turned into 0
  // ("implemented").
  EXPECT_EQ(fld(guest(5, 0, uint64_t{0xf} << 36 | 6), 39, 36), 0xfu);
  // All ones: DebugVer capped, BRPs/WRPs/CTX_CMPs/DoubleLock kept; TraceVer,
  // PMUVer, PMSS, SEBEP, PMSVer, TraceFilt, TraceBuffer, MTPMU, BRBE,
  // ExtTrcBuff and HPMN0 all 0.
  EXPECT_EQ(guest(5, 0, ~uint64_t{0}), 0x0000'00f0'f0f0'f006u);
}

TEST(IdAa64Isar0, KeepsInstructionsHidesTme) {
  EXPECT_EQ(guest(6, 0, kMaxIsar0), kMaxIsar0);  // TME is already 0 on QEMU
  EXPECT_EQ(guest(6, 0, kA57Isar0), kA57Isar0);
  EXPECT_EQ(fld(guest(6, 0, kMaxIsar0 | uint64_t{1} << 24), 27, 24), 0u) << "TME";
  // [3:0] is RES0.
  EXPECT_EQ(guest(6, 0, ~uint64_t{0}), ~uint64_t{0} & ~(uint64_t{0xf} << 24) & ~uint64_t{0xf});
}

TEST(IdAa64Isar1, PointerAuthenticationOnlyWhenOffered) {
  const uint64_t g = guest(6, 1, kMaxIsar1);
  EXPECT_EQ(fld(g, 7, 4), 0u) << "APA";
  EXPECT_EQ(fld(g, 11, 8), 0u) << "API (the CPU has FPACCOMBINE)";
  EXPECT_EQ(fld(g, 27, 24), 0u) << "GPA";
  EXPECT_EQ(fld(g, 31, 28), 0u) << "GPI";
  EXPECT_EQ(fld(g, 3, 0), 2u) << "DPB";
  EXPECT_EQ(fld(g, 23, 20), 2u) << "LRCPC";
  EXPECT_EQ(fld(g, 47, 44), 2u) << "BF16";
  EXPECT_EQ(fld(g, 59, 56), 1u) << "XS";
  EXPECT_EQ(g, 0x0111'2111'0021'1002u);
  IdRegisterPolicy p = id_register_policy(40);
  p.pointer_auth = true;
  EXPECT_EQ(guest(6, 1, kMaxIsar1, p), kMaxIsar1);
  // FEAT_PAuth_LR (0b0110) is offered as FEAT_FPACCOMBINE (0b0101).
  const uint64_t lr = guest(6, 1, uint64_t{0b0110} << 8 | uint64_t{0b0110} << 4, p);
  EXPECT_EQ(fld(lr, 11, 8), 0b0101u);
  EXPECT_EQ(fld(lr, 7, 4), 0b0101u);
  // LS64 never.
  EXPECT_EQ(fld(guest(6, 1, uint64_t{3} << 60, p), 63, 60), 0u);
}

TEST(IdAa64Isar2, HidesWfxtMopsAnd128BitSysregs) {
  const uint64_t g = guest(6, 2, kMaxIsar2);
  EXPECT_EQ(fld(g, 3, 0), 0u) << "WFxT";
  EXPECT_EQ(fld(g, 7, 4), 1u) << "RPRES";
  EXPECT_EQ(fld(g, 19, 16), 0u) << "MOPS";
  EXPECT_EQ(fld(g, 23, 20), 1u) << "BC";
  EXPECT_EQ(g, 0x0010'0010u);
  const uint64_t all = guest(6, 2, ~uint64_t{0});
  EXPECT_EQ(fld(all, 11, 8), 0u) << "GPA3";
  EXPECT_EQ(fld(all, 15, 12), 0u) << "APA3";
  EXPECT_EQ(fld(all, 27, 24), 0u) << "PAC_frac";
  EXPECT_EQ(fld(all, 35, 32), 0u) << "SYSREG_128";
  EXPECT_EQ(fld(all, 39, 36), 0u) << "SYSINSTR_128";
  EXPECT_EQ(fld(all, 31, 28), 0xfu) << "CLRBHB";
  EXPECT_EQ(fld(all, 55, 52), 0xfu) << "CSSC";
  IdRegisterPolicy p = id_register_policy(40);
  p.pointer_auth = true;
  const uint64_t pa = guest(6, 2, ~uint64_t{0}, p);
  EXPECT_EQ(fld(pa, 15, 12), 0b0101u) << "APA3 capped at FPACCOMBINE";
  EXPECT_EQ(fld(pa, 11, 8), 0xfu) << "GPA3";
  EXPECT_EQ(fld(pa, 27, 24), 0xfu) << "PAC_frac";
}

TEST(IdAa64Mmfr0, QemuMax) {
  const uint64_t g = guest(7, 0, kMaxMmfr0);
  EXPECT_EQ(fld(g, 3, 0), 0b0010u) << "PARange: 40 bits, the VM's IPA size";
  EXPECT_EQ(fld(g, 7, 4), 2u) << "ASIDBits: 16";
  EXPECT_EQ(fld(g, 11, 8), 1u) << "BigEnd";
  EXPECT_EQ(fld(g, 15, 12), 1u) << "SNSMem";
  EXPECT_EQ(fld(g, 19, 16), 0u) << "BigEndEL0";
  EXPECT_EQ(fld(g, 23, 20), 2u) << "TGran16: 52-bit";
  EXPECT_EQ(fld(g, 27, 24), 0u) << "TGran64: implemented";
  EXPECT_EQ(fld(g, 31, 28), 1u) << "TGran4: 52-bit";
  EXPECT_EQ(fld(g, 35, 32), 3u) << "TGran16_2";
  EXPECT_EQ(fld(g, 39, 36), 2u) << "TGran64_2";
  EXPECT_EQ(fld(g, 43, 40), 3u) << "TGran4_2";
  EXPECT_EQ(fld(g, 47, 44), 0u) << "ExS";
  EXPECT_EQ(fld(g, 59, 56), 0u) << "FGT: EL2's";
  EXPECT_EQ(fld(g, 63, 60), 1u) << "ECV: capped at 1 (the CPU has CNTPOFF)";
  EXPECT_EQ(g, 0x1000'0323'1020'1122u);
}

TEST(IdAa64Mmfr0, PaRangeIsTheIpaSizeCappedByTheCpu) {
  struct Case {
    uint64_t host;
    unsigned ipa_bits;
    uint64_t parange;
  };
  // PARange: 0 32, 1 36, 2 40, 3 42, 4 44, 5 48, 6 52 bits.
  const Case cases[] = {
      {kMaxMmfr0, 32, 0}, {kMaxMmfr0, 36, 1}, {kMaxMmfr0, 42, 3}, {kMaxMmfr0, 44, 4},
      {kMaxMmfr0, 48, 5}, {kMaxMmfr0, 52, 6}, {kMaxMmfr0, 56, 6},  // the CPU has 52
      {kMaxMmfr0, 39, 1},                                          // not an encoding: the one below
      {kA57Mmfr0, 40, 2}, {kA57Mmfr0, 48, 4},                      // cortex-a57 has 44
  };
  for (const Case& c : cases) {
    EXPECT_EQ(fld(guest(7, 0, c.host, id_register_policy(c.ipa_bits)), 3, 0), c.parange)
        << c.ipa_bits << " bits";
  }
  EXPECT_EQ(guest(7, 0, kA57Mmfr0), 0x1122u);
}

TEST(IdAa64Mmfr1, QemuMax) {
  const uint64_t g = guest(7, 1, kMaxMmfr1);
  EXPECT_EQ(fld(g, 3, 0), 2u) << "HAFDBS";
  EXPECT_EQ(fld(g, 7, 4), 0u) << "VMIDBits";
  EXPECT_EQ(fld(g, 11, 8), 0u) << "VH";
  EXPECT_EQ(fld(g, 15, 12), 2u) << "HPDS";
  EXPECT_EQ(fld(g, 19, 16), 0u) << "LO";
  EXPECT_EQ(fld(g, 23, 20), 3u) << "PAN: PAN3";
  EXPECT_EQ(fld(g, 27, 24), 0u) << "SpecSEI";
  EXPECT_EQ(fld(g, 31, 28), 0u) << "XNX";
  EXPECT_EQ(fld(g, 35, 32), 0u) << "TWED";
  EXPECT_EQ(fld(g, 39, 36), 2u) << "ETS";
  EXPECT_EQ(fld(g, 43, 40), 0u) << "HCX";
  EXPECT_EQ(fld(g, 47, 44), 1u) << "AFP";
  EXPECT_EQ(fld(g, 51, 48), 0u) << "nTLBPA";
  EXPECT_EQ(fld(g, 55, 52), 1u) << "TIDCP1";
  EXPECT_EQ(fld(g, 59, 56), 1u) << "CMOW";
  EXPECT_EQ(fld(g, 63, 60), 0u) << "ECBHB";
  EXPECT_EQ(g, 0x0110'1020'0030'2002u);
  // HAFDBS 0b0011 (HAFT, needs TCR2_EL1) is offered as 0b0010.
  EXPECT_EQ(fld(guest(7, 1, 0b0011), 3, 0), 0b0010u);
}

TEST(IdAa64Mmfr2, QemuMax) {
  const uint64_t g = guest(7, 2, kMaxMmfr2);
  EXPECT_EQ(fld(g, 3, 0), 1u) << "CnP";
  EXPECT_EQ(fld(g, 7, 4), 1u) << "UAO";
  EXPECT_EQ(fld(g, 11, 8), 0u) << "LSM";
  EXPECT_EQ(fld(g, 15, 12), 1u) << "IESB";
  EXPECT_EQ(fld(g, 19, 16), 1u) << "VARange";
  EXPECT_EQ(fld(g, 23, 20), 0u) << "CCIDX";
  EXPECT_EQ(fld(g, 27, 24), 0u) << "NV (the CPU has NV2)";
  EXPECT_EQ(fld(g, 31, 28), 1u) << "ST";
  EXPECT_EQ(fld(g, 35, 32), 1u) << "AT";
  EXPECT_EQ(fld(g, 39, 36), 1u) << "IDS";
  EXPECT_EQ(fld(g, 43, 40), 0u) << "FWB";
  EXPECT_EQ(fld(g, 51, 48), 1u) << "TTL";
  EXPECT_EQ(fld(g, 55, 52), 2u) << "BBM";
  EXPECT_EQ(fld(g, 59, 56), 0u) << "EVT";
  EXPECT_EQ(fld(g, 63, 60), 1u) << "E0PD";
  EXPECT_EQ(g, 0x1021'0011'1001'1011u);
}

TEST(IdRegisterSpace, WholeRegistersHidden) {
  // ID_AA64PFR2, ZFR0, SMFR0, FPFR0, DFR1, DFR2, AFR0, AFR1, ISAR3, MMFR3,
  // MMFR4 read as zero whatever the CPU has.
  EXPECT_EQ(guest(4, 4, kMaxZfr0), 0u);
  EXPECT_EQ(guest(4, 5, kMaxSmfr0), 0u);
  EXPECT_EQ(guest(7, 3, kMaxMmfr3), 0u);
  const uint32_t hidden[][2] = {{4, 2}, {4, 7}, {5, 1}, {5, 2}, {5, 4}, {5, 5}, {6, 3}, {7, 4}};
  for (const auto& e : hidden) EXPECT_EQ(guest(e[0], e[1], ~uint64_t{0}), 0u) << e[0] << "," << e[1];
  // Unallocated encodings read as zero even if the value handed in is not.
  const uint32_t unallocated[][2] = {{4, 3}, {4, 6}, {5, 3}, {5, 6}, {5, 7}, {6, 4}, {6, 7}, {7, 5}, {7, 7}};
  for (const auto& e : unallocated) EXPECT_EQ(guest(e[0], e[1], ~uint64_t{0}), 0u) << e[0] << "," << e[1];
}

TEST(IdRegisterSpace, Aarch32RegistersFollowThePolicy) {
  EXPECT_EQ(guest(1, 0, kMaxIdPfr0), 0u);
  IdRegisterPolicy p = id_register_policy(40);
  p.aarch32_el0 = true;
  for (uint32_t crm = 1; crm <= 3; ++crm) {
    for (uint32_t op2 = 0; op2 < 8; ++op2) {
      const bool unallocated = crm == 3 && (op2 == 3 || op2 == 7);
      EXPECT_EQ(guest(crm, op2, 0x1234'5678, p), unallocated ? 0u : 0x1234'5678u) << crm << "," << op2;
    }
  }
}

TEST(GuestIdRegister, OnlyTheTid3Space) {
  const IdRegisterPolicy p = id_register_policy(40);
  const auto pfr0 = guest_id_register(arch::SysRegId::kIdAa64Pfr0El1, kMaxPfr0, p);
  ASSERT_TRUE(pfr0.ok());
  EXPECT_EQ(pfr0.value(), 0x1101'0000'1011'0011u);
  ASSERT_TRUE(guest_id_register(arch::SysRegId::kIdAa64Mmfr0El1, kMaxMmfr0, p).ok());
  for (arch::SysRegId id :
       {arch::SysRegId::kMidrEl1, arch::SysRegId::kMpidrEl1, sys_reg_id(3, 1, 0, 0, 0),
        sys_reg_id(3, 0, 0, 8, 0), sys_reg_id(3, 0, 1, 4, 0), sys_reg_id(2, 0, 0, 4, 0)}) {
    const auto r = guest_id_register(id, 1, p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), IdRegisterError::kNotIdRegister);
  }
  EXPECT_TRUE(is_id_register_space(3, 0, 0, 1));
  EXPECT_TRUE(is_id_register_space(3, 0, 0, 7));
  EXPECT_FALSE(is_id_register_space(3, 0, 0, 0));
  EXPECT_FALSE(is_id_register_space(3, 0, 0, 8));
  EXPECT_FALSE(is_id_register_space(3, 1, 0, 4));
}

TEST(GuestPstateFeatures, FromTheSanitizedView) {
  const IdRegisterPolicy p = id_register_policy(40);
  const GuestPstateFeatures max = guest_pstate_features(kMaxPfr1, kMaxMmfr1, kMaxMmfr2, p);
  EXPECT_TRUE(max.pan);
  EXPECT_TRUE(max.uao);
  EXPECT_TRUE(max.bti);
  EXPECT_TRUE(max.ssbs);
  EXPECT_FALSE(max.mte) << "the CPU has MTE, the guest does not";
  EXPECT_EQ(guest_pstate_features(0, 0, 0, p), GuestPstateFeatures{});
}

}  // namespace
}  // namespace lamina::hyp
