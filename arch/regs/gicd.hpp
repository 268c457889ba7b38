// GIC Distributor (GICD) register map and layouts, GICv3 and GICv2.
//
// GICv3: Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4",
// "The GIC Distributor register descriptions" and "The GIC Distributor
// register map". The layouts below are the ones a GIC with a single
// Security state shows (GICD_CTLR.DS == 1), the only view lamina offers a
// guest.
// GICv2: Arm IHI 0048B "ARM Generic Interrupt Controller Architecture
// Specification, version 2.0", "Distributor register descriptions" and
// "Distributor register map".
//
// The two maps share most offsets (the banked-by-INTID arrays sit at the same
// place); the offsets are in gic::dist, the layouts are value types.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

namespace lamina::arch {

namespace gic {

// A JEP106 identity, as GICD_IIDR.Implementer and the PIDR registers carry it.
inline constexpr uint64_t kJep106Arm = 0x3b;              // identity code
inline constexpr uint64_t kJep106ArmContinuation = 0x4;   // continuation code
// GICD_IIDR.Implementer / GICR_IIDR.Implementer / GICC_IIDR.Implementer:
// [11:8] the continuation code, [7] 0, [6:0] the identity code.
inline constexpr uint64_t kImplementerArm = (kJep106ArmContinuation << 8) | kJep106Arm;  // 0x43b

inline constexpr uint32_t kNumSgis = 16;
inline constexpr uint32_t kNumPrivate = 32;       // SGIs 0-15 and PPIs 16-31
inline constexpr uint32_t kFirstSpecialIntid = 1020;  // 1020-1023: IHI 0069 "Special INTIDs"
inline constexpr uint32_t kMaxSpis = kFirstSpecialIntid - kNumPrivate;  // 988: INTIDs 32-1019

}  // namespace gic

namespace gic::dist {
// Offsets common to GICv2 and GICv3 (the two register maps cited above).
inline constexpr uint64_t kCtlr = 0x0000;
inline constexpr uint64_t kTyper = 0x0004;
inline constexpr uint64_t kIidr = 0x0008;
inline constexpr uint64_t kTyper2 = 0x000c;      // GICv3.1; RES0 before
inline constexpr uint64_t kStatusr = 0x0010;     // GICv3, optional
inline constexpr uint64_t kSetspiNsr = 0x0040;   // GICv3, message-based SPIs
inline constexpr uint64_t kClrspiNsr = 0x0048;
inline constexpr uint64_t kSetspiSr = 0x0050;
inline constexpr uint64_t kClrspiSr = 0x0058;
inline constexpr uint64_t kIgroupr = 0x0080;     // 1 bit per INTID, 0x0080-0x00fc
inline constexpr uint64_t kIsenabler = 0x0100;   // 1 bit per INTID
inline constexpr uint64_t kIcenabler = 0x0180;
inline constexpr uint64_t kIspendr = 0x0200;
inline constexpr uint64_t kIcpendr = 0x0280;
inline constexpr uint64_t kIsactiver = 0x0300;
inline constexpr uint64_t kIcactiver = 0x0380;
inline constexpr uint64_t kIpriorityr = 0x0400;  // 8 bits per INTID, 0x0400-0x07fb
inline constexpr uint64_t kItargetsr = 0x0800;  // 8 bits per INTID, 0x0800-0x0bfb (GICv2; GICv3 with ARE = 0)
inline constexpr uint64_t kIcfgr = 0x0c00;       // 2 bits per INTID, 0x0c00-0x0cfc
inline constexpr uint64_t kIgrpmodr = 0x0d00;    // GICv3, 1 bit per INTID
inline constexpr uint64_t kNsacr = 0x0e00;       // 2 bits per INTID
inline constexpr uint64_t kSgir = 0x0f00;        // GICv2 (GICv3 with ARE = 0)
inline constexpr uint64_t kCpendsgir = 0x0f10;   // 8 bits per SGI, 0x0f10-0x0f1c
inline constexpr uint64_t kSpendsgir = 0x0f20;   // 8 bits per SGI, 0x0f20-0x0f2c
inline constexpr uint64_t kIrouter = 0x6000;     // GICv3, 64 bits per INTID; INTIDs 0-31 reserved

// Sizes of the arrays above: a bit array covers INTIDs 0-1023 (0x80 bytes),
// a byte array 0x400 bytes, ICFGR 0x100 bytes, the SGI byte arrays 0x10.
inline constexpr uint64_t kBitArrayBytes = 0x80;
inline constexpr uint64_t kByteArrayBytes = 0x400;
inline constexpr uint64_t kIcfgrBytes = 0x100;
inline constexpr uint64_t kSgiArrayBytes = 0x10;
// GICD_IROUTER<n> for n = 32..1019 sits at 0x6000 + 8n: 0x6100-0x7fd8.
inline constexpr uint64_t kIrouterEnd = kIrouter + 8 * gic::kFirstSpecialIntid;

// The frame sizes: GICv3 64 KiB, GICv2 4 KiB (the register maps).
inline constexpr uint64_t kV3FrameSize = 0x10000;
inline constexpr uint64_t kV2FrameSize = 0x1000;

// The identification registers (PIDR4-7, PIDR0-3, CIDR0-3), one byte in
// each 32-bit word: at 0xffd0 in a GICv3 frame (IHI 0069
// "Identification registers"), at 0xfd0 in a GICv2 one (IHI 0048B
// "Identification registers"). Only PIDR2.ArchRev is architected; the rest is
// IMPLEMENTATION DEFINED.
inline constexpr uint64_t kV3IdRegs = 0xffd0;
inline constexpr uint64_t kV2IdRegs = 0x0fd0;
inline constexpr uint64_t kIdRegsBytes = 0x30;
// Offsets inside the identification block.
inline constexpr uint64_t kPidr4 = 0x00;
inline constexpr uint64_t kPidr0 = 0x10;
inline constexpr uint64_t kPidr1 = 0x14;
inline constexpr uint64_t kPidr2 = 0x18;
inline constexpr uint64_t kPidr3 = 0x1c;
inline constexpr uint64_t kCidr0 = 0x20;
}  // namespace gic::dist

// GICD_CTLR, single Security state (GICD_CTLR.DS == 1): IHI 0069
// "GICD_CTLR, Distributor Control Register", the layout for a system that
// supports only a single Security state. ARE (affinity routing)
// and DS are RAO/WI in lamina's model; RWP reads 0 because register writes
// take effect at once.
#define LAMINA_GICD_CTLR_FIELDS(X) \
  X(enable_grp0, 0, 0, bool)       \
  X(enable_grp1, 1, 1, bool)       \
  X(are, 4, 4, bool)               \
  X(ds, 6, 6, bool)                \
  X(e1nwf, 7, 7, bool)             \
  X(nassgireq, 8, 8, bool)         \
  X(rwp, 31, 31, bool)

struct GicdCtlr : RegisterValue<GicdCtlr> {
  LAMINA_REGISTER_BODY(GicdCtlr, "GICD_CTLR", ~uint64_t{0x8000'01d3}, 0, LAMINA_GICD_CTLR_FIELDS)
};

// GICD_CTLR of a GICv2 without the Security Extensions: IHI 0048B
// "Distributor Control Register, GICD_CTLR" (the "GICv2 without Security
// Extensions, or Secure copy" layout).
#define LAMINA_GICD_CTLR_V2_FIELDS(X) \
  X(enable_grp0, 0, 0, bool)          \
  X(enable_grp1, 1, 1, bool)

struct GicdCtlrV2 : RegisterValue<GicdCtlrV2> {
  LAMINA_REGISTER_BODY(GicdCtlrV2, "GICD_CTLR (GICv2)", ~uint64_t{0b11}, 0, LAMINA_GICD_CTLR_V2_FIELDS)
};

// GICD_TYPER: IHI 0069 "GICD_TYPER, Interrupt Controller Type
// Register". ITLinesNumber N: the largest SPI INTID is 32(N+1)-1.
// IDbits: the number of interrupt identifier bits, minus one.
#define LAMINA_GICD_TYPER_FIELDS(X) \
  X(itlinesnumber, 4, 0, uint64_t)  \
  X(cpunumber, 7, 5, uint64_t)      \
  X(espi, 8, 8, bool)               \
  X(nmi, 9, 9, bool)                \
  X(securityextn, 10, 10, bool)     \
  X(num_lpis, 15, 11, uint64_t)     \
  X(mbis, 16, 16, bool)             \
  X(lpis, 17, 17, bool)             \
  X(dvis, 18, 18, bool)             \
  X(idbits, 23, 19, uint64_t)       \
  X(a3v, 24, 24, bool)              \
  X(no1n, 25, 25, bool)             \
  X(rss, 26, 26, bool)              \
  X(espi_range, 31, 27, uint64_t)

struct GicdTyper : RegisterValue<GicdTyper> {
  LAMINA_REGISTER_BODY(GicdTyper, "GICD_TYPER", ~uint64_t{0xffff'ffff}, 0, LAMINA_GICD_TYPER_FIELDS)
};

// GICD_TYPER of GICv2: IHI 0048B "Interrupt Controller Type Register,
// GICD_TYPER". CPUNumber is the number of CPU interfaces minus one; LSPI is
// the number of lockable SPIs (Security Extensions only).
#define LAMINA_GICD_TYPER_V2_FIELDS(X) \
  X(itlinesnumber, 4, 0, uint64_t)     \
  X(cpunumber, 7, 5, uint64_t)         \
  X(securityextn, 10, 10, bool)        \
  X(lspi, 15, 11, uint64_t)

struct GicdTyperV2 : RegisterValue<GicdTyperV2> {
  LAMINA_REGISTER_BODY(GicdTyperV2, "GICD_TYPER (GICv2)", ~uint64_t{0xfcff}, 0,
                       LAMINA_GICD_TYPER_V2_FIELDS)
};

// GICD_IIDR (and GICR_IIDR, same layout): IHI 0069 "GICD_IIDR,
// Distributor Implementer Identification Register"; IHI 0048B "Distributor
// Implementer Identification Register, GICD_IIDR".
#define LAMINA_GICD_IIDR_FIELDS(X)  \
  X(implementer, 11, 0, uint64_t)   \
  X(revision, 15, 12, uint64_t)     \
  X(variant, 19, 16, uint64_t)      \
  X(productid, 31, 24, uint64_t)

struct GicdIidr : RegisterValue<GicdIidr> {
  LAMINA_REGISTER_BODY(GicdIidr, "GICD_IIDR", ~uint64_t{0xff0f'ffff}, 0, LAMINA_GICD_IIDR_FIELDS)
};

// GICD_IROUTER<n>: IHI 0069 "GICD_IROUTER<n>, Interrupt Routing
// Registers". With Interrupt_Routing_Mode 0 the SPI goes to the PE whose
// affinity is Aff3.Aff2.Aff1.Aff0; with 1 to any participating PE
// (1 of N).
#define LAMINA_GICD_IROUTER_FIELDS(X)        \
  X(aff0, 7, 0, uint64_t)                    \
  X(aff1, 15, 8, uint64_t)                   \
  X(aff2, 23, 16, uint64_t)                  \
  X(interrupt_routing_mode, 31, 31, bool)    \
  X(aff3, 39, 32, uint64_t)

struct GicdIrouter : RegisterValue<GicdIrouter> {
  LAMINA_REGISTER_BODY(GicdIrouter, "GICD_IROUTER", ~uint64_t{0xff'80ff'ffff}, 0, LAMINA_GICD_IROUTER_FIELDS)
};

// GICD_SGIR (GICv2, write-only): IHI 0048B "Software Generated
// Interrupt Register, GICD_SGIR".
enum class SgirTargetFilter : uint64_t {
  kList = 0b00,        // the CPUs in CPUTargetList
  kAllButSelf = 0b01,  // every CPU interface except the requester's
  kSelf = 0b10,        // only the requester
  kReserved = 0b11,
};

#define LAMINA_GICD_SGIR_FIELDS(X)                  \
  X(sgiintid, 3, 0, uint64_t)                       \
  X(nsatt, 15, 15, bool)                            \
  X(cputargetlist, 23, 16, uint64_t)                \
  X(targetlistfilter, 25, 24, SgirTargetFilter)

struct GicdSgir : RegisterValue<GicdSgir> {
  LAMINA_REGISTER_BODY(GicdSgir, "GICD_SGIR", ~uint64_t{0x3ff'800f}, 0, LAMINA_GICD_SGIR_FIELDS)
};

// The peripheral identification registers PIDR0-4 (one byte each): IHI 0069
// "Identification registers" (GICv3 and GICv2 share the
// CoreSight-style layout). Part number in PIDR0/PIDR1, the JEP106 identity
// split over PIDR1 (DES_0 = code [3:0]), PIDR2 (DES_1 = code [6:4], JEDEC)
// and PIDR4 (DES_2 = continuation code). ArchRev in PIDR2 is the only
// architected field: 0x1 GICv1, 0x2 GICv2, 0x3 GICv3, 0x4 GICv4.
#define LAMINA_GIC_PIDR0_FIELDS(X) X(part_0, 7, 0, uint64_t)
struct GicPidr0 : RegisterValue<GicPidr0> {
  LAMINA_REGISTER_BODY(GicPidr0, "GIC PIDR0", ~uint64_t{0xff}, 0, LAMINA_GIC_PIDR0_FIELDS)
};

#define LAMINA_GIC_PIDR1_FIELDS(X) \
  X(part_1, 3, 0, uint64_t)        \
  X(des_0, 7, 4, uint64_t)
struct GicPidr1 : RegisterValue<GicPidr1> {
  LAMINA_REGISTER_BODY(GicPidr1, "GIC PIDR1", ~uint64_t{0xff}, 0, LAMINA_GIC_PIDR1_FIELDS)
};

#define LAMINA_GIC_PIDR2_FIELDS(X) \
  X(des_1, 2, 0, uint64_t)         \
  X(jedec, 3, 3, bool)             \
  X(archrev, 7, 4, uint64_t)
struct GicPidr2 : RegisterValue<GicPidr2> {
  LAMINA_REGISTER_BODY(GicPidr2, "GIC PIDR2", ~uint64_t{0xff}, 0, LAMINA_GIC_PIDR2_FIELDS)
};

#define LAMINA_GIC_PIDR4_FIELDS(X) \
  X(des_2, 3, 0, uint64_t)         \
  X(size, 7, 4, uint64_t)
struct GicPidr4 : RegisterValue<GicPidr4> {
  LAMINA_REGISTER_BODY(GicPidr4, "GIC PIDR4", ~uint64_t{0xff}, 0, LAMINA_GIC_PIDR4_FIELDS)
};

// The component identification bytes CIDR0-3 every CoreSight-style
// component reports (IHI 0069 "Identification registers").
inline constexpr uint8_t kGicCidr[4] = {0x0d, 0xf0, 0x05, 0xb1};

}  // namespace lamina::arch
