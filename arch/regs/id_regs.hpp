// The AArch64 ID registers lamina reads to decide what the CPU supports.
// DDI 0487 K.a D23.2 "ID_AA64MMFR0_EL1", "ID_AA64MMFR1_EL1",
// "ID_AA64MMFR2_EL1", "ID_AA64PFR0_EL1", "ID_AA64DFR0_EL1", "MIDR_EL1",
// "MPIDR_EL1", D23.2 "CTR_EL0".
#pragma once

#include "arch/regs/common.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_ID_AA64MMFR0_FIELDS(X) \
  X(parange, 3, 0, PhysAddrSize)      \
  X(asidbits, 7, 4, uint64_t)         \
  X(bigend, 11, 8, uint64_t)          \
  X(snsmem, 15, 12, uint64_t)         \
  X(bigendel0, 19, 16, uint64_t)      \
  X(tgran16, 23, 20, uint64_t)        \
  X(tgran64, 27, 24, uint64_t)        \
  X(tgran4, 31, 28, uint64_t)         \
  X(tgran16_2, 35, 32, uint64_t)      \
  X(tgran64_2, 39, 36, uint64_t)      \
  X(tgran4_2, 43, 40, uint64_t)       \
  X(exs, 47, 44, uint64_t)            \
  X(fgt, 59, 56, uint64_t)            \
  X(ecv, 63, 60, uint64_t)

struct IdAa64Mmfr0 : RegisterValue<IdAa64Mmfr0> {
  LAMINA_REGISTER_BODY(IdAa64Mmfr0, "ID_AA64MMFR0_EL1", 0, 0, LAMINA_ID_AA64MMFR0_FIELDS)
};

// ID_AA64MMFR1_EL1.VMIDBits encodings.
inline constexpr uint64_t kVmidBits8 = 0b0000;
inline constexpr uint64_t kVmidBits16 = 0b0010;

#define LAMINA_ID_AA64MMFR1_FIELDS(X) \
  X(hafdbs, 3, 0, uint64_t)           \
  X(vmidbits, 7, 4, uint64_t)         \
  X(vh, 11, 8, uint64_t)              \
  X(hpds, 15, 12, uint64_t)           \
  X(lo, 19, 16, uint64_t)             \
  X(pan, 23, 20, uint64_t)            \
  X(specsei, 27, 24, uint64_t)        \
  X(xnx, 31, 28, uint64_t)            \
  X(twed, 35, 32, uint64_t)           \
  X(ets, 39, 36, uint64_t)            \
  X(hcx, 43, 40, uint64_t)            \
  X(afp, 47, 44, uint64_t)            \
  X(ntlbpa, 51, 48, uint64_t)         \
  X(tidcp1, 55, 52, uint64_t)         \
  X(cmow, 59, 56, uint64_t)

struct IdAa64Mmfr1 : RegisterValue<IdAa64Mmfr1> {
  LAMINA_REGISTER_BODY(IdAa64Mmfr1, "ID_AA64MMFR1_EL1", 0, 0, LAMINA_ID_AA64MMFR1_FIELDS)
};

#define LAMINA_ID_AA64MMFR2_FIELDS(X) \
  X(cnp, 3, 0, uint64_t)              \
  X(uao, 7, 4, uint64_t)              \
  X(lsm, 11, 8, uint64_t)             \
  X(iesb, 15, 12, uint64_t)           \
  X(varange, 19, 16, uint64_t)        \
  X(ccidx, 23, 20, uint64_t)          \
  X(nv, 27, 24, uint64_t)             \
  X(st, 31, 28, uint64_t)             \
  X(at, 35, 32, uint64_t)             \
  X(ids, 39, 36, uint64_t)            \
  X(fwb, 43, 40, uint64_t)            \
  X(ttl, 51, 48, uint64_t)            \
  X(bbm, 55, 52, uint64_t)            \
  X(evt, 59, 56, uint64_t)            \
  X(e0pd, 63, 60, uint64_t)

struct IdAa64Mmfr2 : RegisterValue<IdAa64Mmfr2> {
  LAMINA_REGISTER_BODY(IdAa64Mmfr2, "ID_AA64MMFR2_EL1", 0, 0, LAMINA_ID_AA64MMFR2_FIELDS)
};

// ID_AA64PFR0_EL1.GIC: 0b0001 = GICv3/v4 system-register CPU interface.
inline constexpr uint64_t kGicSysregV3 = 0b0001;
inline constexpr uint64_t kGicSysregV41 = 0b0011;

