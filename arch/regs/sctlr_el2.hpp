// SCTLR_EL2, System Control Register (EL2), layout for HCR_EL2.E2H == 0.
// DDI 0487 K.a D23.2 "SCTLR_EL2". RES1 bits 4, 5, 11, 16, 18, 22, 23, 28, 29
// (with E2H == 0 and without FEAT_ExS, FEAT_LSMAOC and friends).
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_SCTLR_EL2_FIELDS(X) \
  X(m, 0, 0, bool)                 \
  X(a, 1, 1, bool)                 \
  X(c, 2, 2, bool)                 \
  X(sa, 3, 3, bool)                \
  X(naa, 6, 6, bool)               \
  X(i, 12, 12, bool)               \
  X(endb, 13, 13, bool)            \
  X(wxn, 19, 19, bool)             \
  X(iesb, 21, 21, bool)            \
  X(ee, 25, 25, bool)              \
  X(enda, 27, 27, bool)            \
  X(enib, 30, 30, bool)            \
  X(enia, 31, 31, bool)            \
  X(bt, 36, 36, bool)              \
  X(dssbs, 44, 44, bool)

struct SctlrEl2 : RegisterValue<SctlrEl2> {
  static constexpr uint64_t kRes1Bits = (1ull << 4) | (1ull << 5) | (1ull << 11) | (1ull << 16) |
                                        (1ull << 18) | (1ull << 22) | (1ull << 23) |
                                        (1ull << 28) | (1ull << 29);
  LAMINA_REGISTER_BODY(SctlrEl2, "SCTLR_EL2", 0, kRes1Bits, LAMINA_SCTLR_EL2_FIELDS)
};

}  // namespace lamina::arch
