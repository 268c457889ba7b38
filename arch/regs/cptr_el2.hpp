// CPTR_EL2, Architectural Feature Trap Register (EL2), layout for
// HCR_EL2.E2H == 0. DDI 0487 K.a D23.2 "CPTR_EL2". RES1: bits 13, 9, 7:0.
// TZ and TSM are RES1 when SVE / SME are absent, so lamina always sets them.
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_CPTR_EL2_FIELDS(X) \
  X(tz, 8, 8, bool)               \
  X(tfp, 10, 10, bool)            \
  X(tsm, 12, 12, bool)            \
  X(tta, 20, 20, bool)            \
  X(tam, 30, 30, bool)            \
  X(tcpac, 31, 31, bool)

struct CptrEl2 : RegisterValue<CptrEl2> {
  static constexpr uint64_t kRes1Bits = (1ull << 13) | (1ull << 9) | 0xffull;
  LAMINA_REGISTER_BODY(CptrEl2, "CPTR_EL2", 0, kRes1Bits, LAMINA_CPTR_EL2_FIELDS)
};

}  // namespace lamina::arch
