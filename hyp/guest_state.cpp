// Changing a guest's state the way the architecture would: stepping past a
// trapped instruction, writing a general register, delivering an exception
// to the guest's own vectors (the pure rules are in hyp/trap/
// fault_injection), and stopping a VM whose guest cannot go on.
#include "arch/sysreg.hpp"
#include "hyp/exit.hpp"
#include "hyp/log.hpp"
#include "hyp/trap/fault_injection.hpp"
#include "hyp/vm.hpp"
#include "mm/fault_ipa.hpp"

namespace lamina::hyp {

namespace {


// The guest's exception-entry state, from its live EL1 registers (the
// vCPU is loaded on this CPU).
GuestExceptionContext exception_context(const Vcpu& vcpu) {
  GuestExceptionContext c;
  c.pstate = arch::Spsr::from_raw(vcpu.regs.pstate);
  c.pc = vcpu.regs.pc;
  uint64_t sctlr;
  asm volatile("mrs %0, vbar_el1" : "=r"(c.vbar_el1));
  asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
  c.sctlr_el1 = arch::SctlrEl1::from_raw(sctlr);
  c.features = vcpu.vm().pstate_features;
  return c;
}

void deliver(Vcpu& vcpu, const InjectedException& e) {
  asm volatile("msr esr_el1, %0" ::"r"(e.esr_el1.raw()));
  if (e.writes_far) asm volatile("msr far_el1, %0" ::"r"(e.far_el1));
  asm volatile("msr elr_el1, %0" ::"r"(e.elr_el1));
  asm volatile("msr spsr_el1, %0" ::"r"(e.spsr_el1));
  vcpu.regs.pc = e.pc;
  vcpu.regs.pstate = e.pstate.raw();
  vcpu.injected_vector = e.pc;
}

}  // namespace

void skip_aarch32_instruction(Vcpu& vcpu, arch::EsrEl2 esr) {
  const GuestResume next =
      skip_instruction(vcpu.regs.pc, arch::Spsr::from_raw(vcpu.regs.pstate), esr.get(arch::EsrEl2::il));
  vcpu.regs.pc = next.pc;
  vcpu.regs.pstate = next.pstate.raw();
}


ExitAction inject_external_abort(Vcpu& vcpu, arch::EsrEl2 esr, uint64_t far, bool instruction) {
  // The guest's vector for this abort is itself unusable (e.g. VBAR_EL1
  // points at a hole): delivering again would loop forever.
  if (instruction && vcpu.regs.pc == vcpu.injected_vector)
    return stop_vm_on_fault(vcpu, "its exception vector cannot be fetched", esr);
  ++vcpu.stats.aborts_injected;
  const GuestExceptionContext context = exception_context(vcpu);
  const auto abort = arch::DataAbort::from(esr);
  const bool write = !instruction && abort.ok() && abort.value().is_write();
  const bool cm = !instruction && abort.ok() && abort.value().cache_maintenance();
  const auto e = instruction ? inject_instruction_abort(context, InstructionAbortFault::external_abort(far))
                             : inject_data_abort(context, DataAbortFault::external_abort(far, write, cm));
  if (!e.ok()) return stop_vm_on_fault(vcpu, "an abort cannot be delivered to it", esr);
  deliver(vcpu, e.value());
  return ExitAction::kResume;
}

ExitAction inject_undefined(Vcpu& vcpu, arch::EsrEl2 esr) {
  ++vcpu.stats.undefs_injected;
  auto e = inject_undefined_instruction(exception_context(vcpu));
  if (!e.ok()) return stop_vm_on_fault(vcpu, "an UNDEFINED exception cannot be delivered to it", esr);
  deliver(vcpu, e.value());
  return ExitAction::kResume;
}

ExitAction stop_vm_on_fault(Vcpu& vcpu, const char* what, arch::EsrEl2 esr) {
  Vm& vm = vcpu.vm();
  vcpu.save();
  const uint64_t far = arch::read<arch::FarEl2>().value();
  const mm::IntermediatePhysAddr ipa = mm::faulting_ipa(arch::read<arch::HpfarEl2>(), far);
  LOG_ERROR("vm {}: vcpu{}: {}: stopping the VM", vm.name(), vcpu.index(), what);
  LOG_ERROR("vm {}: ESR_EL2 {:08x} ({}), FAR_EL2 {:x}, faulting IPA {:x}", vm.name(), esr.raw(),
            arch::exception_class_name(esr.get(arch::EsrEl2::ec)), far, ipa.value());
  LOG_ERROR("vm {}: pc {:x} pstate {:08x} sp_el0 {:x} sp_el1 {:x}", vm.name(), vcpu.regs.pc, vcpu.regs.pstate,
            vcpu.el1.sp_el0, vcpu.el1.sp_el1);
  LOG_ERROR("vm {}: VBAR_EL1 {:x} ESR_EL1 {:08x} FAR_EL1 {:x} ELR_EL1 {:x} SPSR_EL1 {:08x} SCTLR_EL1 {:08x}", vm.name(),
            vcpu.el1.vbar_el1, vcpu.el1.esr_el1, vcpu.el1.far_el1, vcpu.el1.elr_el1, vcpu.el1.spsr_el1,
            vcpu.el1.sctlr_el1);
  for (unsigned i = 0; i < 31; i += 4) {
    if (i + 3 < 31)
      LOG_ERROR("vm {}: x{:<2} {:016x} x{:<2} {:016x} x{:<2} {:016x} x{:<2} {:016x}", vm.name(), i, vcpu.regs.x[i],
                i + 1, vcpu.regs.x[i + 1], i + 2, vcpu.regs.x[i + 2], i + 3, vcpu.regs.x[i + 3]);
    else
      LOG_ERROR("vm {}: x{:<2} {:016x} x{:<2} {:016x} x{:<2} {:016x}", vm.name(), i, vcpu.regs.x[i], i + 1,
                vcpu.regs.x[i + 1], i + 2, vcpu.regs.x[i + 2]);
  }
  vm.begin_stop("unrecoverable guest fault");
  return ExitAction::kLeave;
}

}  // namespace lamina::hyp
