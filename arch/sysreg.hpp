// System register ACCESS (MRS/MSR). EL2-only: the layouts in arch/regs/ are
// portable and host-tested; this header binds each layout type to its
// assembler name, once. Using arch::read/write with a type that has no
// binding is a compile error.
//
//   auto hcr = arch::read<HcrEl2>();
//   arch::write(hcr.with(HcrEl2::vm, true));
//
// Ordering (ISB after writes that change translation or traps) is the
// caller's named step, never hidden here.
#pragma once

#include <cstdint>

#include "arch/esr.hpp"
#include "arch/regs/cnthctl_el2.hpp"
#include "arch/regs/cntv_ctl_el0.hpp"
#include "arch/regs/cptr_el2.hpp"
#include "arch/regs/el1_regs.hpp"
#include "arch/regs/hcr_el2.hpp"
#include "arch/regs/hpfar_el2.hpp"
#include "arch/regs/id_aa64_regs.hpp"
#include "arch/regs/id_regs.hpp"
#include "arch/regs/mair.hpp"
#include "arch/regs/mdcr_el2.hpp"
#include "arch/regs/par_el1.hpp"
#include "arch/regs/plain_regs.hpp"
#include "arch/regs/pstate.hpp"
#include "arch/regs/sctlr_el2.hpp"
#include "arch/regs/stage2_desc.hpp"
#include "arch/regs/tcr_el2.hpp"
#include "arch/regs/vtcr_el2.hpp"

#if !defined(__aarch64__)
#error "arch/sysreg.hpp is EL2-only; host code must use the layouts in arch/regs/"
#endif

namespace lamina::arch {

template <typename R>
struct SysRegBinding {
  static_assert(sizeof(R) == 0, "this register type has no MRS/MSR binding in arch/sysreg.hpp");
};

#define LAMINA_BIND_SYSREG(Type, asm_name)                                   \
  template <>                                                                \
  struct SysRegBinding<Type> {                                               \
    static uint64_t read() {                                                 \
      uint64_t v;                                                            \
      asm volatile("mrs %0, " asm_name : "=r"(v));                           \
      return v;                                                              \
    }                                                                        \
    static void write(uint64_t v) { asm volatile("msr " asm_name ", %0" ::"r"(v)); } \
  };

LAMINA_BIND_SYSREG(HcrEl2, "hcr_el2")
LAMINA_BIND_SYSREG(SctlrEl2, "sctlr_el2")
LAMINA_BIND_SYSREG(TcrEl2, "tcr_el2")
LAMINA_BIND_SYSREG(Mair, "mair_el2")
LAMINA_BIND_SYSREG(Ttbr0El2, "ttbr0_el2")
LAMINA_BIND_SYSREG(VtcrEl2, "vtcr_el2")
LAMINA_BIND_SYSREG(VttbrEl2, "vttbr_el2")
LAMINA_BIND_SYSREG(CptrEl2, "cptr_el2")
LAMINA_BIND_SYSREG(MdcrEl2, "mdcr_el2")
LAMINA_BIND_SYSREG(CnthctlEl2, "cnthctl_el2")
LAMINA_BIND_SYSREG(CntvoffEl2, "cntvoff_el2")
LAMINA_BIND_SYSREG(VpidrEl2, "vpidr_el2")
LAMINA_BIND_SYSREG(VmpidrEl2, "vmpidr_el2")
LAMINA_BIND_SYSREG(VbarEl2, "vbar_el2")
LAMINA_BIND_SYSREG(TpidrEl2, "tpidr_el2")
LAMINA_BIND_SYSREG(EsrEl2, "esr_el2")
LAMINA_BIND_SYSREG(ElrEl2, "elr_el2")
LAMINA_BIND_SYSREG(FarEl2, "far_el2")
LAMINA_BIND_SYSREG(HpfarEl2, "hpfar_el2")
LAMINA_BIND_SYSREG(Spsr, "spsr_el2")
LAMINA_BIND_SYSREG(SpEl0, "sp_el0")
LAMINA_BIND_SYSREG(CurrentEl, "CurrentEL")
LAMINA_BIND_SYSREG(CntfrqEl0, "cntfrq_el0")
LAMINA_BIND_SYSREG(CntpctEl0, "cntpct_el0")
LAMINA_BIND_SYSREG(CntvCtlEl0, "cntv_ctl_el0")
LAMINA_BIND_SYSREG(CnthpCtlEl2, "cnthp_ctl_el2")
LAMINA_BIND_SYSREG(CnthpTvalEl2, "cnthp_tval_el2")
LAMINA_BIND_SYSREG(CntpCtlEl0, "cntp_ctl_el0")
LAMINA_BIND_SYSREG(IdAa64Mmfr0, "id_aa64mmfr0_el1")
LAMINA_BIND_SYSREG(IdAa64Mmfr1, "id_aa64mmfr1_el1")
LAMINA_BIND_SYSREG(IdAa64Mmfr2, "id_aa64mmfr2_el1")
LAMINA_BIND_SYSREG(IdAa64Pfr0, "id_aa64pfr0_el1")
LAMINA_BIND_SYSREG(IdAa64Pfr1, "id_aa64pfr1_el1")
LAMINA_BIND_SYSREG(IdAa64Dfr0, "id_aa64dfr0_el1")
LAMINA_BIND_SYSREG(MidrEl1, "midr_el1")
LAMINA_BIND_SYSREG(MpidrEl1, "mpidr_el1")
LAMINA_BIND_SYSREG(CtrEl0, "ctr_el0")
LAMINA_BIND_SYSREG(PmcrEl0, "pmcr_el0")
// EL1 registers: programmed on the wrong-EL path (started at EL1), and saved,
// changed and restored by the stage-2 AT self-test.
LAMINA_BIND_SYSREG(CpacrEl1, "cpacr_el1")
LAMINA_BIND_SYSREG(SctlrEl1, "sctlr_el1")
LAMINA_BIND_SYSREG(TcrEl1, "tcr_el1")
LAMINA_BIND_SYSREG(MairEl1, "mair_el1")
LAMINA_BIND_SYSREG(Ttbr0El1, "ttbr0_el1")
// The result of an AT instruction (arch/at.hpp).
LAMINA_BIND_SYSREG(ParEl1, "par_el1")

#undef LAMINA_BIND_SYSREG

template <typename R>
[[nodiscard]] inline R read() {
  return R::from_raw(SysRegBinding<R>::read());
}

template <typename R>
inline void write(R value) {
  SysRegBinding<R>::write(value.raw());
}

template <typename R, typename Fn>
inline void modify(Fn&& fn) {
  write(fn(read<R>()));
}

}  // namespace lamina::arch
