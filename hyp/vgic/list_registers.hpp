// List registers: encoding what VgicState::load_list_registers() chose into
// GICv3 ICH_LR<n>_EL2 / GICv2 GICH_LRn values, decoding them back, and the
// maintenance requests that go with a load. Pure functions; the EL2 side
// does the system-register and GICH accesses.
//
// Sources: Arm IHI 0069 "ICH_LR<n>_EL2", "ICH_HCR_EL2", "Maintenance
// interrupts"; Arm IHI 0048B "GIC virtual interface control registers"
// ("List Registers, GICH_LRn", "Hypervisor Control Register, GICH_HCR").
//
// Per guest entry, EL2 does (GICv3 shown; GICv2 is the same with GICH):
//   n = list_register_count(ICH_VTR_EL2)                  // once
//   r = vgic.load_list_registers(k, span(virqs, n))
//   ICH_LR<i>_EL2 = encode_ich_lr(virqs[i]) for i < r.loaded, 0 for the rest
//   ICH_HCR_EL2 = ich_hcr_for_entry(base, r)
// and after the guest exits (before touching the vGIC for that vCPU, and
// before it runs elsewhere):
//   states[i] = ich_lr_state(ICH_LR<i>_EL2) for i < vgic.loaded_count(k)
//   vgic.fold_list_registers(k, states)
// A maintenance interrupt (underflow, or the EOI of an interrupt loaded with
// eoi_maintenance) needs nothing more than that exit: the fold and the next
// load re-evaluate everything.
#pragma once

#include <cstdint>

#include "arch/regs/gich.hpp"

#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic {

// ---- GICv3 -----------------------------------------------------------------
// The ICH_LR<n>_EL2 value presenting `v`: vINTID, priority, group, state; with
// v.hw the HW bit and pINTID (the guest's deactivation then deactivates the
// physical interrupt, and no EOI maintenance is possible); without it the
// EOI bit from v.eoi_maintenance. v.source is not encoded (GICv3 SGIs carry
// no source).
[[nodiscard]] uint64_t encode_ich_lr(const Virq& v);
// The inverse (source 0).
[[nodiscard]] Virq decode_ich_lr(uint64_t lr);
[[nodiscard]] constexpr VirqState ich_lr_state(uint64_t lr) {
  return static_cast<VirqState>(arch::IchLrEl2::from_raw(lr).get(arch::IchLrEl2::state));
}
// ICH_VTR_EL2.ListRegs + 1, at most kMaxListRegisters.
[[nodiscard]] uint32_t list_register_count(arch::IchVtrEl2 vtr);
// ICH_HCR_EL2 for the next entry: `base` (En and the trap controls EL2
// chose) with UIE as wants_underflow_interrupt() says and the other
// maintenance enables (LRENPIE, NPIE, VGrp*) clear; EOIcount zero.
[[nodiscard]] arch::IchHcrEl2 ich_hcr_for_entry(arch::IchHcrEl2 base, const LoadResult& load);

// ---- GICv2 -----------------------------------------------------------------
// The GICH_LRn value presenting `v`: VirtualID, Priority (v.priority [7:3]),
// Grp1, State; HW with PhysicalID, or CPUID (v.source, for SGIs) and EOI.
[[nodiscard]] uint32_t encode_gich_lr(const Virq& v);
[[nodiscard]] Virq decode_gich_lr(uint32_t lr);
[[nodiscard]] constexpr VirqState gich_lr_state(uint32_t lr) {
  return static_cast<VirqState>(arch::GichLr::from_raw(lr).get(arch::GichLr::state));
}
// Whether GICH_LRn value `lr`, read back after the guest ran, shows that
// the guest deactivated a forwarded (HW = 1) interrupt: the GIC then
// deactivated the physical one (IHI 0048B 5.4.1 "Hardware interrupts": the
// list register of a hardware interrupt becomes invalid when the virtual
// interrupt is deactivated).
[[nodiscard]] constexpr bool gich_lr_hw_deactivated(uint32_t lr) {
  const arch::GichLrHw v(lr);
  return v.get(arch::GichLrHw::hw) && v.get(arch::GichLrHw::state) == arch::LrState::kInvalid;
}
// GICH_VTR.ListRegs + 1, at most kMaxListRegisters.
[[nodiscard]] uint32_t list_register_count(arch::GichVtr vtr);
[[nodiscard]] arch::GichHcr gich_hcr_for_entry(arch::GichHcr base, const LoadResult& load);

// ---- Overflow ----------------------------------------------------------------
// Whether the underflow maintenance interrupt (ICH_HCR_EL2.UIE /
// GICH_HCR.UIE: asserted while at most one list register holds a valid
// interrupt) must be requested: some interrupts did not fit (load.deferred),
// so the guest must be interrupted once it has consumed all but one of the
// loaded ones, to load the rest. The list registers hold the best of them
// (load_list_registers picks them), so nothing more urgent waits outside.
// With fewer than two loaded, UIE would fire at once and forever; then the
// deferred interrupts wait for the next exit (a timer tick at the latest).
[[nodiscard]] constexpr bool wants_underflow_interrupt(const LoadResult& load) {
  return load.deferred != 0 && load.loaded >= 2;
}

}  // namespace lamina::hyp::vgic
