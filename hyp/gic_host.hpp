// lamina's own use of the physical GICv3 at EL2: the Distributor and every
// CPU's Redistributor and CPU interface set up for the interrupts lamina
// takes (the vGIC's maintenance PPI 25, the EL1 virtual and physical
// timers' PPIs 27 and 30, and the SGI that kicks a vCPU's CPU), and the few CPU-interface operations the
// vGIC glue (hyp/vgic_el2) needs.
//
// Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4":
// "Distributor initialization", "Redistributor initialization" (GICR_WAKER),
// "CPU interface initialization"; "Priority drop and interrupt
// deactivation" for EOImode 1: ICC_EOIR1_EL1 only drops the running
// priority, ICC_DIR_EL1 deactivates, so a forwarded interrupt can stay
// active until the guest deactivates it through a list register's HW bit.
//
// lamina runs with PSTATE.I masked at EL2: interrupts are taken only while
// a guest runs (HCR_EL2.IMO routes them to EL2) or noticed by WFI at EL2,
// which wakes on a pending interrupt whatever PSTATE.I says. GICv2 hosts:
// nothing here is used yet (gic_host_ready() is false). EL2-only.
#pragma once

#include <cstdint>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

inline constexpr uint32_t kKickSgi = 0;           // wakes / exits a vCPU's CPU
inline constexpr uint32_t kMaintenancePpi = 25;   // the vGIC maintenance interrupt (QEMU virt, Linux)
inline constexpr uint32_t kVtimerPpi = 27;        // EL1 virtual timer
inline constexpr uint32_t kPtimerPpi = 30;        // EL1 physical timer (the guest's: CNTHCTL_EL2.EL1PCEN)
inline constexpr uint32_t kSpuriousIntid = 1023;  // IHI 0069 "Special INTIDs"

// Boot CPU, after the GIC's registers are mapped: remembers `gic` and, for
// a GICv3 with a system-register CPU interface on this CPU, enables the
// Distributor (ARE, Group 1). Returns whether the vGIC can be offered.
bool init_gic_host(const GicDesc& gic, bool gic_sysreg);
// Whether init_gic_host() succeeded (every CPU may then use what follows).
[[nodiscard]] bool gic_host_ready();
// Every CPU (the boot CPU after init_gic_host, secondaries when they come
// online): wakes this CPU's Redistributor, puts its SGIs/PPIs in Group 1,
// enables the kick SGI and PPIs 25, 27 and 30, and enables the CPU interface
// (ICC_SRE_EL2.SRE|Enable, ICC_PMR_EL1, ICC_CTLR_EL1.EOImode = 1,
// ICC_IGRPEN1_EL1). False if the Redistributor is not found.
bool init_gic_cpu(uint64_t mpidr);

// ICC_IAR1_EL1: the highest pending Group 1 interrupt, now active
// (kSpuriousIntid: none).
[[nodiscard]] uint32_t gic_acknowledge();
// ICC_EOIR1_EL1 (priority drop only, EOImode 1) and ICC_DIR_EL1.
void gic_priority_drop(uint32_t intid);
void gic_deactivate(uint32_t intid);
// A physical SGI `sgi` to the CPU with affinity `mpidr` (ICC_SGI1R_EL1).
void gic_send_sgi(uint64_t mpidr, uint32_t sgi);

// Physical SPIs lamina takes at EL2: its console UART's receive interrupt,
// and the interrupts of devices passed through to a VM (forwarded to the
// owning vCPU with the HW bit). Routes SPI `intid` (32..1019) to the CPU
// with affinity `mpidr`, in Group 1 at lamina's priority, level-sensitive or
// edge-triggered, and enables it. Disabled first, so it may be called again
// to move it (IHI 0069 "GICD_IROUTER<n>": change routing while disabled).
void gic_spi_enable(uint32_t intid, uint64_t mpidr, bool edge);
void gic_spi_disable(uint32_t intid);

}  // namespace lamina::hyp
