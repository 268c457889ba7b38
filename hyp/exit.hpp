// Handling one guest exit: hyp/exit_dispatch.cpp decodes the vector and the
// exception class and calls the handler for it (one file each:
// exit_abort.cpp, exit_hvc_smc.cpp, exit_sysreg.cpp, exit_wfx.cpp); the
// helpers here change the guest's state the way the architecture would.
// EL2-only.
#pragma once

#include <cstdint>

#include "arch/esr.hpp"
#include "arch/sysreg.hpp"
#include "arch/regs/pstate.hpp"
#include "hyp/vcpu.hpp"

namespace lamina::hyp {

class Vm;

// What a fast lane of hyp/guest_entry.S tells the assembly: `action` 0
// resume, 1 declined (take the full path), 2 leave; `regs` comes back in x1
// so that the assembly need not look it up again (AAPCS64 returns a
// two-word struct in x0/x1).
struct LaneResult {
  uint64_t action;
  GuestRegs* regs;
};
inline constexpr uint64_t kLaneResume = 0;
inline constexpr uint64_t kLaneDeclined = 1;
inline constexpr uint64_t kLaneLeave = 2;

// What the run loop does after an exit.
enum class ExitAction : uint8_t {
  kResume,  // enter the guest again
  kLeave,   // this vCPU stops running (CPU_OFF, or its VM stops or resets)
};

[[nodiscard]] ExitAction handle_exit(Vcpu& vcpu, uint64_t vector);

[[nodiscard]] ExitAction handle_data_abort(Vcpu& vcpu, arch::EsrEl2 esr);
[[nodiscard]] ExitAction handle_instruction_abort(Vcpu& vcpu, arch::EsrEl2 esr);
[[nodiscard]] ExitAction handle_hvc_smc(Vcpu& vcpu, arch::EsrEl2 esr);
[[nodiscard]] ExitAction handle_sysreg(Vcpu& vcpu, arch::EsrEl2 esr);
[[nodiscard]] ExitAction handle_wfx(Vcpu& vcpu, arch::EsrEl2 esr);
// The running vCPU's virtual timer asserts its interrupt (its CNTV_CTL_EL0
// is live in this CPU).
[[nodiscard]] inline bool vtimer_interrupt_asserted() {
  return arch::read<arch::CntvCtlEl0>().interrupt_asserted();
}
// The same for its EL1 physical timer (CNTP_CTL_EL0, also the guest's).
[[nodiscard]] inline bool ptimer_interrupt_asserted() {
  return arch::read<arch::CntpCtlEl0>().interrupt_asserted();
}

// Idles until the vCPU has something to do (WFI, PSCI CPU_SUSPEND).
[[nodiscard]] ExitAction handle_wfi_wait(Vcpu& vcpu);

// Fills vm.id_registers from this CPU's ID registers, sanitized for the VM.
void compute_guest_id_registers(Vm& vm);

// Steps the guest past the trapped instruction, as if it had executed it.
// AArch64 (inline: every emulated access does it): PC + 4, PSTATE.BTYPE and
// SS cleared (hyp/trap/fault_injection.hpp skip_instruction() has the
// rules); an AArch32 EL0 source: by ESR_EL2.IL, with its IT state.
void skip_aarch32_instruction(Vcpu& vcpu, arch::EsrEl2 esr);
inline void skip_instruction(Vcpu& vcpu, arch::EsrEl2 esr) {
  const arch::Spsr pstate = arch::Spsr::from_raw(vcpu.regs.pstate);
  if (pstate.get(arch::Spsr::nrw)) {
    skip_aarch32_instruction(vcpu, esr);
    return;
  }
  vcpu.regs.pc += 4;
  vcpu.regs.pstate = pstate.with(arch::Spsr::btype, uint64_t{0}).with(arch::Spsr::ss, false).raw();
}

// Writes general register `reg` (31 = XZR: discarded) / reads it (31 = 0).
inline void set_guest_reg(Vcpu& vcpu, uint8_t reg, uint64_t value) {
  if (reg < 31) vcpu.regs.x[reg] = value;
}
[[nodiscard]] inline uint64_t guest_reg(const Vcpu& vcpu, uint8_t reg) { return reg < 31 ? vcpu.regs.x[reg] : 0; }

// Delivers a synchronous external abort for the access described by the
// exit's ESR_EL2/FAR_EL2 to the guest's own vector table, as the
// architecture would have without a hypervisor. Returns kLeave (and stops
// the VM) when the guest's vectors cannot take it.
[[nodiscard]] ExitAction inject_external_abort(Vcpu& vcpu, arch::EsrEl2 esr, uint64_t far, bool instruction);
// Delivers an UNDEFINED exception for the trapped instruction (ELR_EL2
// must point at it).
[[nodiscard]] ExitAction inject_undefined(Vcpu& vcpu, arch::EsrEl2 esr);

// A guest fault lamina cannot recover from: dumps the vCPU and stops its VM
// (only that VM). Always returns kLeave.
[[nodiscard]] ExitAction stop_vm_on_fault(Vcpu& vcpu, const char* what, arch::EsrEl2 esr);

}  // namespace lamina::hyp
