// Handling one guest exit: hyp/exit_dispatch.cpp decodes the vector and the
// exception class and calls the handler for it (one file each:
// exit_abort.cpp, exit_hvc_smc.cpp, exit_sysreg.cpp, exit_wfx.cpp); the
// helpers here change the guest's state the way the architecture would.
// EL2-only.
#pragma once

#include <cstdint>

#include "arch/esr.hpp"
#include "hyp/vcpu.hpp"

namespace lamina::hyp {

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
// Idles until the vCPU has something to do (WFI, PSCI CPU_SUSPEND).
[[nodiscard]] ExitAction handle_wfi_wait(Vcpu& vcpu);

// Steps the guest past the trapped instruction (ESR_EL2.IL: 4 or 2 bytes).
void skip_instruction(Vcpu& vcpu, arch::EsrEl2 esr);

// Writes general register `reg` (31 = XZR: discarded) / reads it (31 = 0).
void set_guest_reg(Vcpu& vcpu, uint8_t reg, uint64_t value);
[[nodiscard]] uint64_t guest_reg(const Vcpu& vcpu, uint8_t reg);

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
