// The GICv2 CPU interface (GICC), the memory-mapped frame lamina uses at EL2
// on a GICv2 host to acknowledge, drop and deactivate its own interrupts.
//
// Arm IHI 0048B "ARM Generic Interrupt Controller Architecture
// Specification, version 2.0", 4.4 "CPU interface register descriptions"
// and Table 4-2 "CPU interface register map". The guest never sees this
// frame: its GICC address is backed by the GICV frame (the virtual CPU
// interface, 5.5), which has the same register map.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

namespace lamina::arch {

namespace gic::cpu {
inline constexpr uint64_t kCtlr = 0x0000;
inline constexpr uint64_t kPmr = 0x0004;
inline constexpr uint64_t kBpr = 0x0008;
inline constexpr uint64_t kIar = 0x000c;
inline constexpr uint64_t kEoir = 0x0010;
inline constexpr uint64_t kRpr = 0x0014;
inline constexpr uint64_t kHppir = 0x0018;
inline constexpr uint64_t kApr0 = 0x00d0;
inline constexpr uint64_t kIidr = 0x00fc;
inline constexpr uint64_t kDir = 0x1000;  // the second 4 KiB page
// The register map spans two 4 KiB pages (GICC_DIR at 0x1000), so a GICC or
// GICV frame is 8 KiB.
inline constexpr uint64_t kFrameSize = 0x2000;
// GICC_PMR: every priority passes the mask. With the Security Extensions a
// Non-secure write is shifted ("Non-secure access to the priority
// registers"); 0xff still opens the mask fully.
inline constexpr uint32_t kPmrAll = 0xff;
}  // namespace gic::cpu

// GICC_CTLR: IHI 0048B 4.4.1 "CPU Interface Control Register, GICC_CTLR".
// Laid out here as in a GIC without the Security Extensions (QEMU virt
// without secure=on). A GIC with them, accessed Non-secure (the Raspberry
// Pi 4's GIC-400 below EL3 firmware), shows its Non-secure copy, whose bit 0
// is EnableGrp1 and bit 9 EOImodeNS: the same two bits lamina sets, each
// meaning "the interface lamina's interrupts come through", so one write
// sequence serves both.
#define LAMINA_GICC_CTLR_FIELDS(X) \
  X(enable_grp0, 0, 0, bool)       \
  X(enable_grp1, 1, 1, bool)       \
  X(ackctl, 2, 2, bool)            \
  X(fiqen, 3, 3, bool)             \
  X(cbpr, 4, 4, bool)              \
  X(fiqbypdisgrp0, 5, 5, bool)     \
  X(irqbypdisgrp0, 6, 6, bool)     \
  X(fiqbypdisgrp1, 7, 7, bool)     \
  X(irqbypdisgrp1, 8, 8, bool)     \
  X(eoimode, 9, 9, bool)

struct GiccCtlr : RegisterValue<GiccCtlr> {
  LAMINA_REGISTER_BODY(GiccCtlr, "GICC_CTLR", ~uint64_t{0x3ff}, 0, LAMINA_GICC_CTLR_FIELDS)
};

// GICC_IAR, and GICC_EOIR / GICC_DIR, which take the value GICC_IAR
// returned (IHI 0048B 4.4.4 "Interrupt Acknowledge Register, GICC_IAR",
// 4.4.5 "End of Interrupt Register, GICC_EOIR", 4.4.15 "Deactivate
// Interrupt Register, GICC_DIR"). For an SGI, CPUID is the interface that
// requested it, and the EOI and deactivation must name the same source.
#define LAMINA_GICC_IAR_FIELDS(X) \
  X(interruptid, 9, 0, uint64_t)  \
  X(cpuid, 12, 10, uint64_t)

struct GiccIar : RegisterValue<GiccIar> {
  LAMINA_REGISTER_BODY(GiccIar, "GICC_IAR", ~uint64_t{0x1fff}, 0, LAMINA_GICC_IAR_FIELDS)
};

}  // namespace lamina::arch
