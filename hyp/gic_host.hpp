// lamina's own use of the physical GIC at EL2: the Distributor and every
// CPU's interface set up for the interrupts lamina takes (the vGIC's
// maintenance PPI, the EL1 virtual and physical timers' PPIs 27 and 30, the
// SGI that kicks a vCPU's CPU, and the SPIs given to gic_spi_enable), and
// the few CPU-interface operations the vGIC glue (hyp/vgic_el2) needs.
//
// Two backends behind one API (hyp/gic_host_backend.hpp):
//  - GICv3 (gic_host_v3.cpp), Arm IHI 0069 "GIC Architecture Specification,
//    GICv3 and GICv4": "Distributor initialization", "Redistributor
//    initialization" (GICR_WAKER), "CPU interface initialization"; the
//    system-register CPU interface.
//  - GICv2 (gic_host_v2.cpp), Arm IHI 0048B "ARM Generic Interrupt
//    Controller Architecture Specification, version 2.0": the memory-mapped
//    GICD and GICC frames; each CPU's CPU-interface number read from its
//    banked GICD_ITARGETSR0-7 (4.3.12), SGIs through GICD_SGIR, SPIs routed
//    by GICD_ITARGETSR. Only a GICv2 with the virtualization extensions
//    (GICH and GICV frames in the host DT) is taken: the vGIC needs them.
// Both run with EOImode 1 ("Priority drop and interrupt deactivation";
// IHI 0048B 3.2.1 "Priority drop and interrupt deactivation"): the EOI only
// drops the running priority, the deactivation is a separate write, so a
// forwarded interrupt stays active until the guest deactivates it through a
// list register's HW bit.
//
// lamina runs with PSTATE.I masked at EL2: interrupts are taken only while
// a guest runs (HCR_EL2.IMO routes them to EL2) or noticed by WFI at EL2,
// which wakes on a pending interrupt whatever PSTATE.I says. EL2-only.
#pragma once

#include <cstdint>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

inline constexpr uint32_t kKickSgi = 0;           // wakes / exits a vCPU's CPU
inline constexpr uint32_t kMaintenancePpi = 25;   // the vGIC maintenance interrupt when the DT names none
inline constexpr uint32_t kVtimerPpi = 27;        // EL1 virtual timer
inline constexpr uint32_t kHypTimerPpi = 26;      // EL2 physical timer (Arm BSA's INTID; GICv2 hosts, below)
inline constexpr uint32_t kPtimerPpi = 30;        // EL1 physical timer (the guest's: CNTHCTL_EL2.EL1PCEN)
inline constexpr uint32_t kSpuriousIntid = 1023;  // IHI 0069 "Special INTIDs"

// Boot CPU, after the GIC's registers are mapped: remembers `gic` and
// enables the Distributor (GICv3: ARE, Group 1; GICv2: its enable bit).
// Refuses (false, with a warning naming why) a GICv3 without the
// system-register interface on this CPU or without Redistributors, and a
// GICv2 without the virtualization extensions' GICH/GICV frames. Returns
// whether the vGIC can be offered.
bool init_gic_host(const GicDesc& gic, bool gic_sysreg);
// Whether init_gic_host() succeeded (every CPU may then use what follows).
[[nodiscard]] bool gic_host_ready();
// The GIC version in use (kNone until init_gic_host succeeded).
[[nodiscard]] GicVersion gic_host_version();
// What init_gic_host was given (the frames; GICH and GICV on GICv2).
[[nodiscard]] const GicDesc& gic_host_desc();
// The vGIC maintenance interrupt's INTID: the host DT's GIC `interrupts`
// where present, else kMaintenancePpi.
[[nodiscard]] uint32_t gic_maintenance_intid();
// Every CPU (the boot CPU after init_gic_host, secondaries when they come
// online): GICv3: wakes this CPU's Redistributor, puts its SGIs/PPIs in
// Group 1; GICv2: learns this CPU's interface number. Then enables the kick
// SGI, the maintenance PPI and PPIs 27 and 30, and enables the CPU interface (PMR
// open, EOImode = 1). False if this CPU's Redistributor is not found.
bool init_gic_cpu(uint64_t mpidr);

// ICC_IAR1_EL1 / GICC_IAR: the highest pending interrupt, now active
// (kSpuriousIntid: none). GICv2 remembers an SGI's source for the EOI and
// deactivation of that SGI on this CPU.
[[nodiscard]] uint32_t gic_acknowledge();
// ICC_EOIR1_EL1 / GICC_EOIR (priority drop only, EOImode 1) and
// ICC_DIR_EL1 / GICC_DIR.
void gic_priority_drop(uint32_t intid);
void gic_deactivate(uint32_t intid);
// A physical SGI `sgi` to the CPU with affinity `mpidr` (ICC_SGI1R_EL1 /
// GICD_SGIR).
void gic_send_sgi(uint64_t mpidr, uint32_t sgi);
// After a guest deactivated a forwarded interrupt through a GICv2 list
// register's HW bit (seen when the list registers are folded): makes this
// CPU's interface look at its pending interrupts again. The architecture
// needs nothing here; QEMU's GICv2 (hw/intc/arm_gic.c) forwards such a
// deactivation to the distributor without re-evaluating the physical CPU
// interface, so a level-sensitive interrupt whose line rose again while it
// was active (the virtual timer re-armed in the past) would stay pending
// and unsignalled until something else touched the GIC. A rewrite of
// GICC_PMR with its value does it, and is harmless on hardware. GICv3:
// nothing.
void gic_resample_after_hw_deactivation();
// The same QEMU behaviour, for a guest that keeps running after such a
// deactivation: nothing folds its list registers, so the interrupt would
// wait for the guest's next vGIC exit. GICv2 hosts: while a vCPU runs with
// an HW list register loaded (`hw_loaded`), this CPU's EL2 physical timer
// (CNTHP, kHypTimerPpi) is armed to expire after kHwWatchMillis, which
// makes an IRQ exit and so a fold; false disarms it. The IRQ exit for it
// calls this with false. GICv3: nothing.
inline constexpr uint64_t kHwWatchMillis = 10;
void gic_hw_forwarding_watch(bool hw_loaded);

// Physical SPIs lamina takes at EL2: its console UART's receive interrupt,
// and the interrupts of devices passed through to a VM (forwarded to the
// owning vCPU with the HW bit). Routes SPI `intid` (32..1019) to the CPU
// with affinity `mpidr` (GICD_IROUTER / GICD_ITARGETSR), at lamina's
// priority (GICv3: Group 1), level-sensitive or edge-triggered, and enables
// it. Disabled first, so it may be called again to move it (IHI 0069
// "GICD_IROUTER<n>": change routing while disabled).
void gic_spi_enable(uint32_t intid, uint64_t mpidr, bool edge);
void gic_spi_disable(uint32_t intid);

}  // namespace lamina::hyp
