// The EL2 side of a VM's virtual GIC (the model: hyp/vgic/): the list
// registers around each guest entry (GICv3 hosts: ICH_LR<n>_EL2 and
// ICH_HCR_EL2; GICv2 hosts: the same protocol through this CPU's GICH frame,
// GICH_LRn and GICH_HCR), lamina's physical interrupts while a
// guest runs or waits, trapped SGI generation, kicks between CPUs, and the
// vGIC part of vCPU start/stop and VM reset. EL2-only.
//
// Protocol (hyp/vgic/list_registers.hpp has the model's side):
//  - a handler that uses the vGIC (its MMIO, a trapped SGI, an IRQ exit,
//    WFI) first folds the list registers back into the model
//    (vgic_sync_from_guest, which marks the vCPU vgic_dirty); a dirty vCPU
//    loads them again before it resumes (vgic_flush_to_guest). Other exits
//    leave the list registers as they are;
//  - the fast lanes (hyp/guest_entry.S) never touch the list registers: the
//    data-abort lane declines the vGIC's MMIO regions, and the list
//    registers stay as loaded across a lane exit (it may change the model's
//    inputs through vgic_set_spi_level, as any CPU may: the vPL011's line);
//  - every VgicState call holds vm.vgic_lock;
//  - after each load, take_kicks() becomes a physical SGI (kKickSgi) to the
//    CPU of each other vCPU named: a running one exits (IRQ) and folds and
//    loads; a waiting one wakes from WFI; take_hw_deactivations() becomes
//    ICC_DIR_EL1 / GICC_DIR here (SPIs, this vCPU's PPIs) or on the
//    owner's CPU.
//  - the maintenance interrupt (gic_maintenance_intid(): underflow, or the
//    EOI of an interrupt loaded with eoi_maintenance) is an IRQ exit like
//    any other; it stays active until the next load changed its condition.
// GICv2 hosts: the guest's GICD (the GICv2 distributor model) traps; its
// GICC address is the host's GICV frame, mapped through stage 2 (hyp/
// vm_boot.cpp), so the guest's acknowledge/EOI never exits; SGIs are
// GICD_SGIR writes to the model.
#pragma once

#include <cstdint>

#include "arch/esr.hpp"
#include "hyp/exit.hpp"

namespace lamina::hyp {

class Vm;
class Vcpu;

// SPIs the vGIC offers (INTIDs 32-95: the PL011's SPI 1 and room for
// passthrough devices later).
inline constexpr uint32_t kGuestSpis = 64;

// At VM creation (boot CPU): configures vm.vgic for vm's vCPUs (GicModel
// kV3 on a GICv3 host, kV2 on a GICv2 host: at most 8 vCPUs), forwards
// each vCPU's virtual and physical timer PPIs 27 and 30 (HW bit), attaches the GICD/GICR models
// (GICv2: vm.gicd_v2). False (after a message) refuses the VM.
[[nodiscard]] bool vgic_create(Vm& vm);

// On the vCPU's CPU, after Vcpu::load(): its CPU-interface state at reset
// (ICH_VMCR_EL2, ICH_AP0R0/AP1R0_EL2 / GICH_VMCR, GICH_APR, list registers
// zero), deactivations
// owed to it, then its first load.
void vgic_vcpu_start(Vcpu& vcpu);
// Once guest_run() returned: folds what is still loaded, clears the list
// registers and turns the virtual CPU interface off (ICH_HCR_EL2.En /
// GICH_HCR.En = 0).
void vgic_vcpu_stop(Vcpu& vcpu);

// Before a handler uses the vGIC: fold the list registers into the model
// (once per exit) and mark the vCPU vgic_dirty.
void vgic_sync_from_guest(Vcpu& vcpu);
// Before resuming the guest: load the list registers and ICH_HCR_EL2, then
// send kicks and physical deactivations.
void vgic_flush_to_guest(Vcpu& vcpu);

// IRQ exit (or a WFI wake-up): acknowledges every pending physical
// interrupt. The timers' PPIs and passthrough SPIs become virtual ones (priority
// dropped, left active for the guest's deactivation); kicks and maintenance
// interrupts are deactivated (the fold/load that follows is their work).
void vgic_handle_irqs(Vcpu& vcpu);

// WFI / CPU_SUSPEND: waits (WFI at EL2) until an interrupt the guest's
// virtual CPU interface would signal is pending, or the virtual timer
// condition holds, or the VM stops.
[[nodiscard]] ExitAction vgic_wfi_wait(Vcpu& vcpu);

// A trapped MSR: true if it wrote ICC_SGI1R_EL1 / ICC_ASGI1R_EL1 /
// ICC_SGI0R_EL1 of a VM with a virtual GICv3 and the SGI was sent (the
// caller skips the instruction); false for anything else.
[[nodiscard]] bool vgic_trapped_sgi(Vcpu& vcpu, const arch::SysRegAccess& access, uint64_t value);

// A device's interrupt line into the vGIC from EL2 (an emulated device's
// output, a passthrough interrupt with no HW mapping): sets the level of SPI
// `intid` and kicks the vCPUs whose view changed (the caller's own vCPU, if
// it is one of them, gets a physical SGI and folds/loads at the IRQ exit
// that follows its resume). Any CPU; false when the VM has no vGIC or the
// SPI does not exist.
bool vgic_set_spi_level(Vm& vm, uint32_t intid, bool level);

// VM reset (the last vCPU left): the model and the Redistributors' WAKER
// state reset; physical deactivations owed are handed to their vCPUs.
void vgic_vm_reset(Vm& vm);
// Wakes every vCPU's CPU of `vm` (a stop or reset: their WFI waits must see
// it).
void vgic_kick_all(Vm& vm);

}  // namespace lamina::hyp
