// The virtual GIC as guests on QEMU virt's layout (hw/arm/virt.c) see it,
// GICv3 or GICv2 as the DT says: the addresses, the registers the guest
// tests use, and the few operations they share (one CPU's setup,
// acknowledge and EOI).
#pragma once

#include <cstdint>

namespace guest::gic {

enum class Version : uint8_t { kNone, kV2, kV3 };

inline constexpr uintptr_t kGicd = 0x08000000;
inline constexpr uintptr_t kGicc = 0x08010000;  // GICv2
inline constexpr uintptr_t kGicr = 0x080a0000;  // GICv3
inline constexpr uintptr_t kGicrStride = 0x20000;  // RD_base + SGI_base
inline constexpr uintptr_t kSgiBase = 0x10000;

// GICD (IHI 0069 "The GIC Distributor register map"; IHI 0048B 4.1.2
// "Distributor register map"). On a GICv2 the SGI/PPI words are the
// GICD's first, banked per CPU interface, at the offsets a GICv3 uses in
// its SGI_base frame.
inline constexpr uintptr_t kGicdCtlr = 0x0000;
inline constexpr uintptr_t kGicdTyper = 0x0004;
inline constexpr uint32_t kCtlrEnableGrp1 = 1u << 1;  // GICv3 DS == 1 layout: EnableGrp1
inline constexpr uint32_t kCtlrAre = 1u << 4;
inline constexpr uint32_t kCtlrV2Enable = 1u << 0;  // GICv2 GICD_CTLR / GICC_CTLR EnableGrp0
inline constexpr uintptr_t kIgroupr0 = 0x0080;
inline constexpr uintptr_t kIsenabler0 = 0x0100;
inline constexpr uintptr_t kIspendr0 = 0x0200;
inline constexpr uintptr_t kIsactiver0 = 0x0300;
inline constexpr uintptr_t kIpriorityr = 0x0400;
inline constexpr uintptr_t kGicdItargetsr0 = 0x0800;  // GICv2
inline constexpr uintptr_t kGicdSgir = 0x0f00;        // GICv2
inline constexpr uint32_t kSgirTargetListShift = 16;
inline constexpr uint32_t kSgirFilterSelf = 0b10u << 24;
// GICR RD_base (IHI 0069 "The GIC Redistributor register map").
inline constexpr uintptr_t kGicrTyper = 0x0008;
inline constexpr uintptr_t kGicrWaker = 0x0014;
inline constexpr uint64_t kTyperLast = 1u << 4;
inline constexpr uint32_t kWakerProcessorSleep = 1u << 1;
inline constexpr uint32_t kWakerChildrenAsleep = 1u << 2;
// GICC (IHI 0048B 4.1.3 "CPU interface register map").
inline constexpr uintptr_t kGiccCtlr = 0x0000;
inline constexpr uintptr_t kGiccPmr = 0x0004;
inline constexpr uintptr_t kGiccBpr = 0x0008;
inline constexpr uintptr_t kGiccIar = 0x000c;
inline constexpr uintptr_t kGiccEoir = 0x0010;

inline constexpr uint32_t kSpurious = 1023;  // IHI 0069 "Special INTIDs"

// The GIC the guest's DT describes ("arm,gic-v3" or "arm,cortex-a15-gic").
[[nodiscard]] Version detect();
// The Distributor enabled: GICv3 with affinity routing and Group 1, GICv2
// with its enable bit.
void enable_distributor(Version v);
// This CPU's interface: INTIDs 0-31 in `enable` enabled at `priority`,
// priority mask `pmr`, binary point 0, its group enabled. GICv3: the
// system-register interface (ICC_SRE_EL1.SRE) and the Redistributor at
// `rd` woken, INTIDs 0-31 in Group 1; false if SRE stays 0. GICv2: Group 0
// (where they reset, signalled as IRQ); `rd` unused.
bool enable_cpu(Version v, uintptr_t rd, uint32_t enable, uint8_t priority, uint64_t pmr);
// The frame holding this CPU's SGI/PPI registers: the Redistributor's
// SGI_base (GICv3), the Distributor's banked words (GICv2). 0: none.
[[nodiscard]] uintptr_t private_frame(Version v, uintptr_t rd);
// ICC_IAR1_EL1 / GICC_IAR, ICC_EOIR1_EL1 / GICC_EOIR (EOImode 0: the EOI
// also deactivates), and the INTID in an acknowledge value.
[[nodiscard]] uint64_t acknowledge(Version v);
void end_of_interrupt(Version v, uint64_t iar);
[[nodiscard]] uint32_t intid_of(Version v, uint64_t iar);

}  // namespace guest::gic
