// The ID registers a guest sees.
//
// HCR_EL2.TID3 traps EL1 reads of the ID register space op0 3, op1 0, CRn 0,
// CRm 1-7 (DDI 0487 K.a D23.2 "HCR_EL2", TID3; the unallocated encodings of
// that space are trapped too and read as zero). The EL2 caller reads the
// CPU's own value of the register and hands it here with the VM's policy;
// the result is what the guest's MRS returns.
//
// Rules, field by field (the function comments in id_registers.cpp say why
// for each register):
//  - What lamina does not virtualize reads as "not implemented", using each
//    field's own encoding of that (0 for almost all; a few signed fields or
//    IMPLEMENTATION DEFINED values are handled case by case): SVE, SME, MTE,
//    SPE, TRBE and trace, AMU, MPAM, PMU (unless the policy offers one),
//    EL2 and Secure EL2, RME, nested virtualization, LORegions, the GIC
//    system-register interface (unless offered), pointer authentication
//    (unless offered), and every feature that adds EL1 state or EL2 controls
//    lamina does not handle (NMI, GCS, THE, LS64, MOPS, WFxT, TME, 128-bit
//    system registers, FEAT_TCR2/SCTLR2/S1PIE/S1POE and the rest of
//    ID_AA64MMFR3/4, FP8, RAS beyond v1).
//  - Some fields are capped at a level lamina supports (DebugVer at
//    Armv8.0, CSV2 at 1, HAFDBS at DBM, ECV at 1, PARange at the VM's IPA
//    size).
//  - Fields not named at all, in an AArch64 register, read as 0: a future
//    feature stays hidden until someone decides otherwise (Linux treats
//    fields it does not describe the same way, as RES0).
//  - The AArch32 ID registers (CRm 1-3) are the CPU's, when the guest may run
//    AArch32 at EL0, and zero otherwise.
#pragma once

#include <cstdint>

#include "arch/esr.hpp"

#include "hyp/lib/result.hpp"
#include "hyp/trap/fault_injection.hpp"
#include "hyp/trap/sysreg_encoding.hpp"

namespace lamina::hyp {

// What one VM is offered.
struct IdRegisterPolicy {
  // The VM's IPA size: ID_AA64MMFR0_EL1.PARange reports the largest
  // encoding not above it (and not above the CPU's own).
  unsigned ipa_bits = 40;
  // A GICv3 system-register CPU interface (ID_AA64PFR0_EL1.GIC = 1).
  bool gic_sysreg = false;
  // A virtual PMU (ID_AA64DFR0_EL1.PMUVer as the CPU's).
  bool pmu = false;
  // Pointer authentication (HCR_EL2.API/APK set and the keys switched):
  // APA/API/APA3 up to FEAT_FPACCOMBINE, GPA/GPI/GPA3, PAC_frac.
  bool pointer_auth = false;
  // AArch32 at EL0. Set it only when the CPU has it (ID_AA64PFR0_EL1.EL0 ==
  // 0b0010): the AArch32 ID registers are then the CPU's, else they read as
  // zero and ID_AA64PFR0_EL1.EL0 says AArch64 only.
  bool aarch32_el0 = false;
};

// The default policy for a VM with `ipa_bits` of IPA space: nothing optional.
[[nodiscard]] constexpr IdRegisterPolicy id_register_policy(unsigned ipa_bits) {
  IdRegisterPolicy p;
  p.ipa_bits = ipa_bits;
  return p;
}

// True for op0 3, op1 0, CRn 0, CRm 1-7: the space HCR_EL2.TID3 traps.
[[nodiscard]] constexpr bool is_id_register_space(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm) {
  return op0 == 3 && op1 == 0 && crn == 0 && crm >= 1 && crm <= 7;
}

// The guest's value of ID register (3, 0, 0, crm, op2), given the CPU's value
// `host_value` (0 for an unallocated encoding is fine: the result is 0
// there anyway). Outside CRm 1-7 the result is 0. Pure.
[[nodiscard]] uint64_t sanitize_id_register(uint32_t crm, uint32_t op2, uint64_t host_value,
                                            const IdRegisterPolicy& policy);

enum class IdRegisterError : uint8_t {
  kNotIdRegister,  // outside op0 3, op1 0, CRn 0, CRm 1-7
};

// sanitize_id_register() keyed by the trapped encoding.
[[nodiscard]] Result<uint64_t, IdRegisterError> guest_id_register(arch::SysRegId id, uint64_t host_value,
                                                                  const IdRegisterPolicy& policy);

// The guest's view of the PSTATE features exception entry changes (for
// hyp/trap/fault_injection), from the CPU's ID_AA64PFR1_EL1,
// ID_AA64MMFR1_EL1 and ID_AA64MMFR2_EL1 as sanitized under `policy`.
[[nodiscard]] GuestPstateFeatures guest_pstate_features(uint64_t host_pfr1, uint64_t host_mmfr1,
                                                        uint64_t host_mmfr2, const IdRegisterPolicy& policy);

}  // namespace lamina::hyp
