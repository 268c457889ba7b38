// HPFAR_EL2, Hypervisor IPA Fault Address Register: the faulting IPA's page
// number for a stage-2 fault. DDI 0487 K.a D23.2 "HPFAR_EL2".
//
// FIPA[43:4] holds IPA[51:12] (with FEAT_LPA; without it bits [43:40] read 0
// and FIPA is effectively IPA[47:12]). NS[63] (FEAT_SEL2, Secure state only)
// is not used by lamina. The register type itself, HpfarEl2, is declared with
// the other plain registers in arch/regs/plain_regs.hpp (and bound to
// hpfar_el2 in arch/sysreg.hpp); its fields are declared once, here, typed by
// that register so HpfarEl2Layout::fipa applies to an HpfarEl2 and nothing
// else. Build the faulting IPA with mm::faulting_ipa(), never by hand.
#pragma once

#include <cstdint>

#include "arch/regs/plain_regs.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_HPFAR_EL2_FIELDS(X) \
  X(fipa, 43, 4, uint64_t)         \
  X(ns, 63, 63, bool)

struct HpfarEl2Layout {
  using Self = HpfarEl2;
  static constexpr const char* kName = "HPFAR_EL2";
  // RES0: [3:0] and [62:44] (Armv8.0 layout extended by FEAT_LPA; FEAT_D128's
  // wider FIPA[47:4] is not supported).
  static constexpr uint64_t kRes0 = bit_mask(3, 0) | bit_mask(62, 44);
  static constexpr uint64_t kRes1 = 0;
  LAMINA_HPFAR_EL2_FIELDS(LAMINA_FIELD_DECL)
  static constexpr FieldInfo kFields[] = {LAMINA_HPFAR_EL2_FIELDS(LAMINA_FIELD_INFO)};
  static_assert(no_fields_overlap(kFields), "HPFAR_EL2: fields overlap");
  static_assert((union_of_fields(kFields) & (kRes0 | kRes1)) == 0,
                "HPFAR_EL2: a field overlaps a RES0/RES1 bit");
};

}  // namespace lamina::arch
