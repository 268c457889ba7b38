// From the vector taken to the handler for the exception class. The table
// of routes is the switch below; docs/ARCHITECTURE.md "The trap path" shows
// it for each class.
#include "arch/sysreg.hpp"
#include "hyp/exit.hpp"
#include "hyp/exception_frame.hpp"
#include "hyp/log.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"

namespace lamina::hyp {

namespace {

ExitAction handle_sync(Vcpu& vcpu) {
  const arch::EsrEl2 esr = arch::read<arch::EsrEl2>();
  switch (esr.get(arch::EsrEl2::ec)) {
    case arch::ExceptionClass::kDataAbortLowerEl: return handle_data_abort(vcpu, esr);
    case arch::ExceptionClass::kInstructionAbortLowerEl: return handle_instruction_abort(vcpu, esr);
    case arch::ExceptionClass::kHvcAarch64:
    case arch::ExceptionClass::kSmcAarch64: return handle_hvc_smc(vcpu, esr);
    case arch::ExceptionClass::kSysRegTrap: return handle_sysreg(vcpu, esr);
    case arch::ExceptionClass::kWfxTrap: return handle_wfx(vcpu, esr);
    // Traps for state lamina hides (CPTR_EL2.TZ/TSM: SVE and SME are not in
    // the guest's ID registers): the instruction is UNDEFINED for it.
    case arch::ExceptionClass::kSveAccessTrap:
    case arch::ExceptionClass::kSmeAccessTrap:
      return inject_undefined(vcpu, esr);
    default: break;
  }
  ++vcpu.stats.other;
  return stop_vm_on_fault(vcpu, "unexpected exit", esr);
}

}  // namespace

ExitAction handle_exit(Vcpu& vcpu, uint64_t vector) {
  switch (static_cast<VectorKind>(vector)) {
    case VectorKind::kLowerElA64Sync: return handle_sync(vcpu);
    case VectorKind::kLowerElA64Irq:
    case VectorKind::kLowerElA64Fiq:
      // Physical interrupts are routed to EL2 (HCR_EL2.IMO/FMO): lamina's
      // own (the virtual timer's PPI, kicks, vGIC maintenance) when the VM
      // has a vGIC (hyp/vgic_el2); none is enabled otherwise.
      ++vcpu.stats.irq;
      if (vcpu.vm().has_vgic) vgic_handle_irqs(vcpu);
      return ExitAction::kResume;
    case VectorKind::kLowerElA64SError:
      ++vcpu.stats.other;
      return stop_vm_on_fault(vcpu, "SError from the guest", arch::read<arch::EsrEl2>());
    default: break;
  }
  ++vcpu.stats.other;
  return stop_vm_on_fault(vcpu, "exit through an unexpected vector", arch::read<arch::EsrEl2>());
}

}  // namespace lamina::hyp
