// GICv3 Redistributor (GICR) register map and layouts.
//
// Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4", "The GIC
// Redistributor register map" and "The GIC Redistributor register
// descriptions". A Redistributor without virtual LPI support is two 64 KiB
// frames: RD_base (control, identification, LPIs) and SGI_base (the SGI and
// PPI registers, at the offsets the Distributor uses for INTIDs 0-31).
#pragma once

#include <cstdint>

#include "arch/regs/id_regs.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

namespace gic::redist {
inline constexpr uint64_t kFrameSize = 0x10000;
inline constexpr uint64_t kRdBase = 0x00000;
inline constexpr uint64_t kSgiBase = 0x10000;
// One Redistributor with RD_base and SGI_base (GICv3; GICv4 adds VLPI_base
// and a reserved frame, which lamina does not offer).
inline constexpr uint64_t kStride = 2 * kFrameSize;

// RD_base.
inline constexpr uint64_t kCtlr = 0x0000;
inline constexpr uint64_t kIidr = 0x0004;
inline constexpr uint64_t kTyper = 0x0008;      // 64 bits
inline constexpr uint64_t kStatusr = 0x0010;
inline constexpr uint64_t kWaker = 0x0014;
inline constexpr uint64_t kMpamidr = 0x0018;
inline constexpr uint64_t kPartidr = 0x001c;
inline constexpr uint64_t kSetlpir = 0x0040;    // 64 bits
inline constexpr uint64_t kClrlpir = 0x0048;    // 64 bits
inline constexpr uint64_t kPropbaser = 0x0070;  // 64 bits
inline constexpr uint64_t kPendbaser = 0x0078;  // 64 bits
inline constexpr uint64_t kInvlpir = 0x00a0;    // 64 bits
inline constexpr uint64_t kInvallr = 0x00b0;    // 64 bits
inline constexpr uint64_t kSyncr = 0x00c0;
// The identification block (PIDR4-7, PIDR0-3, CIDR0-3), as in the
// Distributor (arch/regs/gicd.hpp, gic::dist::kPidr*).
inline constexpr uint64_t kIdRegs = 0xffd0;

// SGI_base: the INTID 0-31 slices of the Distributor's arrays.
inline constexpr uint64_t kIgroupr0 = 0x0080;
inline constexpr uint64_t kIsenabler0 = 0x0100;
inline constexpr uint64_t kIcenabler0 = 0x0180;
inline constexpr uint64_t kIspendr0 = 0x0200;
inline constexpr uint64_t kIcpendr0 = 0x0280;
inline constexpr uint64_t kIsactiver0 = 0x0300;
inline constexpr uint64_t kIcactiver0 = 0x0380;
inline constexpr uint64_t kIpriorityr0 = 0x0400;  // 0x0400-0x041c: 32 bytes
inline constexpr uint64_t kIcfgr0 = 0x0c00;       // SGIs
inline constexpr uint64_t kIcfgr1 = 0x0c04;       // PPIs
inline constexpr uint64_t kIgrpmodr0 = 0x0d00;
inline constexpr uint64_t kNsacr = 0x0e00;
}  // namespace gic::redist

// GICR_CTLR: IHI 0069 "GICR_CTLR, Redistributor Control Register".
#define LAMINA_GICR_CTLR_FIELDS(X) \
  X(enable_lpis, 0, 0, bool)       \
  X(ces, 1, 1, bool)               \
  X(ir, 2, 2, bool)                \
  X(rwp, 3, 3, bool)               \
  X(dpg0, 24, 24, bool)            \
  X(dpg1ns, 25, 25, bool)          \
  X(dpg1s, 26, 26, bool)           \
  X(uwp, 31, 31, bool)

struct GicrCtlr : RegisterValue<GicrCtlr> {
  LAMINA_REGISTER_BODY(GicrCtlr, "GICR_CTLR", ~uint64_t{0x8700'000f}, 0, LAMINA_GICR_CTLR_FIELDS)
};

// GICR_TYPER (64 bits): IHI 0069 "GICR_TYPER, Redistributor Type
// Register". Affinity_Value is the PE's Aff3.Aff2.Aff1.Aff0; Last marks the
// highest Redistributor of a contiguous region, which is where a driver's
// scan of the region stops.
#define LAMINA_GICR_TYPER_FIELDS(X)      \
  X(plpis, 0, 0, bool)                   \
  X(vlpis, 1, 1, bool)                   \
  X(dirty, 2, 2, bool)                   \
  X(directlpi, 3, 3, bool)               \
  X(last, 4, 4, bool)                    \
  X(dpgs, 5, 5, bool)                    \
  X(mpam, 6, 6, bool)                    \
  X(rvpeid, 7, 7, bool)                  \
  X(processor_number, 23, 8, uint64_t)   \
  X(commonlpiaff, 25, 24, uint64_t)      \
  X(vsgi, 26, 26, bool)                  \
  X(ppinum, 31, 27, uint64_t)            \
  X(affinity_value, 63, 32, uint64_t)

struct GicrTyper : RegisterValue<GicrTyper> {
  LAMINA_REGISTER_BODY(GicrTyper, "GICR_TYPER", 0, 0, LAMINA_GICR_TYPER_FIELDS)
};

// GICR_WAKER: IHI 0069 "GICR_WAKER, Redistributor Wake Register". Software
// clears ProcessorSleep before the PE uses the Redistributor, then waits for
// ChildrenAsleep to read 0; bits 0 and 31 are IMPLEMENTATION DEFINED.
#define LAMINA_GICR_WAKER_FIELDS(X) \
  X(processor_sleep, 1, 1, bool)    \
  X(children_asleep, 2, 2, bool)

struct GicrWaker : RegisterValue<GicrWaker> {
  LAMINA_REGISTER_BODY(GicrWaker, "GICR_WAKER", ~uint64_t{0x8000'0007}, 0, LAMINA_GICR_WAKER_FIELDS)
};

// The GICR_TYPER.Affinity_Value of a PE: Aff3.Aff2.Aff1.Aff0, one byte each
// from [31:24] down to [7:0] (IHI 0069 "GICR_TYPER", Affinity_Value).
[[nodiscard]] constexpr uint64_t gicr_affinity_value(MpidrEl1 mpidr) {
  return mpidr.get(MpidrEl1::aff0) | (mpidr.get(MpidrEl1::aff1) << 8) | (mpidr.get(MpidrEl1::aff2) << 16) |
         (mpidr.get(MpidrEl1::aff3) << 24);
}

}  // namespace lamina::arch
