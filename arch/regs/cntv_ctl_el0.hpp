// CNTV_CTL_EL0, Counter-timer Virtual Timer Control, and CNTP_CTL_EL0,
// Counter-timer Physical Timer Control, which has the same fields
// (DDI 0487 K.a D23.8 "CNTV_CTL_EL0", "CNTP_CTL_EL0").
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_CNTV_CTL_EL0_FIELDS(X) \
  X(enable, 0, 0, bool)               \
  X(imask, 1, 1, bool)                \
  X(istatus, 2, 2, bool)

struct CntvCtlEl0 : RegisterValue<CntvCtlEl0> {
  LAMINA_REGISTER_BODY(CntvCtlEl0, "CNTV_CTL_EL0", 0, 0, LAMINA_CNTV_CTL_EL0_FIELDS)

  // The timer asserts its interrupt: enabled, the condition met (ISTATUS),
  // and not masked (DDI 0487 K.a D12.2.4 "The timer condition").
  [[nodiscard]] constexpr bool interrupt_asserted() const {
    return get(enable) && get(istatus) && !get(imask);
  }
};

// CNTHP_CTL_EL2, Counter-timer Hypervisor Physical Timer Control: the same
// layout (DDI 0487 K.a D23.8 "CNTHP_CTL_EL2").
struct CnthpCtlEl2 : RegisterValue<CnthpCtlEl2> {
  LAMINA_REGISTER_BODY(CnthpCtlEl2, "CNTHP_CTL_EL2", 0, 0, LAMINA_CNTV_CTL_EL0_FIELDS)
};

// The EL1 physical timer's control: the same fields, declared once above.
struct CntpCtlEl0 : RegisterValue<CntpCtlEl0> {
  LAMINA_REGISTER_BODY(CntpCtlEl0, "CNTP_CTL_EL0", 0, 0, LAMINA_CNTV_CTL_EL0_FIELDS)

  // As CntvCtlEl0::interrupt_asserted (D12.2.4 "The timer condition").
  [[nodiscard]] constexpr bool interrupt_asserted() const {
    return get(enable) && get(istatus) && !get(imask);
  }
};

}  // namespace lamina::arch
