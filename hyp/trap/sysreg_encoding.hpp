// System register encodings by name, for log lines about trapped MSR/MRS/
// SYS instructions ("read of ICC_SRE_EL1 ...", "write to S3_0_C15_C2_0 ...").
//
// The key is arch::SysRegId, the packed (op0, op1, CRn, CRm, op2) of
// arch/esr.hpp (SysRegAccess::encoding()). Names and encodings are those of
// DDI 0487 K.a D23 "AArch64 System Register Descriptions" (and C5/C6 for the
// SYS instructions); the table covers what guests commonly touch, the
// numbered families (DBGBVR<n>_EL1, PMEVCNTR<n>_EL0, ICC_AP1R<n>_EL1...) are
// named by rule, and anything else prints in the generic form the assembler
// accepts, S<op0>_<op1>_C<n>_C<m>_<op2>.
//
// Header-only and constexpr: the table lives in .rodata and the tests check
// it under static_assert.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "arch/esr.hpp"

#include "hyp/lib/format.hpp"

namespace lamina::hyp {

// The five encoding fields of a SysRegId.
struct SysRegFields {
  uint8_t op0 = 0;
  uint8_t op1 = 0;
  uint8_t crn = 0;
  uint8_t crm = 0;
  uint8_t op2 = 0;