#define LAMINA_ID_AA64PFR0_FIELDS(X) \
  X(el0, 3, 0, uint64_t)             \
  X(el1, 7, 4, uint64_t)             \
  X(el2, 11, 8, uint64_t)            \
  X(el3, 15, 12, uint64_t)           \
  X(fp, 19, 16, uint64_t)            \
  X(advsimd, 23, 20, uint64_t)       \
  X(gic, 27, 24, uint64_t)           \
  X(ras, 31, 28, uint64_t)           \
  X(sve, 35, 32, uint64_t)           \
  X(sel2, 39, 36, uint64_t)          \
  X(mpam, 43, 40, uint64_t)          \
  X(amu, 47, 44, uint64_t)           \
  X(dit, 51, 48, uint64_t)           \
  X(rme, 55, 52, uint64_t)           \
  X(csv2, 59, 56, uint64_t)          \
  X(csv3, 63, 60, uint64_t)

struct IdAa64Pfr0 : RegisterValue<IdAa64Pfr0> {
  LAMINA_REGISTER_BODY(IdAa64Pfr0, "ID_AA64PFR0_EL1", 0, 0, LAMINA_ID_AA64PFR0_FIELDS)
};

#define LAMINA_ID_AA64DFR0_FIELDS(X) \
  X(debugver, 3, 0, uint64_t)        \
  X(tracever, 7, 4, uint64_t)        \
  X(pmuver, 11, 8, uint64_t)         \
  X(brps, 15, 12, uint64_t)          \
  X(wrps, 23, 20, uint64_t)          \
  X(ctx_cmps, 31, 28, uint64_t)      \
  X(pmsver, 35, 32, uint64_t)        \
  X(doublelock, 39, 36, uint64_t)    \
  X(tracefilt, 43, 40, uint64_t)     \
  X(tracebuffer, 47, 44, uint64_t)

struct IdAa64Dfr0 : RegisterValue<IdAa64Dfr0> {
  LAMINA_REGISTER_BODY(IdAa64Dfr0, "ID_AA64DFR0_EL1", 0, 0, LAMINA_ID_AA64DFR0_FIELDS)
};

#define LAMINA_MIDR_FIELDS(X)       \
  X(revision, 3, 0, uint64_t)       \
  X(partnum, 15, 4, uint64_t)       \
  X(architecture, 19, 16, uint64_t) \
  X(variant, 23, 20, uint64_t)      \
  X(implementer, 31, 24, uint64_t)

struct MidrEl1 : RegisterValue<MidrEl1> {
  LAMINA_REGISTER_BODY(MidrEl1, "MIDR_EL1", 0, 0, LAMINA_MIDR_FIELDS)
};

// MPIDR_EL1. Bit 31 is RES1. Aff3..Aff0 identify a CPU; the DT's cpu@ `reg`
// holds the same affinity bits.
#define LAMINA_MPIDR_FIELDS(X) \
  X(aff0, 7, 0, uint64_t)      \
  X(aff1, 15, 8, uint64_t)     \
  X(aff2, 23, 16, uint64_t)    \
  X(mt, 24, 24, bool)          \
  X(u, 30, 30, bool)           \
  X(aff3, 39, 32, uint64_t)

struct MpidrEl1 : RegisterValue<MpidrEl1> {
  LAMINA_REGISTER_BODY(MpidrEl1, "MPIDR_EL1", 0, 1ull << 31, LAMINA_MPIDR_FIELDS)

  // Only the affinity fields: what identifies a CPU in the DT and PSCI.
  static constexpr uint64_t kAffinityMask = decltype(aff0)::kMask | decltype(aff1)::kMask |
                                            decltype(aff2)::kMask | decltype(aff3)::kMask;
  [[nodiscard]] constexpr uint64_t affinity() const { return raw() & kAffinityMask; }
};

#define LAMINA_CTR_EL0_FIELDS(X) \
  X(iminline, 3, 0, uint64_t)    \
  X(l1ip, 15, 14, uint64_t)      \
  X(dminline, 19, 16, uint64_t)  \
  X(erg, 23, 20, uint64_t)       \
  X(cwg, 27, 24, uint64_t)       \
  X(idc, 28, 28, bool)           \
  X(dic, 29, 29, bool)           \
  X(tminline, 37, 32, uint64_t)

struct CtrEl0 : RegisterValue<CtrEl0> {
  LAMINA_REGISTER_BODY(CtrEl0, "CTR_EL0", 0, 1ull << 31, LAMINA_CTR_EL0_FIELDS)

  // Smallest D-cache line in bytes (DminLine is log2 of the size in words).
  [[nodiscard]] constexpr uint64_t dcache_line_bytes() const { return 4ull << get(dminline); }
  [[nodiscard]] constexpr uint64_t icache_line_bytes() const { return 4ull << get(iminline); }
};

}  // namespace lamina::arch
