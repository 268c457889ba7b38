// ESR_EL1, the syndrome a guest's EL1 reads. DDI 0487 K.a D23.2 "ESR_EL1":
// the same layout as ESR_EL2 (EC[31:26], IL[25], ISS[24:0], ISS2[55:32]), so
// the field list is arch/esr.hpp's, declared once; a separate type keeps an
// EL1 syndrome (built for injection) from being mistaken for an exit's.
#pragma once

#include "arch/esr.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

struct EsrEl1 : RegisterValue<EsrEl1> {
  LAMINA_REGISTER_BODY(EsrEl1, "ESR_EL1", 0, 0, LAMINA_ESR_EL2_FIELDS)
};

}  // namespace lamina::arch
