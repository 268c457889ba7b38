// The state a vCPU owns, in the layouts the assembly uses (offsets in the
// generated asm_offsets.h): the general registers saved on every exit, the
// EL1 system registers and the FP/SIMD registers switched only when the vCPU
// is loaded onto or taken off its physical CPU.
//
// Exit path (hyp/guest_entry.S): only GuestRegs is saved; the EL1 system
// registers and FP/SIMD stay live in the CPU while lamina handles the exit,
// because a vCPU is pinned to its CPU and lamina itself touches neither
// (EL2 code is built with -mgeneral-regs-only). Handlers that need an EL1
// register (injecting an exception, reading the virtual timer) read the live
// register.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lamina::hyp {

class Vcpu;

struct GuestRegs {
  uint64_t x[31];   // x0..x30
  uint64_t pc;      // ELR_EL2: where the guest resumes
  uint64_t pstate;  // SPSR_EL2: the guest's PSTATE
  Vcpu* vcpu;       // the owner, for the exit path's C++ entry points
};
static_assert(sizeof(GuestRegs) % 16 == 0);
static_assert(offsetof(GuestRegs, pstate) == offsetof(GuestRegs, pc) + 8, "guest_run loads them as a pair");

// Every EL1/EL0 system register a guest can change that lamina switches, in
// one list (DDI 0487 K.a D23 "AArch64 System Register Descriptions"). The
// assembler name is what MRS/MSR take.
#define LAMINA_VCPU_EL1_REGS(X) \
  X(sctlr_el1)                  \
  X(actlr_el1)                  \
  X(cpacr_el1)                  \
  X(ttbr0_el1)                  \
  X(ttbr1_el1)                  \
  X(tcr_el1)                    \
  X(mair_el1)                   \
  X(amair_el1)                  \
  X(vbar_el1)                   \
  X(contextidr_el1)             \
  X(tpidr_el0)                  \
  X(tpidrro_el0)                \
  X(tpidr_el1)                  \
  X(esr_el1)                    \
  X(far_el1)                    \
  X(afsr0_el1)                  \
  X(afsr1_el1)                  \
  X(par_el1)                    \
  X(cntkctl_el1)                \
  X(csselr_el1)                 \
  X(mdscr_el1)                  \
  X(sp_el0)                     \
  X(sp_el1)                     \
  X(elr_el1)                    \
  X(spsr_el1)                   \
  X(cntv_ctl_el0)               \
  X(cntv_cval_el0)              \
  X(cntp_ctl_el0)               \
  X(cntp_cval_el0)

struct El1State {
#define LAMINA_EL1_FIELD(name) uint64_t name;
  LAMINA_VCPU_EL1_REGS(LAMINA_EL1_FIELD)
#undef LAMINA_EL1_FIELD
};

// Q0-Q31, FPSR, FPCR (DDI 0487 K.a C1.2.6 "SIMD and floating-point registers").
struct alignas(16) FpsimdState {
  uint64_t q[32][2];
  uint64_t fpsr;
  uint64_t fpcr;
};
static_assert(offsetof(FpsimdState, fpsr) == 32 * 16 && offsetof(FpsimdState, fpcr) == offsetof(FpsimdState, fpsr) + 8);

}  // namespace lamina::hyp
