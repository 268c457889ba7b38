// GICv3 CPU interface system registers lamina decodes: ICC_SGI1R_EL1 (and
// ICC_SGI0R_EL1 / ICC_ASGI1R_EL1, which share its layout), which a guest's
// SGI generation traps to EL2 with (HCR_EL2.IMO set).
// Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4",
// "ICC_SGI1R_EL1, Interrupt Controller Software Generated Interrupt Group 1
// Register".
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

namespace lamina::arch {

// TargetList bit n selects the PE with Aff0 = RS * 16 + n in the cluster
// Aff3.Aff2.Aff1. IRM = 1 sends to every PE except the sender instead (and
// the affinity fields and TargetList are ignored).
#define LAMINA_ICC_SGI1R_EL1_FIELDS(X) \
  X(targetlist, 15, 0, uint64_t)       \
  X(aff1, 23, 16, uint64_t)            \
  X(intid, 27, 24, uint64_t)           \
  X(aff2, 39, 32, uint64_t)            \
  X(irm, 40, 40, bool)                 \
  X(rs, 47, 44, uint64_t)              \
  X(aff3, 55, 48, uint64_t)

struct IccSgi1rEl1 : RegisterValue<IccSgi1rEl1> {
  LAMINA_REGISTER_BODY(IccSgi1rEl1, "ICC_SGI1R_EL1", 0xff00'0e00'f000'0000ull, 0, LAMINA_ICC_SGI1R_EL1_FIELDS)
};

}  // namespace lamina::arch