  friend constexpr bool operator==(const SysRegFields&, const SysRegFields&) = default;
};

// Inverse of arch::pack_sys_reg.
[[nodiscard]] constexpr SysRegFields sys_reg_fields(arch::SysRegId id) {
  const auto v = static_cast<uint32_t>(id);
  return SysRegFields{static_cast<uint8_t>((v >> 14) & 0x3), static_cast<uint8_t>((v >> 11) & 0x7),
                      static_cast<uint8_t>((v >> 7) & 0xf), static_cast<uint8_t>((v >> 3) & 0xf),
                      static_cast<uint8_t>(v & 0x7)};
}

[[nodiscard]] constexpr arch::SysRegId sys_reg_id(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm,
                                                  uint32_t op2) {
  return static_cast<arch::SysRegId>(arch::pack_sys_reg(op0, op1, crn, crm, op2));
}

struct SysRegNameEntry {
  uint32_t encoding;  // arch::pack_sys_reg
  const char* name;
};

namespace detail {
constexpr SysRegNameEntry entry(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2,
                                const char* name) {
  return SysRegNameEntry{arch::pack_sys_reg(op0, op1, crn, crm, op2), name};
}
}  // namespace detail

// Registers and instructions with a fixed name, in (op0, op1, CRn, CRm, op2)
// order within each group.
inline constexpr auto kSysRegNames = std::to_array<SysRegNameEntry>({
    // Identification (op0 3, op1 0, CRn 0): CRm 0, and the HCR_EL2.TID3
    // space CRm 1-7.
    detail::entry(3, 0, 0, 0, 0, "MIDR_EL1"),
    detail::entry(3, 0, 0, 0, 5, "MPIDR_EL1"),
    detail::entry(3, 0, 0, 0, 6, "REVIDR_EL1"),
    detail::entry(3, 0, 0, 1, 0, "ID_PFR0_EL1"),
    detail::entry(3, 0, 0, 1, 1, "ID_PFR1_EL1"),
    detail::entry(3, 0, 0, 1, 2, "ID_DFR0_EL1"),
    detail::entry(3, 0, 0, 1, 3, "ID_AFR0_EL1"),
    detail::entry(3, 0, 0, 1, 4, "ID_MMFR0_EL1"),
    detail::entry(3, 0, 0, 1, 5, "ID_MMFR1_EL1"),
    detail::entry(3, 0, 0, 1, 6, "ID_MMFR2_EL1"),
    detail::entry(3, 0, 0, 1, 7, "ID_MMFR3_EL1"),
    detail::entry(3, 0, 0, 2, 0, "ID_ISAR0_EL1"),
    detail::entry(3, 0, 0, 2, 1, "ID_ISAR1_EL1"),
    detail::entry(3, 0, 0, 2, 2, "ID_ISAR2_EL1"),
    detail::entry(3, 0, 0, 2, 3, "ID_ISAR3_EL1"),
    detail::entry(3, 0, 0, 2, 4, "ID_ISAR4_EL1"),
    detail::entry(3, 0, 0, 2, 5, "ID_ISAR5_EL1"),
    detail::entry(3, 0, 0, 2, 6, "ID_MMFR4_EL1"),
    detail::entry(3, 0, 0, 2, 7, "ID_ISAR6_EL1"),
    detail::entry(3, 0, 0, 3, 0, "MVFR0_EL1"),
    detail::entry(3, 0, 0, 3, 1, "MVFR1_EL1"),
    detail::entry(3, 0, 0, 3, 2, "MVFR2_EL1"),
    detail::entry(3, 0, 0, 3, 4, "ID_PFR2_EL1"),
    detail::entry(3, 0, 0, 3, 5, "ID_DFR1_EL1"),
    detail::entry(3, 0, 0, 3, 6, "ID_MMFR5_EL1"),
    detail::entry(3, 0, 0, 4, 0, "ID_AA64PFR0_EL1"),
    detail::entry(3, 0, 0, 4, 1, "ID_AA64PFR1_EL1"),
    detail::entry(3, 0, 0, 4, 2, "ID_AA64PFR2_EL1"),
    detail::entry(3, 0, 0, 4, 4, "ID_AA64ZFR0_EL1"),
    detail::entry(3, 0, 0, 4, 5, "ID_AA64SMFR0_EL1"),
    detail::entry(3, 0, 0, 4, 7, "ID_AA64FPFR0_EL1"),
    detail::entry(3, 0, 0, 5, 0, "ID_AA64DFR0_EL1"),
    detail::entry(3, 0, 0, 5, 1, "ID_AA64DFR1_EL1"),
    detail::entry(3, 0, 0, 5, 2, "ID_AA64DFR2_EL1"),
    detail::entry(3, 0, 0, 5, 4, "ID_AA64AFR0_EL1"),
    detail::entry(3, 0, 0, 5, 5, "ID_AA64AFR1_EL1"),
    detail::entry(3, 0, 0, 6, 0, "ID_AA64ISAR0_EL1"),
    detail::entry(3, 0, 0, 6, 1, "ID_AA64ISAR1_EL1"),
    detail::entry(3, 0, 0, 6, 2, "ID_AA64ISAR2_EL1"),
    detail::entry(3, 0, 0, 6, 3, "ID_AA64ISAR3_EL1"),
    detail::entry(3, 0, 0, 7, 0, "ID_AA64MMFR0_EL1"),
    detail::entry(3, 0, 0, 7, 1, "ID_AA64MMFR1_EL1"),
    detail::entry(3, 0, 0, 7, 2, "ID_AA64MMFR2_EL1"),
    detail::entry(3, 0, 0, 7, 3, "ID_AA64MMFR3_EL1"),
    detail::entry(3, 0, 0, 7, 4, "ID_AA64MMFR4_EL1"),
    detail::entry(3, 1, 0, 0, 0, "CCSIDR_EL1"),
    detail::entry(3, 1, 0, 0, 1, "CLIDR_EL1"),
    detail::entry(3, 1, 0, 0, 2, "CCSIDR2_EL1"),
    detail::entry(3, 1, 0, 0, 4, "GMID_EL1"),
    detail::entry(3, 1, 0, 0, 6, "SMIDR_EL1"),
    detail::entry(3, 1, 0, 0, 7, "AIDR_EL1"),
    detail::entry(3, 2, 0, 0, 0, "CSSELR_EL1"),
    detail::entry(3, 3, 0, 0, 1, "CTR_EL0"),
    detail::entry(3, 3, 0, 0, 7, "DCZID_EL0"),
    // EL1 system control and translation.
    detail::entry(3, 0, 1, 0, 0, "SCTLR_EL1"),
    detail::entry(3, 0, 1, 0, 1, "ACTLR_EL1"),
    detail::entry(3, 0, 1, 0, 2, "CPACR_EL1"),
    detail::entry(3, 0, 1, 0, 3, "SCTLR2_EL1"),
    detail::entry(3, 0, 1, 0, 5, "RGSR_EL1"),
    detail::entry(3, 0, 1, 0, 6, "GCR_EL1"),
    detail::entry(3, 0, 1, 2, 0, "ZCR_EL1"),
    detail::entry(3, 0, 1, 2, 1, "TRFCR_EL1"),
    detail::entry(3, 0, 1, 2, 4, "SMPRI_EL1"),
    detail::entry(3, 0, 1, 2, 6, "SMCR_EL1"),
    detail::entry(3, 0, 2, 0, 0, "TTBR0_EL1"),
    detail::entry(3, 0, 2, 0, 1, "TTBR1_EL1"),
    detail::entry(3, 0, 2, 0, 2, "TCR_EL1"),
    detail::entry(3, 0, 2, 0, 3, "TCR2_EL1"),
    detail::entry(3, 0, 2, 1, 0, "APIAKeyLo_EL1"),
    detail::entry(3, 0, 2, 1, 1, "APIAKeyHi_EL1"),
    detail::entry(3, 0, 2, 1, 2, "APIBKeyLo_EL1"),
    detail::entry(3, 0, 2, 1, 3, "APIBKeyHi_EL1"),
    detail::entry(3, 0, 2, 2, 0, "APDAKeyLo_EL1"),
    detail::entry(3, 0, 2, 2, 1, "APDAKeyHi_EL1"),
    detail::entry(3, 0, 2, 2, 2, "APDBKeyLo_EL1"),
    detail::entry(3, 0, 2, 2, 3, "APDBKeyHi_EL1"),
    detail::entry(3, 0, 2, 3, 0, "APGAKeyLo_EL1"),
    detail::entry(3, 0, 2, 3, 1, "APGAKeyHi_EL1"),
    detail::entry(3, 0, 2, 5, 0, "GCSCR_EL1"),
    detail::entry(3, 0, 2, 5, 1, "GCSPR_EL1"),
    detail::entry(3, 0, 4, 0, 0, "SPSR_EL1"),
    detail::entry(3, 0, 4, 0, 1, "ELR_EL1"),
    detail::entry(3, 0, 4, 1, 0, "SP_EL0"),
    detail::entry(3, 0, 4, 2, 0, "SPSel"),
    detail::entry(3, 0, 4, 2, 2, "CurrentEL"),
    detail::entry(3, 0, 4, 2, 3, "PAN"),
    detail::entry(3, 0, 4, 2, 4, "UAO"),
    detail::entry(3, 0, 4, 3, 0, "ALLINT"),
    detail::entry(3, 0, 4, 6, 0, "ICC_PMR_EL1"),
    // Faults and RAS error records.
    detail::entry(3, 0, 5, 1, 0, "AFSR0_EL1"),
    detail::entry(3, 0, 5, 1, 1, "AFSR1_EL1"),
    detail::entry(3, 0, 5, 2, 0, "ESR_EL1"),
    detail::entry(3, 0, 5, 3, 0, "ERRIDR_EL1"),
    detail::entry(3, 0, 5, 3, 1, "ERRSELR_EL1"),
    detail::entry(3, 0, 5, 4, 0, "ERXFR_EL1"),
    detail::entry(3, 0, 5, 4, 1, "ERXCTLR_EL1"),
    detail::entry(3, 0, 5, 4, 2, "ERXSTATUS_EL1"),
    detail::entry(3, 0, 5, 4, 3, "ERXADDR_EL1"),
    detail::entry(3, 0, 5, 4, 4, "ERXPFGF_EL1"),
    detail::entry(3, 0, 5, 4, 5, "ERXPFGCTL_EL1"),
    detail::entry(3, 0, 5, 4, 6, "ERXPFGCDN_EL1"),
    detail::entry(3, 0, 5, 5, 0, "ERXMISC0_EL1"),
    detail::entry(3, 0, 5, 5, 1, "ERXMISC1_EL1"),
    detail::entry(3, 0, 5, 5, 2, "ERXMISC2_EL1"),
    detail::entry(3, 0, 5, 5, 3, "ERXMISC3_EL1"),
    detail::entry(3, 0, 5, 6, 0, "TFSR_EL1"),
    detail::entry(3, 0, 5, 6, 1, "TFSRE0_EL1"),
    detail::entry(3, 0, 6, 0, 0, "FAR_EL1"),
    detail::entry(3, 0, 6, 0, 5, "PFAR_EL1"),
    detail::entry(3, 0, 7, 4, 0, "PAR_EL1"),
    // Statistical profiling and the PMU (EL1 part).
    detail::entry(3, 0, 9, 9, 0, "PMSCR_EL1"),
    detail::entry(3, 0, 9, 9, 2, "PMSICR_EL1"),
    detail::entry(3, 0, 9, 9, 3, "PMSIRR_EL1"),
    detail::entry(3, 0, 9, 9, 4, "PMSFCR_EL1"),
    detail::entry(3, 0, 9, 9, 5, "PMSEVFR_EL1"),
    detail::entry(3, 0, 9, 9, 6, "PMSLATFR_EL1"),
    detail::entry(3, 0, 9, 9, 7, "PMSIDR_EL1"),
    detail::entry(3, 0, 9, 10, 0, "PMBLIMITR_EL1"),
    detail::entry(3, 0, 9, 10, 1, "PMBPTR_EL1"),
    detail::entry(3, 0, 9, 10, 3, "PMBSR_EL1"),
    detail::entry(3, 0, 9, 10, 7, "PMBIDR_EL1"),
    detail::entry(3, 0, 9, 14, 1, "PMINTENSET_EL1"),
    detail::entry(3, 0, 9, 14, 2, "PMINTENCLR_EL1"),
    detail::entry(3, 0, 9, 14, 6, "PMMIR_EL1"),
    // Memory attributes, LORegions, MPAM.
    detail::entry(3, 0, 10, 2, 0, "MAIR_EL1"),
    detail::entry(3, 0, 10, 2, 1, "MAIR2_EL1"),
    detail::entry(3, 0, 10, 2, 2, "PIRE0_EL1"),
    detail::entry(3, 0, 10, 2, 3, "PIR_EL1"),
    detail::entry(3, 0, 10, 2, 4, "POR_EL1"),
    detail::entry(3, 0, 10, 3, 0, "AMAIR_EL1"),
    detail::entry(3, 0, 10, 3, 1, "AMAIR2_EL1"),
    detail::entry(3, 0, 10, 4, 0, "LORSA_EL1"),
    detail::entry(3, 0, 10, 4, 1, "LOREA_EL1"),
    detail::entry(3, 0, 10, 4, 2, "LORN_EL1"),
    detail::entry(3, 0, 10, 4, 3, "LORC_EL1"),
    detail::entry(3, 0, 10, 4, 4, "MPAMIDR_EL1"),
    detail::entry(3, 0, 10, 4, 7, "LORID_EL1"),
    detail::entry(3, 0, 10, 5, 0, "MPAM1_EL1"),
    detail::entry(3, 0, 10, 5, 1, "MPAM0_EL1"),
    // Vectors, interrupt status and the GICv3 CPU interface.
    detail::entry(3, 0, 12, 0, 0, "VBAR_EL1"),
    detail::entry(3, 0, 12, 0, 1, "RVBAR_EL1"),
    detail::entry(3, 0, 12, 0, 2, "RMR_EL1"),
    detail::entry(3, 0, 12, 1, 0, "ISR_EL1"),
    detail::entry(3, 0, 12, 1, 1, "DISR_EL1"),
    detail::entry(3, 0, 12, 8, 0, "ICC_IAR0_EL1"),
    detail::entry(3, 0, 12, 8, 1, "ICC_EOIR0_EL1"),
    detail::entry(3, 0, 12, 8, 2, "ICC_HPPIR0_EL1"),
    detail::entry(3, 0, 12, 8, 3, "ICC_BPR0_EL1"),
    detail::entry(3, 0, 12, 11, 1, "ICC_DIR_EL1"),
    detail::entry(3, 0, 12, 11, 3, "ICC_RPR_EL1"),
    detail::entry(3, 0, 12, 11, 5, "ICC_SGI1R_EL1"),
    detail::entry(3, 0, 12, 11, 6, "ICC_ASGI1R_EL1"),
    detail::entry(3, 0, 12, 11, 7, "ICC_SGI0R_EL1"),
    detail::entry(3, 0, 12, 12, 0, "ICC_IAR1_EL1"),
    detail::entry(3, 0, 12, 12, 1, "ICC_EOIR1_EL1"),
    detail::entry(3, 0, 12, 12, 2, "ICC_HPPIR1_EL1"),
    detail::entry(3, 0, 12, 12, 3, "ICC_BPR1_EL1"),
    detail::entry(3, 0, 12, 12, 4, "ICC_CTLR_EL1"),
    detail::entry(3, 0, 12, 12, 5, "ICC_SRE_EL1"),
    detail::entry(3, 0, 12, 12, 6, "ICC_IGRPEN0_EL1"),
    detail::entry(3, 0, 12, 12, 7, "ICC_IGRPEN1_EL1"),
    // Thread IDs.
    detail::entry(3, 0, 13, 0, 1, "CONTEXTIDR_EL1"),
    detail::entry(3, 0, 13, 0, 4, "TPIDR_EL1"),
    detail::entry(3, 0, 13, 0, 5, "ACCDATA_EL1"),
    detail::entry(3, 0, 13, 0, 7, "SCXTNUM_EL1"),
    detail::entry(3, 0, 14, 1, 0, "CNTKCTL_EL1"),
    // EL0-accessible registers (op1 3).
    detail::entry(3, 3, 2, 4, 0, "RNDR"),
    detail::entry(3, 3, 2, 4, 1, "RNDRRS"),
    detail::entry(3, 3, 2, 5, 1, "GCSPR_EL0"),
    detail::entry(3, 3, 4, 2, 0, "NZCV"),
    detail::entry(3, 3, 4, 2, 1, "DAIF"),
    detail::entry(3, 3, 4, 2, 2, "SVCR"),
    detail::entry(3, 3, 4, 2, 5, "DIT"),
    detail::entry(3, 3, 4, 2, 6, "SSBS"),
    detail::entry(3, 3, 4, 2, 7, "TCO"),
    detail::entry(3, 3, 4, 4, 0, "FPCR"),
    detail::entry(3, 3, 4, 4, 1, "FPSR"),
    detail::entry(3, 3, 4, 4, 2, "FPMR"),
    detail::entry(3, 3, 4, 5, 0, "DSPSR_EL0"),
    detail::entry(3, 3, 4, 5, 1, "DLR_EL0"),
    detail::entry(3, 3, 9, 12, 0, "PMCR_EL0"),
    detail::entry(3, 3, 9, 12, 1, "PMCNTENSET_EL0"),
    detail::entry(3, 3, 9, 12, 2, "PMCNTENCLR_EL0"),
    detail::entry(3, 3, 9, 12, 3, "PMOVSCLR_EL0"),
    detail::entry(3, 3, 9, 12, 4, "PMSWINC_EL0"),
    detail::entry(3, 3, 9, 12, 5, "PMSELR_EL0"),
    detail::entry(3, 3, 9, 12, 6, "PMCEID0_EL0"),
    detail::entry(3, 3, 9, 12, 7, "PMCEID1_EL0"),
    detail::entry(3, 3, 9, 13, 0, "PMCCNTR_EL0"),
    detail::entry(3, 3, 9, 13, 1, "PMXEVTYPER_EL0"),
    detail::entry(3, 3, 9, 13, 2, "PMXEVCNTR_EL0"),
    detail::entry(3, 3, 9, 14, 0, "PMUSERENR_EL0"),
    detail::entry(3, 3, 9, 14, 3, "PMOVSSET_EL0"),
    detail::entry(3, 3, 13, 0, 2, "TPIDR_EL0"),
    detail::entry(3, 3, 13, 0, 3, "TPIDRRO_EL0"),
    detail::entry(3, 3, 13, 0, 5, "TPIDR2_EL0"),
    detail::entry(3, 3, 13, 0, 7, "SCXTNUM_EL0"),
    detail::entry(3, 3, 13, 2, 0, "AMCR_EL0"),
    detail::entry(3, 3, 13, 2, 1, "AMCFGR_EL0"),
    detail::entry(3, 3, 13, 2, 2, "AMCGCR_EL0"),
    detail::entry(3, 3, 13, 2, 3, "AMUSERENR_EL0"),
    detail::entry(3, 3, 13, 2, 4, "AMCNTENCLR0_EL0"),
    detail::entry(3, 3, 13, 2, 5, "AMCNTENSET0_EL0"),
    detail::entry(3, 3, 13, 3, 0, "AMCNTENCLR1_EL0"),
    detail::entry(3, 3, 13, 3, 1, "AMCNTENSET1_EL0"),
    detail::entry(3, 3, 14, 0, 0, "CNTFRQ_EL0"),
    detail::entry(3, 3, 14, 0, 1, "CNTPCT_EL0"),
    detail::entry(3, 3, 14, 0, 2, "CNTVCT_EL0"),
    detail::entry(3, 3, 14, 0, 5, "CNTPCTSS_EL0"),
    detail::entry(3, 3, 14, 0, 6, "CNTVCTSS_EL0"),
    detail::entry(3, 3, 14, 2, 0, "CNTP_TVAL_EL0"),
    detail::entry(3, 3, 14, 2, 1, "CNTP_CTL_EL0"),
    detail::entry(3, 3, 14, 2, 2, "CNTP_CVAL_EL0"),
    detail::entry(3, 3, 14, 3, 0, "CNTV_TVAL_EL0"),
    detail::entry(3, 3, 14, 3, 1, "CNTV_CTL_EL0"),
    detail::entry(3, 3, 14, 3, 2, "CNTV_CVAL_EL0"),
    detail::entry(3, 3, 14, 15, 7, "PMCCFILTR_EL0"),
    // Debug (op0 2). DBGBVR<n> and friends are named by rule.
    detail::entry(2, 0, 0, 0, 2, "OSDTRRX_EL1"),
    detail::entry(2, 0, 0, 2, 0, "MDCCINT_EL1"),
    detail::entry(2, 0, 0, 2, 2, "MDSCR_EL1"),
    detail::entry(2, 0, 0, 3, 2, "OSDTRTX_EL1"),
    detail::entry(2, 0, 0, 6, 2, "OSECCR_EL1"),
    detail::entry(2, 0, 1, 0, 0, "MDRAR_EL1"),
    detail::entry(2, 0, 1, 0, 4, "OSLAR_EL1"),
    detail::entry(2, 0, 1, 1, 4, "OSLSR_EL1"),
    detail::entry(2, 0, 1, 3, 4, "OSDLR_EL1"),
    detail::entry(2, 0, 1, 4, 4, "DBGPRCR_EL1"),
    detail::entry(2, 0, 7, 8, 6, "DBGCLAIMSET_EL1"),
    detail::entry(2, 0, 7, 9, 6, "DBGCLAIMCLR_EL1"),
    detail::entry(2, 0, 7, 14, 6, "DBGAUTHSTATUS_EL1"),
    detail::entry(2, 3, 0, 1, 0, "MDCCSR_EL0"),
    detail::entry(2, 3, 0, 4, 0, "DBGDTR_EL0"),
    detail::entry(2, 3, 0, 5, 0, "DBGDTRRX_EL0"),
    // SYS instructions (op0 1): cache maintenance by set/way (HCR_EL2.TSW),
    // by VA, address translation, TLB maintenance.
    detail::entry(1, 0, 7, 1, 0, "IC IALLUIS"),
    detail::entry(1, 0, 7, 5, 0, "IC IALLU"),
    detail::entry(1, 0, 7, 6, 1, "DC IVAC"),
    detail::entry(1, 0, 7, 6, 2, "DC ISW"),
    detail::entry(1, 0, 7, 8, 0, "AT S1E1R"),
    detail::entry(1, 0, 7, 8, 1, "AT S1E1W"),
    detail::entry(1, 0, 7, 8, 2, "AT S1E0R"),
    detail::entry(1, 0, 7, 8, 3, "AT S1E0W"),
    detail::entry(1, 0, 7, 9, 0, "AT S1E1RP"),
    detail::entry(1, 0, 7, 9, 1, "AT S1E1WP"),
    detail::entry(1, 0, 7, 10, 2, "DC CSW"),
    detail::entry(1, 0, 7, 14, 2, "DC CISW"),
    detail::entry(1, 0, 8, 3, 0, "TLBI VMALLE1IS"),
    detail::entry(1, 0, 8, 3, 1, "TLBI VAE1IS"),
    detail::entry(1, 0, 8, 3, 2, "TLBI ASIDE1IS"),
    detail::entry(1, 0, 8, 3, 3, "TLBI VAAE1IS"),
    detail::entry(1, 0, 8, 3, 5, "TLBI VALE1IS"),
    detail::entry(1, 0, 8, 3, 7, "TLBI VAALE1IS"),
    detail::entry(1, 0, 8, 7, 0, "TLBI VMALLE1"),
    detail::entry(1, 0, 8, 7, 1, "TLBI VAE1"),
    detail::entry(1, 0, 8, 7, 2, "TLBI ASIDE1"),
    detail::entry(1, 0, 8, 7, 3, "TLBI VAAE1"),
    detail::entry(1, 0, 8, 7, 5, "TLBI VALE1"),
    detail::entry(1, 0, 8, 7, 7, "TLBI VAALE1"),
    detail::entry(1, 3, 7, 4, 1, "DC ZVA"),
    detail::entry(1, 3, 7, 5, 1, "IC IVAU"),
    detail::entry(1, 3, 7, 10, 1, "DC CVAC"),
    detail::entry(1, 3, 7, 11, 1, "DC CVAU"),
    detail::entry(1, 3, 7, 12, 1, "DC CVAP"),
    detail::entry(1, 3, 7, 14, 1, "DC CIVAC"),
});

// The fixed name of `id`, or nullptr (numbered families and unknown
// encodings: see format_sys_reg_name()).
[[nodiscard]] constexpr const char* sys_reg_name(arch::SysRegId id) {
  for (const SysRegNameEntry& e : kSysRegNames)
    if (e.encoding == static_cast<uint32_t>(id)) return e.name;
  return nullptr;
}

namespace detail {

using namespace std::string_view_literals;

constexpr void put_decimal(fmt::Buffer& out, unsigned v) {
  if (v >= 10) put_decimal(out, v / 10);
  out.put(static_cast<char>('0' + v % 10));
}

// The numbered register families, named by rule:
//   DBGBVR<n>_EL1 (2, 0, 0, n, 4), DBGBCR<n>_EL1 (.., 5), DBGWVR<n>_EL1 (.., 6),
//   DBGWCR<n>_EL1 (.., 7)                         D23.3 "Debug registers"
//   PMEVCNTR<n>_EL0 (3, 3, 14, 8 + n / 8, n % 8), n 0-30
//   PMEVTYPER<n>_EL0 (3, 3, 14, 12 + n / 8, n % 8), n 0-30 (n 31 is PMCCFILTR_EL0)
//   ICC_AP0R<n>_EL1 (3, 0, 12, 8, 4 + n), ICC_AP1R<n>_EL1 (3, 0, 12, 9, n), n 0-3
constexpr bool put_family_name(fmt::Buffer& out, SysRegFields f) {
  if (f.op0 == 2 && f.op1 == 0 && f.crn == 0 && f.op2 >= 4) {
    constexpr std::string_view kDebug[] = {"DBGBVR"sv, "DBGBCR"sv, "DBGWVR"sv, "DBGWCR"sv};
    out.put(kDebug[f.op2 - 4]);
    put_decimal(out, f.crm);
    out.put("_EL1"sv);
    return true;
  }
  if (f.op0 == 3 && f.op1 == 3 && f.crn == 14 && f.crm >= 8) {
    const unsigned n = (f.crm & 0b11u) * 8u + f.op2;
    if (n == 31) return false;  // PMCCFILTR_EL0, in the table
    out.put(f.crm < 12 ? "PMEVCNTR"sv : "PMEVTYPER"sv);
    put_decimal(out, n);
    out.put("_EL0"sv);
    return true;
  }
  if (f.op0 == 3 && f.op1 == 0 && f.crn == 12 && ((f.crm == 8 && f.op2 >= 4) || (f.crm == 9 && f.op2 < 4))) {
    out.put(f.crm == 8 ? "ICC_AP0R"sv : "ICC_AP1R"sv);
    put_decimal(out, f.crm == 8 ? f.op2 - 4u : f.op2);
    out.put("_EL1"sv);
    return true;
  }
  return false;
}

inline constexpr std::string_view kCrPrefix = "_C"sv;

}  // namespace detail

// Writes the register's name: the table's, a family name, or the generic
// S<op0>_<op1>_C<n>_C<m>_<op2> (e.g. "S3_0_C15_C2_0").
constexpr void format_sys_reg_name(fmt::Buffer& out, arch::SysRegId id) {
  if (const char* name = sys_reg_name(id)) {
    fmt::format_value(out, name, fmt::Spec{});
    return;
  }
  const SysRegFields f = sys_reg_fields(id);
  if (detail::put_family_name(out, f)) return;
  out.put('S');
  detail::put_decimal(out, f.op0);
  out.put('_');
  detail::put_decimal(out, f.op1);
  out.put(detail::kCrPrefix);
  detail::put_decimal(out, f.crn);
  out.put(detail::kCrPrefix);
  detail::put_decimal(out, f.crm);
  out.put('_');
  detail::put_decimal(out, f.op2);
}

// Room for any name with its NUL: the longest are 17 characters
// ("DBGAUTHSTATUS_EL1"; the generic form is at most "S3_7_C15_C15_7").
inline constexpr size_t kSysRegNameMax = 32;

// The name of (op0, op1, CRn, CRm, op2) into `buf` (NUL-terminated, cut to
// fit `size`); returns `buf`.
inline const char* system_register_name(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2,
                                        char* buf, size_t size) {
  fmt::Buffer out(buf, size);
  format_sys_reg_name(out, sys_reg_id(op0, op1, crn, crm, op2));
  return buf;
}

// For log lines: LOG_WARN("... {} ...", SysRegName{access.encoding()}).
struct SysRegName {
  arch::SysRegId id;
};

constexpr void format_value(fmt::Buffer& out, const SysRegName& reg, const fmt::Spec& spec) {
  char text[kSysRegNameMax] = {};
  fmt::Buffer name(text, sizeof text);
  format_sys_reg_name(name, reg.id);
  fmt::format_value(out, name.view(), spec);
}

}  // namespace lamina::hyp
