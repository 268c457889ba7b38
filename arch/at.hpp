// Address translation instructions (AT) as named functions. EL2-only.
// DDI 0487 K.a C5.5 "A64 System instructions for address translation"
// ("AT S12E1R", "AT S12E1W") and D23.2 "PAR_EL1" for the result.
//
// AT S12E1R/W translate an EL1&0 virtual address through stage 1 and then
// stage 2, as the guest's read or write would, and write the outcome to
// PAR_EL1 instead of accessing memory or taking an exception. Executed at
// EL2 they report stage-2 faults in PAR_EL1 too. With HCR_EL2.VM = 0 they
// behave as AT S1E1R/W (no stage 2). The instruction may use cached TLB
// entries for the VMID in VTTBR_EL2, so a caller that changed the tables
// must have done its TLB maintenance first.
#pragma once

#if !defined(__aarch64__)
#error "arch/at.hpp is EL2-only"
#endif

#include <cstdint>

#include "arch/barrier.hpp"
#include "arch/sysreg.hpp"

namespace lamina::arch {

// Starts a stage 1+2 translation of `el1_va` as a read; the result lands in
// PAR_EL1 (read it with at_result()).
inline void at_s12e1r(uint64_t el1_va) { asm volatile("at s12e1r, %0" ::"r"(el1_va) : "memory"); }

// Same, as a write (a read-only mapping gives a permission fault).
inline void at_s12e1w(uint64_t el1_va) { asm volatile("at s12e1w, %0" ::"r"(el1_va) : "memory"); }

// The PAR_EL1 written by the last AT on this CPU. The ISB is required: the
// AT's write of PAR_EL1 is only guaranteed visible to a later direct read
// after a context synchronization event (DDI 0487 K.a D23.2 "PAR_EL1", and
// "Synchronization requirements for AArch64 System registers").
[[nodiscard]] inline ParEl1 at_result() {
  isb();
  return read<ParEl1>();
}

// at_s12e1r() + at_result().
[[nodiscard]] inline ParEl1 translate_s12e1r(uint64_t el1_va) {
  at_s12e1r(el1_va);
  return at_result();
}

// at_s12e1w() + at_result().
[[nodiscard]] inline ParEl1 translate_s12e1w(uint64_t el1_va) {
  at_s12e1w(el1_va);
  return at_result();
}

}  // namespace lamina::arch
