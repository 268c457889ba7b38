// CNTHCTL_EL2, Counter-timer Hypervisor Control, layout for HCR_EL2.E2H == 0.
// DDI 0487 K.a D23.8 "CNTHCTL_EL2".
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_CNTHCTL_EL2_FIELDS(X) \
  X(el1pcten, 0, 0, bool)            \
  X(el1pcen, 1, 1, bool)             \
  X(evnten, 2, 2, bool)              \
  X(evntdir, 3, 3, bool)             \
  X(evnti, 7, 4, uint64_t)           \
  X(ecv, 12, 12, bool)               \
  X(el1tvt, 13, 13, bool)            \
  X(el1tvct, 14, 14, bool)           \
  X(el1nvpct, 15, 15, bool)          \
  X(el1nvvct, 16, 16, bool)          \
  X(evntis, 17, 17, bool)

struct CnthctlEl2 : RegisterValue<CnthctlEl2> {
  LAMINA_REGISTER_BODY(CnthctlEl2, "CNTHCTL_EL2", 0, 0, LAMINA_CNTHCTL_EL2_FIELDS)
};

}  // namespace lamina::arch
