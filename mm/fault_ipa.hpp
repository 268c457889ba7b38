// The faulting IPA of a stage-2 abort, built in exactly one place.
#pragma once

#include <cstdint>

#include "arch/regs/hpfar_el2.hpp"

#include "mm/addr.hpp"

namespace lamina::mm {

// The IPA a guest access faulted on: HPFAR_EL2.FIPA gives IPA[51:12] and
// FAR_EL2[11:0] the offset within the 4K page, so the IPA is
// (FIPA << 12) | (FAR & 0xfff).
//
// Contract: HPFAR_EL2 is valid only for a stage-2 fault taken to EL2 on a
// Data or Instruction Abort (translation, access flag or permission fault,
// and for S1PTW faults), DDI 0487 K.a D23.2 "HPFAR_EL2"; for other exceptions
// its content is UNKNOWN and the result is meaningless. The page offset from
// FAR_EL2 is meaningful only when the syndrome's FnV is clear (a far_valid()
// DataAbort/InstructionAbort). HPFAR.NS and RES0 bits are ignored. Pure;
// never fails.
[[nodiscard]] constexpr IntermediatePhysAddr faulting_ipa(arch::HpfarEl2 hpfar, uint64_t far) {
  const uint64_t page = hpfar.get(arch::HpfarEl2::fipa) << kPageShift;
  return IntermediatePhysAddr(page | (far & (kPageSize - 1)));
}

}  // namespace lamina::mm
