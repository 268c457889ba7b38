// CPU-interface decisions EL2 makes around a vGIC (GICv3, and the GICv2
// WFI check), as pure functions
// (host-tested; hyp/vgic_el2 and hyp/gic_host do the register accesses).
//
// Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4":
// "ICC_SGI1R_EL1", "ICC_ASGI1R_EL1", "ICC_SGI0R_EL1" (their encodings, and
// that HCR_EL2.IMO/FMO trap them from EL1), "ICH_VMCR_EL2", "Interrupt
// prioritization" (the priority mask); Arm IHI 0048B "GICH_VMCR".
#pragma once

#include <cstdint>
#include <optional>

#include "arch/regs/gich.hpp"
#include "arch/regs/icc.hpp"
#include "arch/regs/id_regs.hpp"

#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic {

// The SGI-generation register a trapped MSR (op0, op1, CRn, CRm, op2)
// names: ICC_SGI1R_EL1 is (3, 0, 12, 11, 5), ICC_ASGI1R_EL1 (3, 1, 12, 11,
// 6), ICC_SGI0R_EL1 (3, 2, 12, 11, 7). Nothing for any other register.
[[nodiscard]] constexpr std::optional<SgiRegister> sgi_register_for(uint32_t op0, uint32_t op1, uint32_t crn,
                                                                    uint32_t crm, uint32_t op2) {
  if (op0 != 3 || crn != 12 || crm != 11) return std::nullopt;
  if (op1 == 0 && op2 == 5) return SgiRegister::kSgi1r;
  if (op1 == 1 && op2 == 6) return SgiRegister::kAsgi1r;
  if (op1 == 2 && op2 == 7) return SgiRegister::kSgi0r;
  return std::nullopt;
}

// Whether a vCPU waiting in WFI must wake for its virtual interrupts: the
// best pending one (VgicState::highest_pending_priority) has a priority
// higher (numerically lower) than the virtual priority mask ICH_VMCR_EL2.
// VPMR, and the virtual CPU interface has a group enabled (VENG0/VENG1).
// (Approximation: the running priority of active interrupts is not
// considered, so a guest waiting inside a handler may wake early, which
// WFI allows.)
[[nodiscard]] constexpr bool wfi_wakes(std::optional<uint8_t> best_priority, arch::IchVmcrEl2 vmcr) {
  if (!best_priority.has_value()) return false;
  if (!vmcr.get(arch::IchVmcrEl2::veng0) && !vmcr.get(arch::IchVmcrEl2::veng1)) return false;
  return *best_priority < vmcr.get(arch::IchVmcrEl2::vpmr);
}

// The same for a GICv2 virtual CPU interface, against GICH_VMCR (IHI 0048B
// 5.3.5 "Virtual Machine Control Register, GICH_VMCR"): VMPriMask holds
// GICV_PMR [7:3] (a GICv2 virtual interface implements five priority bits,
// as GICH_LRn.Priority does), so the mask is VMPriMask << 3; the group
// enables are VMGrp0En / VMGrp1En (GICV_CTLR.EnableGrp0/1).
[[nodiscard]] constexpr uint8_t gich_vmcr_priority_mask(arch::GichVmcr vmcr) {
  return static_cast<uint8_t>(vmcr.get(arch::GichVmcr::vmprimask) << (8 - kPriorityBits));
}
[[nodiscard]] constexpr bool wfi_wakes(std::optional<uint8_t> best_priority, arch::GichVmcr vmcr) {
  if (!best_priority.has_value()) return false;
  if (!vmcr.get(arch::GichVmcr::vmgrp0en) && !vmcr.get(arch::GichVmcr::vmgrp1en)) return false;
  return *best_priority < gich_vmcr_priority_mask(vmcr);
}

// ICC_SGI1R_EL1 sending SGI `intid` to exactly the PE with affinity `mpidr`
// (TargetList bit Aff0 % 16, RS = Aff0 / 16, Aff1-3; IRM 0).
[[nodiscard]] constexpr arch::IccSgi1rEl1 sgi1r_to(arch::MpidrEl1 mpidr, uint32_t intid) {
  const uint64_t aff0 = mpidr.get(arch::MpidrEl1::aff0);
  return arch::IccSgi1rEl1::from_raw(0)
      .with(arch::IccSgi1rEl1::targetlist, uint64_t{1} << (aff0 % 16))
      .with(arch::IccSgi1rEl1::rs, aff0 / 16)
      .with(arch::IccSgi1rEl1::aff1, mpidr.get(arch::MpidrEl1::aff1))
      .with(arch::IccSgi1rEl1::aff2, mpidr.get(arch::MpidrEl1::aff2))
      .with(arch::IccSgi1rEl1::aff3, mpidr.get(arch::MpidrEl1::aff3))
      .with(arch::IccSgi1rEl1::intid, uint64_t{intid & 0xf});
}

}  // namespace lamina::hyp::vgic
