// The virtual GICv3 as guests on QEMU virt's layout (hw/arm/virt.c) see it:
// its addresses, the registers the guest tests use, and the setup of one
// CPU's Redistributor and system-register CPU interface.
#pragma once

#include <cstdint>

namespace guest::gicv3 {

inline constexpr uintptr_t kGicd = 0x08000000;
inline constexpr uintptr_t kGicr = 0x080a0000;
inline constexpr uintptr_t kGicrStride = 0x20000;  // RD_base + SGI_base
inline constexpr uintptr_t kSgiBase = 0x10000;

// GICD (IHI 0069 "The GIC Distributor register map").
inline constexpr uintptr_t kGicdCtlr = 0x0000;
inline constexpr uintptr_t kGicdTyper = 0x0004;
inline constexpr uint32_t kCtlrEnableGrp1 = 1u << 1;  // DS == 1 layout: EnableGrp1
inline constexpr uint32_t kCtlrAre = 1u << 4;
// GICR RD_base / SGI_base (IHI 0069 "The GIC Redistributor register map");
// the SGI/PPI registers sit at the GICD's offsets in SGI_base.
inline constexpr uintptr_t kGicrTyper = 0x0008;
inline constexpr uintptr_t kGicrWaker = 0x0014;
inline constexpr uint64_t kTyperLast = 1u << 4;
inline constexpr uint32_t kWakerProcessorSleep = 1u << 1;
inline constexpr uint32_t kWakerChildrenAsleep = 1u << 2;
inline constexpr uintptr_t kIgroupr0 = 0x0080;
inline constexpr uintptr_t kIsenabler0 = 0x0100;
inline constexpr uintptr_t kIspendr0 = 0x0200;
inline constexpr uintptr_t kIsactiver0 = 0x0300;
inline constexpr uintptr_t kIpriorityr = 0x0400;

inline constexpr uint32_t kSpurious = 1023;  // IHI 0069 "Special INTIDs"

// This CPU's system-register interface (ICC_SRE_EL1.SRE), its
// Redistributor at `rd` awake, INTIDs 0-31 in Group 1, those in `enable`
// enabled at `priority`, ICC_PMR_EL1 = `pmr`, ICC_BPR1_EL1 = 0, Group 1 on
// (ICC_IGRPEN1_EL1). False if the system-register interface is off.
bool enable_cpu(uintptr_t rd, uint32_t enable, uint8_t priority, uint64_t pmr);

}  // namespace guest::gicv3
