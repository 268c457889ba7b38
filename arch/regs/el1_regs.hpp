// The few EL1 registers lamina programs itself: only on the wrong-EL path,
// where it was started at EL1 and must still reach the console (see
// boot/wrong_el.cpp); SCTLR_EL1 is also read from a guest when an exception
// is injected (SPAN, DSSBS: hyp/trap/fault_injection).
// DDI 0487 K.a D23.2 "CPACR_EL1", "SCTLR_EL1", "TCR_EL1".
#pragma once

#include "arch/regs/common.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

// CPACR_EL1.FPEN: 0b11 = FP/SIMD not trapped at EL1 or EL0.
inline constexpr uint64_t kCpacrFpenNoTrap = 0b11;

#define LAMINA_CPACR_EL1_FIELDS(X) \
  X(zen, 17, 16, uint64_t)         \
  X(fpen, 21, 20, uint64_t)        \
  X(smen, 25, 24, uint64_t)        \
  X(tta, 28, 28, bool)

struct CpacrEl1 : RegisterValue<CpacrEl1> {
  LAMINA_REGISTER_BODY(CpacrEl1, "CPACR_EL1", 0, 0, LAMINA_CPACR_EL1_FIELDS)
};

#define LAMINA_SCTLR_EL1_FIELDS(X) \
  X(m, 0, 0, bool)                 \
  X(a, 1, 1, bool)                 \
  X(c, 2, 2, bool)                 \
  X(sa, 3, 3, bool)                \
  X(sa0, 4, 4, bool)               \
  X(i, 12, 12, bool)               \
  X(wxn, 19, 19, bool)             \
  X(span, 23, 23, bool)            \
  X(e0e, 24, 24, bool)             \
  X(ee, 25, 25, bool)              \
  X(dssbs, 44, 44, bool)

struct SctlrEl1 : RegisterValue<SctlrEl1> {
  // RES1 without FEAT_ExS, FEAT_CSV2_2, FEAT_IESB, FEAT_LSMAOC.
  static constexpr uint64_t kRes1Bits =
      (1ull << 11) | (1ull << 20) | (1ull << 22) | (1ull << 28) | (1ull << 29);
  LAMINA_REGISTER_BODY(SctlrEl1, "SCTLR_EL1", 0, kRes1Bits, LAMINA_SCTLR_EL1_FIELDS)
};

// TCR_EL1.TG1 encoding. WARNING: differs from TG0 (Tg0): 4K is 0b10 here.
enum class Tg1 : uint64_t {
  k16K = 0b01,
  k4K = 0b10,
  k64K = 0b11,
};

#define LAMINA_TCR_EL1_FIELDS(X)        \
  X(t0sz, 5, 0, uint64_t)               \
  X(epd0, 7, 7, bool)                   \
  X(irgn0, 9, 8, WalkCacheability)      \
  X(orgn0, 11, 10, WalkCacheability)    \
  X(sh0, 13, 12, Shareability)          \
  X(tg0, 15, 14, Tg0)                   \
  X(t1sz, 21, 16, uint64_t)             \
  X(a1, 22, 22, bool)                   \
  X(epd1, 23, 23, bool)                 \
  X(irgn1, 25, 24, WalkCacheability)    \
  X(orgn1, 27, 26, WalkCacheability)    \
  X(sh1, 29, 28, Shareability)          \
  X(tg1, 31, 30, Tg1)                   \
  X(ips, 34, 32, PhysAddrSize)          \
  X(as, 36, 36, bool)                   \
  X(tbi0, 37, 37, bool)                 \
  X(tbi1, 38, 38, bool)

struct TcrEl1 : RegisterValue<TcrEl1> {
  LAMINA_REGISTER_BODY(TcrEl1, "TCR_EL1", 0, 0, LAMINA_TCR_EL1_FIELDS)
};

}  // namespace lamina::arch
