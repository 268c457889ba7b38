// WFI (HCR_EL2.TWI): the vCPU has nothing to do until an interrupt would
// wake it. A VM with a virtual GIC waits in hyp/vgic_el2 (vgic_wfi_wait).
// Without one (a GICv2 host, for now) the one wake-up source is the
// virtual timer: WFI returns once the timer condition holds
// (DDI 0487 K.a D12.2.4 "The timer condition": ENABLE, not IMASK,
// ISTATUS), and WFI's wake-up does not depend on PSTATE.I. Meanwhile the
// physical CPU sleeps in WFE: the counter's event stream (CNTHCTL_EL2)
// bounds each sleep, and SEV from a VM stop or reset wakes it at once.
// WFE is not trapped.
#include "arch/barrier.hpp"
#include "hyp/exit.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"

namespace lamina::hyp {

ExitAction handle_wfx(Vcpu& vcpu, arch::EsrEl2 esr) {
  ++vcpu.stats.wfi;
  skip_instruction(vcpu, esr);
  return handle_wfi_wait(vcpu);
}

ExitAction handle_wfi_wait(Vcpu& vcpu) {
  if (vcpu.vm().has_vgic) return vgic_wfi_wait(vcpu);
  while (!vtimer_interrupt_asserted() && !ptimer_interrupt_asserted()) {
    if (vcpu.vm().state() != VmState::kRunning) return ExitAction::kLeave;
    arch::wfe();
  }
  return ExitAction::kResume;
}

}  // namespace lamina::hyp
