// HPFAR_EL2, Hypervisor IPA Fault Address Register: the faulting IPA's page
// number for a stage-2 fault. DDI 0487 K.a D23.2 "HPFAR_EL2".
//
// FIPA[43:4] holds IPA[51:12] (with FEAT_LPA; without it bits [43:40] read 0
// and FIPA is effectively IPA[47:12]). NS[63] (FEAT_SEL2, Secure state only)
// is not used by lamina. Build the faulting IPA with mm::faulting_ipa(),
// never by hand.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_HPFAR_EL2_FIELDS(X) \
  X(fipa, 43, 4, uint64_t)         \
  X(ns, 63, 63, bool)

// RES0: [3:0] and [62:44] (Armv8.0 layout extended by FEAT_LPA; FEAT_D128's
// wider FIPA[47:4] is not supported).
struct HpfarEl2 : RegisterValue<HpfarEl2> {
  LAMINA_REGISTER_BODY(HpfarEl2, "HPFAR_EL2", bit_mask(3, 0) | bit_mask(62, 44), 0, LAMINA_HPFAR_EL2_FIELDS)
};

}  // namespace lamina::arch
