// HVC and trapped SMC (HCR_EL2.TSC) from a guest: both conduits serve the
// same SMCCC 1.1 / PSCI 1.1 server (hyp/lib/psci_server), and this file
// carries out what the server asks for. SMCCC: only immediate 0 is a call
// (DEN 0028 "SMC and HVC immediate value"); any other immediate returns
// NOT_SUPPORTED in x0, as Linux's KVM does.
#include "arch/sysreg.hpp"
#include "hyp/exit.hpp"
#include "hyp/host_security.hpp"
#include "hyp/lib/psci_abi.hpp"
#include "hyp/log.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vm.hpp"
#include "hyp/vm_boot.hpp"

namespace lamina::hyp {

namespace {

constexpr int64_t kNotSupported = static_cast<int64_t>(psci::Status::kNotSupported);

void set_x0(Vcpu& vcpu, int64_t value) { vcpu.regs.x[0] = static_cast<uint64_t>(value); }

// CPU_ON's entry must be guest RAM: anything else would start the vCPU in a
// hole (DEN 0022 "CPU_ON": INVALID_ADDRESS).
ExitAction start_vcpu(Vcpu& caller, const PsciResult& r) {
  Vm& vm = caller.vm();
  if (!vm.ram.contains(mm::IntermediatePhysAddr(r.entry), 4)) {
    (void)vm.psci.cancel_start(r.target_vcpu);
    set_x0(caller, static_cast<int64_t>(psci::Status::kInvalidAddress));
    return ExitAction::kResume;
  }
  vm.vcpu(r.target_vcpu).request_start(r.entry, r.context_id);
  set_x0(caller, r.x0);
  return ExitAction::kResume;
}

// Everything but the fast lane: the state machine under the VM lock, and
// what it asks for. Out of line, so that the fast lane pays for none of its
// stack frame.
[[gnu::noinline]] ExitAction serve_psci(Vcpu& vcpu);

}  // namespace

// The HVC and SMC lanes of hyp/guest_entry.S: only x0-x18 and x30 of
// `regs` are valid here (x19-x29 are still live in the CPU, and so are
// ELR_EL2 and SPSR_EL2). Each answers a stateless call and returns 0, or
// returns 1 having changed nothing: the exit then takes the full path
// (handle_hvc_smc).
extern "C" LaneResult lamina_hvc_fast(GuestRegs* regs) {
  if (arch::read<arch::EsrEl2>().get(arch::EsrEl2::iss) & arch::HvcSmcIss::imm16.kMask) return {kLaneDeclined, regs};
  Vcpu& vcpu = *regs->vcpu;
  const std::optional<int64_t> answer = vcpu.vm().psci.answer_stateless(regs->x[0], regs->x[1]);
  if (!answer) return {kLaneDeclined, regs};
  ++vcpu.stats.hvc;
  regs->x[0] = static_cast<uint64_t>(*answer);
  return {kLaneResume, regs};
}

extern "C" LaneResult lamina_smc_fast(GuestRegs* regs) {
  if (arch::read<arch::EsrEl2>().get(arch::EsrEl2::iss) & arch::HvcSmcIss::imm16.kMask) return {kLaneDeclined, regs};
  Vcpu& vcpu = *regs->vcpu;
  const std::optional<int64_t> answer = vcpu.vm().psci.answer_stateless(regs->x[0], regs->x[1]);
  if (!answer) return {kLaneDeclined, regs};
  ++vcpu.stats.smc;
  // ELR_EL2 is the SMC itself: step past it as skip_instruction() does (an
  // SMC is an A64 instruction: guest EL1 is AArch64, and EL0 cannot SMC).
  arch::write(arch::ElrEl2(arch::read<arch::ElrEl2>().value() + 4));
  arch::write(arch::read<arch::Spsr>().with(arch::Spsr::btype, uint64_t{0}).with(arch::Spsr::ss, false));
  regs->x[0] = static_cast<uint64_t>(*answer);
  return {kLaneResume, regs};
}

ExitAction handle_hvc_smc(Vcpu& vcpu, arch::EsrEl2 esr) {
  const auto call = arch::HvcSmc::from(esr);
  if (!call.ok()) return stop_vm_on_fault(vcpu, "HVC/SMC exit with a foreign syndrome", esr);
  if (call.value().is_smc()) {
    ++vcpu.stats.smc;
    // A trapped SMC's ELR_EL2 is the SMC itself (DDI 0487 K.a D1.3.1
    // "Preferred exception return address"); an HVC's is already past it.
    skip_instruction(vcpu, esr);
  } else {
    ++vcpu.stats.hvc;
  }
  if (call.value().imm16() != 0) {
    set_x0(vcpu, kNotSupported);
    return ExitAction::kResume;
  }

  Vm& vm = vcpu.vm();
  // The fast lane: version and feature queries touch no state.
  if (const std::optional<int64_t> answer = vm.psci.answer_stateless(vcpu.regs.x[0], vcpu.regs.x[1])) {
    set_x0(vcpu, *answer);
    return ExitAction::kResume;
  }
  return serve_psci(vcpu);
}

namespace {

ExitAction serve_psci(Vcpu& vcpu) {
  Vm& vm = vcpu.vm();
  const bool locked = vm.lock.lock(this_cpu().index);
  const PsciResult r = vm.psci.handle(vcpu.index(), vcpu.regs.x[0], vcpu.regs.x[1], vcpu.regs.x[2], vcpu.regs.x[3]);
  ExitAction action = ExitAction::kResume;
  switch (r.action) {
    case PsciAction::kNone: set_x0(vcpu, r.x0); break;
    case PsciAction::kStartVcpu: action = start_vcpu(vcpu, r); break;
    case PsciAction::kStopVcpu:
      action = ExitAction::kLeave;
      if (r.vm_stopped) {
        if (locked) vm.lock.unlock();
        vm.begin_stop("its last vCPU called CPU_OFF");
        return ExitAction::kLeave;
      }
      break;
    case PsciAction::kSuspend:
      // Served as standby: exactly a WFI that returns SUCCESS.
      set_x0(vcpu, r.x0);
      if (locked) vm.lock.unlock();
      return handle_wfi_wait(vcpu);
    case PsciAction::kSystemOff:
      if (locked) vm.lock.unlock();
      vm.begin_stop("SYSTEM_OFF");
      return ExitAction::kLeave;
    case PsciAction::kSystemReset:
    case PsciAction::kSystemReset2:
      if (locked) vm.lock.unlock();
      vm.begin_reset();
      return ExitAction::kLeave;
    case PsciAction::kHostWorkaround:
      forward_workaround(host_psci_conduit(), r.workaround_id, r.workaround_arg);
      set_x0(vcpu, r.x0);
      break;
  }
  if (locked) vm.lock.unlock();
  return action;
}

}  // namespace

}  // namespace lamina::hyp
