// MDCR_EL2, Monitor Debug Configuration Register (EL2).
// DDI 0487 K.a D23.2 "MDCR_EL2".
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_MDCR_EL2_FIELDS(X) \
  X(hpmn, 4, 0, uint64_t)         \
  X(tpmcr, 5, 5, bool)            \
  X(tpm, 6, 6, bool)              \
  X(hpme, 7, 7, bool)             \
  X(tde, 8, 8, bool)              \
  X(tda, 9, 9, bool)              \
  X(tdosa, 10, 10, bool)          \
  X(tdra, 11, 11, bool)           \
  X(e2pb, 13, 12, uint64_t)       \
  X(tpms, 14, 14, bool)           \
  X(hpmd, 17, 17, bool)           \
  X(ttrf, 19, 19, bool)           \
  X(hccd, 23, 23, bool)           \
  X(e2tb, 25, 24, uint64_t)       \
  X(hlp, 26, 26, bool)            \
  X(tdcc, 27, 27, bool)

struct MdcrEl2 : RegisterValue<MdcrEl2> {
  LAMINA_REGISTER_BODY(MdcrEl2, "MDCR_EL2", 0, 0, LAMINA_MDCR_EL2_FIELDS)
};

// PMCR_EL0, for its N field (number of event counters), which MDCR_EL2.HPMN
// must not exceed. DDI 0487 K.a D23.5 "PMCR_EL0".
#define LAMINA_PMCR_EL0_FIELDS(X) X(n, 15, 11, uint64_t)

struct PmcrEl0 : RegisterValue<PmcrEl0> {
  LAMINA_REGISTER_BODY(PmcrEl0, "PMCR_EL0", 0, 0, LAMINA_PMCR_EL0_FIELDS)
};

}  // namespace lamina::arch
