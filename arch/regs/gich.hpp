// The GIC virtualization control interface: the GICv3 ICH_*_EL2 system
// registers and the GICv2 GICH memory-mapped frame.
//
// GICv3: Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4",
// "AArch64 virtualization control System registers" (ICH_HCR_EL2,
// ICH_VTR_EL2, ICH_VMCR_EL2, ICH_MISR_EL2, ICH_LR<n>_EL2).
// GICv2: Arm IHI 0048B "ARM Generic Interrupt Controller Architecture
// Specification, version 2.0", "GIC virtual interface control
// registers" (GICH_HCR, GICH_VTR, GICH_VMCR, GICH_MISR, GICH_LRn).
//
// A list register has two layouts, chosen by its HW bit: with HW = 0 the
// bits above the virtual INTID carry the EOI-maintenance request (and, in
// GICv2, the SGI source CPUID); with HW = 1 the same bits carry the physical
// INTID the guest's deactivation is forwarded to. Each layout is its own
// type (IchLrEl2 / IchLrEl2Hw, GichLr / GichLrHw) so that no field overlaps
// another; the common fields sit at the same positions in both.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

namespace lamina::arch {

// The State field of a list register (ICH_LR<n>_EL2.State, GICH_LRn.State):
// the same encoding in GICv2 and GICv3.
enum class LrState : uint64_t {
  kInvalid = 0b00,
  kPending = 0b01,
  kActive = 0b10,
  kPendingActive = 0b11,
};

// ICH_LR<n>_EL2, HW == 0: IHI 0069 "ICH_LR<n>_EL2, Interrupt Controller List
// Registers". EOI asks for a maintenance interrupt when the guest
// deactivates the interrupt (ICH_MISR_EL2.EOI). NMI is GICv3.3 (FEAT_GICv3_NMI).
#define LAMINA_ICH_LR_COMMON_FIELDS(X) \
  X(vintid, 31, 0, uint64_t)           \
  X(priority, 55, 48, uint64_t)        \
  X(nmi, 59, 59, bool)                 \
  X(group, 60, 60, bool)               \
  X(hw, 61, 61, bool)                  \
  X(state, 63, 62, LrState)

#define LAMINA_ICH_LR_FIELDS(X)  \
  LAMINA_ICH_LR_COMMON_FIELDS(X) \
  X(eoi, 41, 41, bool)

#define LAMINA_ICH_LR_HW_FIELDS(X) \
  LAMINA_ICH_LR_COMMON_FIELDS(X)   \
  X(pintid, 44, 32, uint64_t)

struct IchLrEl2 : RegisterValue<IchLrEl2> {
  LAMINA_REGISTER_BODY(IchLrEl2, "ICH_LR<n>_EL2", 0x0700'fdff'0000'0000ull, 0, LAMINA_ICH_LR_FIELDS)
};
struct IchLrEl2Hw : RegisterValue<IchLrEl2Hw> {
  LAMINA_REGISTER_BODY(IchLrEl2Hw, "ICH_LR<n>_EL2 (HW)", 0x0700'e000'0000'0000ull, 0, LAMINA_ICH_LR_HW_FIELDS)
};

// ICH_HCR_EL2: IHI 0069 "ICH_HCR_EL2, Interrupt Controller Hyp Control
// Register". UIE: maintenance interrupt while at most one list register
// holds a valid interrupt (underflow); LRENPIE: while EOIcount != 0 (an EOI
// found no list register); NPIE: while no list register is pending; the
// VGrp*IE bits on the guest's group enables. TC/TALL0/TALL1/TDIR trap the
// guest's CPU-interface accesses to EL2.
#define LAMINA_ICH_HCR_EL2_FIELDS(X) \
  X(en, 0, 0, bool)                  \
  X(uie, 1, 1, bool)                 \
  X(lrenpie, 2, 2, bool)             \
  X(npie, 3, 3, bool)                \
  X(vgrp0eie, 4, 4, bool)            \
  X(vgrp0die, 5, 5, bool)            \
  X(vgrp1eie, 6, 6, bool)            \
  X(vgrp1die, 7, 7, bool)            \
  X(tc, 10, 10, bool)                \
  X(tall0, 11, 11, bool)             \
  X(tall1, 12, 12, bool)             \
  X(tsei, 13, 13, bool)              \
  X(tdir, 14, 14, bool)              \
  X(eoicount, 31, 27, uint64_t)

struct IchHcrEl2 : RegisterValue<IchHcrEl2> {
  LAMINA_REGISTER_BODY(IchHcrEl2, "ICH_HCR_EL2", ~uint64_t{0xffff'ffff}, 0, LAMINA_ICH_HCR_EL2_FIELDS)
};

// ICH_VTR_EL2: IHI 0069 "ICH_VTR_EL2, Interrupt Controller VGIC Type
// Register". ListRegs, PREbits and PRIbits hold the number minus one.
#define LAMINA_ICH_VTR_EL2_FIELDS(X) \
  X(listregs, 4, 0, uint64_t)        \
  X(tds, 19, 19, bool)               \
  X(nv4, 20, 20, bool)               \
  X(a3v, 21, 21, bool)               \
  X(seis, 22, 22, bool)              \
  X(idbits, 25, 23, uint64_t)        \
  X(prebits, 28, 26, uint64_t)       \
  X(pribits, 31, 29, uint64_t)

struct IchVtrEl2 : RegisterValue<IchVtrEl2> {
  LAMINA_REGISTER_BODY(IchVtrEl2, "ICH_VTR_EL2", ~uint64_t{0xffff'ffff}, 0, LAMINA_ICH_VTR_EL2_FIELDS)
};

// ICH_VMCR_EL2: IHI 0069 "ICH_VMCR_EL2, Interrupt Controller Virtual
// Machine Control Register": the guest's view of its CPU interface state
// (priority mask, binary points, group enables, EOI mode).
#define LAMINA_ICH_VMCR_EL2_FIELDS(X) \
  X(veng0, 0, 0, bool)                \
  X(veng1, 1, 1, bool)                \
  X(vackctl, 2, 2, bool)              \
  X(vfiqen, 3, 3, bool)               \
  X(vcbpr, 4, 4, bool)                \
  X(veoim, 9, 9, bool)                \
  X(vbpr1, 20, 18, uint64_t)          \
  X(vbpr0, 23, 21, uint64_t)          \
  X(vpmr, 31, 24, uint64_t)

struct IchVmcrEl2 : RegisterValue<IchVmcrEl2> {
  LAMINA_REGISTER_BODY(IchVmcrEl2, "ICH_VMCR_EL2", ~uint64_t{0xfffc'021f}, 0, LAMINA_ICH_VMCR_EL2_FIELDS)
};

// ICH_MISR_EL2: IHI 0069 "ICH_MISR_EL2, Interrupt Controller Maintenance
// Interrupt State Register": which maintenance condition is asserted.
#define LAMINA_ICH_MISR_EL2_FIELDS(X) \
  X(eoi, 0, 0, bool)                  \
  X(u, 1, 1, bool)                    \
  X(lrenp, 2, 2, bool)                \
  X(np, 3, 3, bool)                   \
  X(vgrp0e, 4, 4, bool)               \
  X(vgrp0d, 5, 5, bool)               \
  X(vgrp1e, 6, 6, bool)               \
  X(vgrp1d, 7, 7, bool)

struct IchMisrEl2 : RegisterValue<IchMisrEl2> {
  LAMINA_REGISTER_BODY(IchMisrEl2, "ICH_MISR_EL2", ~uint64_t{0xff}, 0, LAMINA_ICH_MISR_EL2_FIELDS)
};

// ---------------------------------------------------------------------------
// GICv2 GICH frame (IHI 0048B "GIC virtual interface control registers").
namespace gic::gich {
inline constexpr uint64_t kHcr = 0x000;
inline constexpr uint64_t kVtr = 0x004;
inline constexpr uint64_t kVmcr = 0x008;
inline constexpr uint64_t kMisr = 0x010;
inline constexpr uint64_t kEisr0 = 0x020;
inline constexpr uint64_t kEisr1 = 0x024;
inline constexpr uint64_t kElrsr0 = 0x030;
inline constexpr uint64_t kElrsr1 = 0x034;
inline constexpr uint64_t kApr = 0x0f0;
inline constexpr uint64_t kLr0 = 0x100;  // GICH_LRn at 0x100 + 4n, n < 64
inline constexpr uint64_t kFrameSize = 0x200;
}  // namespace gic::gich

// GICH_LRn, HW == 0: IHI 0048B "List Registers, GICH_LRn". CPUID is the
// source CPU of an SGI (it appears in the guest's GICV_IAR); EOI asks for a
// maintenance interrupt on deactivation. Priority holds priority [7:3].
#define LAMINA_GICH_LR_COMMON_FIELDS(X) \
  X(virtualid, 9, 0, uint64_t)          \
  X(priority, 27, 23, uint64_t)         \
  X(state, 29, 28, LrState)             \
  X(grp1, 30, 30, bool)                 \
  X(hw, 31, 31, bool)

#define LAMINA_GICH_LR_FIELDS(X)  \
  LAMINA_GICH_LR_COMMON_FIELDS(X) \
  X(cpuid, 12, 10, uint64_t)      \
  X(eoi, 19, 19, bool)

#define LAMINA_GICH_LR_HW_FIELDS(X) \
  LAMINA_GICH_LR_COMMON_FIELDS(X)   \
  X(physicalid, 19, 10, uint64_t)

struct GichLr : RegisterValue<GichLr> {
  LAMINA_REGISTER_BODY(GichLr, "GICH_LR", ~uint64_t{0xff88'1fff}, 0, LAMINA_GICH_LR_FIELDS)
};
struct GichLrHw : RegisterValue<GichLrHw> {
  LAMINA_REGISTER_BODY(GichLrHw, "GICH_LR (HW)", ~uint64_t{0xff8f'ffff}, 0, LAMINA_GICH_LR_HW_FIELDS)
};

// GICH_HCR: IHI 0048B "Hypervisor Control Register, GICH_HCR" (the same
// maintenance enables as ICH_HCR_EL2, without the trap controls).
#define LAMINA_GICH_HCR_FIELDS(X) \
  X(en, 0, 0, bool)               \
  X(uie, 1, 1, bool)              \
  X(lrenpie, 2, 2, bool)          \
  X(npie, 3, 3, bool)             \
  X(vgrp0eie, 4, 4, bool)         \
  X(vgrp0die, 5, 5, bool)         \
  X(vgrp1eie, 6, 6, bool)         \
  X(vgrp1die, 7, 7, bool)         \
  X(eoicount, 31, 27, uint64_t)

struct GichHcr : RegisterValue<GichHcr> {
  LAMINA_REGISTER_BODY(GichHcr, "GICH_HCR", ~uint64_t{0xf800'00ff}, 0, LAMINA_GICH_HCR_FIELDS)
};

// GICH_VTR: IHI 0048B "VGIC Type Register, GICH_VTR". ListRegs, PREbits
// and PRIbits hold the number minus one.
#define LAMINA_GICH_VTR_FIELDS(X) \
  X(listregs, 5, 0, uint64_t)     \
  X(prebits, 28, 26, uint64_t)    \
  X(pribits, 31, 29, uint64_t)

struct GichVtr : RegisterValue<GichVtr> {
  LAMINA_REGISTER_BODY(GichVtr, "GICH_VTR", ~uint64_t{0xfc00'003f}, 0, LAMINA_GICH_VTR_FIELDS)
};

// GICH_VMCR: IHI 0048B "Virtual Machine Control Register, GICH_VMCR": the
// guest's GICV_CTLR, GICV_PMR, GICV_BPR and GICV_ABPR state.
#define LAMINA_GICH_VMCR_FIELDS(X) \
  X(vmgrp0en, 0, 0, bool)          \
  X(vmgrp1en, 1, 1, bool)          \
  X(vmackctl, 2, 2, bool)          \
  X(vmfiqen, 3, 3, bool)           \
  X(vmcbpr, 4, 4, bool)            \
  X(vem, 9, 9, bool)               \
  X(vmabp, 20, 18, uint64_t)       \
  X(vmbp, 23, 21, uint64_t)        \
  X(vmprimask, 31, 27, uint64_t)

struct GichVmcr : RegisterValue<GichVmcr> {
  LAMINA_REGISTER_BODY(GichVmcr, "GICH_VMCR", ~uint64_t{0xf8fc'021f}, 0, LAMINA_GICH_VMCR_FIELDS)
};

// GICH_MISR: IHI 0048B "Maintenance Interrupt Status Register, GICH_MISR".
#define LAMINA_GICH_MISR_FIELDS(X) \
  X(eoi, 0, 0, bool)               \
  X(u, 1, 1, bool)                 \
  X(lrenp, 2, 2, bool)             \
  X(np, 3, 3, bool)                \
  X(vgrp0e, 4, 4, bool)            \
  X(vgrp0d, 5, 5, bool)            \
  X(vgrp1e, 6, 6, bool)            \
  X(vgrp1d, 7, 7, bool)

struct GichMisr : RegisterValue<GichMisr> {
  LAMINA_REGISTER_BODY(GichMisr, "GICH_MISR", ~uint64_t{0xff}, 0, LAMINA_GICH_MISR_FIELDS)
};

}  // namespace lamina::arch
