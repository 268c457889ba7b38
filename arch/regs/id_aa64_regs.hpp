// More AArch64 ID registers, for the guest's sanitized view (hyp/trap/
// id_registers): DDI 0487 K.a D23.2 "ID_AA64PFR1_EL1", "ID_AA64ISAR0_EL1",
// "ID_AA64ISAR1_EL1", "ID_AA64ISAR2_EL1". The ones lamina itself reads
// (PFR0, DFR0, MMFR0-2) are in arch/regs/id_regs.hpp.
//
// Every field here is unsigned (a larger value means more) unless noted.
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

// MTE_frac [43:40] is not a plain "0 = absent" field: 0b0000 means
// asynchronous tag check faults are supported, 0b1111 that they are not; it
// is meaningful only with MTE >= 0b0010.
#define LAMINA_ID_AA64PFR1_FIELDS(X) \
  X(bt, 3, 0, uint64_t)              \
  X(ssbs, 7, 4, uint64_t)            \
  X(mte, 11, 8, uint64_t)            \
  X(ras_frac, 15, 12, uint64_t)      \
  X(mpam_frac, 19, 16, uint64_t)     \
  X(sme, 27, 24, uint64_t)           \
  X(rndr_trap, 31, 28, uint64_t)     \
  X(csv2_frac, 35, 32, uint64_t)     \
  X(nmi, 39, 36, uint64_t)           \
  X(mte_frac, 43, 40, uint64_t)      \
  X(gcs, 47, 44, uint64_t)           \
  X(the, 51, 48, uint64_t)           \
  X(mtex, 55, 52, uint64_t)          \
  X(df2, 59, 56, uint64_t)           \
  X(pfar, 63, 60, uint64_t)

struct IdAa64Pfr1 : RegisterValue<IdAa64Pfr1> {
  LAMINA_REGISTER_BODY(IdAa64Pfr1, "ID_AA64PFR1_EL1", 0, 0, LAMINA_ID_AA64PFR1_FIELDS)
};

#define LAMINA_ID_AA64ISAR0_FIELDS(X) \
  X(aes, 7, 4, uint64_t)              \
  X(sha1, 11, 8, uint64_t)            \
  X(sha2, 15, 12, uint64_t)           \
  X(crc32, 19, 16, uint64_t)          \
  X(atomic, 23, 20, uint64_t)         \
  X(tme, 27, 24, uint64_t)            \
  X(rdm, 31, 28, uint64_t)            \
  X(sha3, 35, 32, uint64_t)           \
  X(sm3, 39, 36, uint64_t)            \
  X(sm4, 43, 40, uint64_t)            \
  X(dp, 47, 44, uint64_t)             \
  X(fhm, 51, 48, uint64_t)            \
  X(ts, 55, 52, uint64_t)             \
  X(tlb, 59, 56, uint64_t)            \
  X(rndr, 63, 60, uint64_t)

struct IdAa64Isar0 : RegisterValue<IdAa64Isar0> {
  LAMINA_REGISTER_BODY(IdAa64Isar0, "ID_AA64ISAR0_EL1", 0, 0, LAMINA_ID_AA64ISAR0_FIELDS)
};

// Pointer authentication levels of APA/API (and ISAR2.APA3): 0b0101 is
// FEAT_FPACCOMBINE, 0b0110 FEAT_PAuth_LR (which adds PSTATE.PACM).
inline constexpr uint64_t kPauthFpacCombine = 0b0101;

#define LAMINA_ID_AA64ISAR1_FIELDS(X) \
  X(dpb, 3, 0, uint64_t)              \
  X(apa, 7, 4, uint64_t)              \
  X(api, 11, 8, uint64_t)             \
  X(jscvt, 15, 12, uint64_t)          \
  X(fcma, 19, 16, uint64_t)           \
  X(lrcpc, 23, 20, uint64_t)          \
  X(gpa, 27, 24, uint64_t)            \
  X(gpi, 31, 28, uint64_t)            \
  X(frintts, 35, 32, uint64_t)        \
  X(sb, 39, 36, uint64_t)             \
  X(specres, 43, 40, uint64_t)        \
  X(bf16, 47, 44, uint64_t)           \
  X(dgh, 51, 48, uint64_t)            \
  X(i8mm, 55, 52, uint64_t)           \
  X(xs, 59, 56, uint64_t)             \
  X(ls64, 63, 60, uint64_t)

struct IdAa64Isar1 : RegisterValue<IdAa64Isar1> {
  LAMINA_REGISTER_BODY(IdAa64Isar1, "ID_AA64ISAR1_EL1", 0, 0, LAMINA_ID_AA64ISAR1_FIELDS)
};

#define LAMINA_ID_AA64ISAR2_FIELDS(X) \
  X(wfxt, 3, 0, uint64_t)             \
  X(rpres, 7, 4, uint64_t)            \
  X(gpa3, 11, 8, uint64_t)            \
  X(apa3, 15, 12, uint64_t)           \
  X(mops, 19, 16, uint64_t)           \
  X(bc, 23, 20, uint64_t)             \
  X(pac_frac, 27, 24, uint64_t)       \
  X(clrbhb, 31, 28, uint64_t)         \
  X(sysreg_128, 35, 32, uint64_t)     \
  X(sysinstr_128, 39, 36, uint64_t)   \
  X(prfmslc, 43, 40, uint64_t)        \
  X(pcdphint, 47, 44, uint64_t)       \
  X(rprfm, 51, 48, uint64_t)          \
  X(cssc, 55, 52, uint64_t)           \
  X(lut, 59, 56, uint64_t)            \
  X(ats1a, 63, 60, uint64_t)

struct IdAa64Isar2 : RegisterValue<IdAa64Isar2> {
  LAMINA_REGISTER_BODY(IdAa64Isar2, "ID_AA64ISAR2_EL1", 0, 0, LAMINA_ID_AA64ISAR2_FIELDS)
};

}  // namespace lamina::arch
