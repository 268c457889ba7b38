// Trapped MSR/MRS (EC 0x18). The ID register space (HCR_EL2.TID3: op0 3,
// op1 0, CRn 0, CRm 1-7) is read from the CPU and sanitized
// (hyp/trap/id_registers) once per VM, so that a guest sees only what
// lamina virtualizes. Every other trapped access, and any write to an ID register,
// is UNDEFINED for the guest (with a rate-limited log line).
#include "hyp/exit.hpp"
#include "hyp/log.hpp"
#include "hyp/trap/id_registers.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"

namespace lamina::hyp {

namespace {

// The CPU's value of ID register (3, 0, 0, crm, op2), by its generic name
// (an assembler without the register's own name still takes S3_0_C0_Cm_n).
uint64_t read_host_id_register(uint32_t crm, uint32_t op2) {
  uint64_t v = 0;
#define LAMINA_ID_CASE(m, n) \
  case (m) * 8 + (n): asm volatile("mrs %0, S3_0_C0_C" #m "_" #n : "=r"(v)); break;
#define LAMINA_ID_ROW(m) \
  LAMINA_ID_CASE(m, 0)   \
  LAMINA_ID_CASE(m, 1)   \
  LAMINA_ID_CASE(m, 2)   \
  LAMINA_ID_CASE(m, 3)   \
  LAMINA_ID_CASE(m, 4)   \
  LAMINA_ID_CASE(m, 5)   \
  LAMINA_ID_CASE(m, 6)   \
  LAMINA_ID_CASE(m, 7)
  switch (crm * 8 + op2) {
    LAMINA_ID_ROW(1)
    LAMINA_ID_ROW(2)
    LAMINA_ID_ROW(3)
    LAMINA_ID_ROW(4)
    LAMINA_ID_ROW(5)
    LAMINA_ID_ROW(6)
    LAMINA_ID_ROW(7)
    default: break;
  }
#undef LAMINA_ID_ROW
#undef LAMINA_ID_CASE
  return v;
}

constexpr uint32_t kUnhandledLogLimit = 16;
uint32_t g_unhandled_logged[kMaxVms];

}  // namespace

void compute_guest_id_registers(Vm& vm) {
  for (uint32_t crm = 1; crm <= Vm::kIdRegisterCrms; ++crm)
    for (uint32_t op2 = 0; op2 < 8; ++op2)
      vm.id_registers[(crm - 1) * 8 + op2] =
          sanitize_id_register(crm, op2, read_host_id_register(crm, op2), vm.id_policy);
}

ExitAction handle_sysreg(Vcpu& vcpu, arch::EsrEl2 esr) {
  ++vcpu.stats.sysreg;
  const auto trapped = arch::SysRegAccess::from(esr);
  if (!trapped.ok()) return stop_vm_on_fault(vcpu, "system register exit with a foreign syndrome", esr);
  const arch::SysRegAccess& a = trapped.value();
  Vm& vm = vcpu.vm();

  if (a.is_read() && is_id_register_space(a.op0(), a.op1(), a.crn(), a.crm())) {
    // Sanitized once per VM (compute_guest_id_registers): ID registers
    // never change.
    set_guest_reg(vcpu, a.register_index(), vm.id_registers[(a.crm() - 1u) * 8u + a.op2()]);
    skip_instruction(vcpu, esr);
    return ExitAction::kResume;
  }

  // SGI generation (HCR_EL2.IMO traps ICC_SGI1R_EL1 and friends: IHI 0069
  // "Virtual interrupt handling and prioritization"): the vGIC sends it.
  if (vgic_trapped_sgi(vcpu, a, guest_reg(vcpu, a.register_index()))) {
    skip_instruction(vcpu, esr);
    return ExitAction::kResume;
  }

  if (g_unhandled_logged[vm.index] < kUnhandledLogLimit) {
    ++g_unhandled_logged[vm.index];
    char name[32];
    system_register_name(a.op0(), a.op1(), a.crn(), a.crm(), a.op2(), name, sizeof(name));
    LOG_WARN("vm {}: vcpu{}: {} {} at pc {:x} is not handled: UNDEFINED injected{}", vm.name(), vcpu.index(),
             a.is_read() ? "read of" : "write to", name, vcpu.regs.pc,
             g_unhandled_logged[vm.index] == kUnhandledLogLimit ? " (not logged again)" : "");
  }
  return inject_undefined(vcpu, esr);
}

}  // namespace lamina::hyp
