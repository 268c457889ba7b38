// PAR_EL1, Physical Address Register: the result of an AT instruction.
// DDI 0487 K.a D23.2 "PAR_EL1".
//
// The register has two layouts, chosen by F (bit 0): the translation's output
// (F = 0) or the fault it hit (F = 1). Their fields overlap (SH[8:7] vs
// PTW[8], NS[9] vs S[9]), so each is its own type, built only from a ParEl1
// whose F matches (like the ISS views of an ESR): code cannot read SH out
// of a fault.
//
// Not modelled: PA[51:48] (FEAT_LPA, 52-bit output addresses; lamina's
// stage-2 output addresses stay below 48 bits), NSE (FEAT_RME) and the
// IMPLEMENTATION DEFINED bits.
#pragma once

#include <cstdint>

#include "arch/regs/common.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

// Bit 11 is RES1 in both layouts (without FEAT_RME).
inline constexpr uint64_t kParEl1Res1 = uint64_t{1} << 11;

#define LAMINA_PAR_EL1_FIELDS(X) X(f, 0, 0, bool)

// PAR_EL1 as read: only F is common to both layouts.
struct ParEl1 : RegisterValue<ParEl1> {
  LAMINA_REGISTER_BODY(ParEl1, "PAR_EL1", 0, kParEl1Res1, LAMINA_PAR_EL1_FIELDS)
  [[nodiscard]] constexpr bool faulted() const { return get(f); }
};

// F = 0: the translation succeeded. ATTR is the resulting memory attribute in
// MAIR_ELx Attr<n> format (for AT S12E1*, stage 1 and stage 2 combined), SH
// the resulting shareability (reported as 0b10 for any Device or Normal
// Non-cacheable memory), PA bits [47:12] of the output address. NS is UNKNOWN
// for a Non-secure translation regime.
#define LAMINA_PAR_EL1_OK_FIELDS(X)    \
  X(f, 0, 0, bool)                     \
  X(sh, 8, 7, Shareability)            \
  X(ns, 9, 9, bool)                    \
  X(pa, 47, 12, uint64_t)              \
  X(attr, 63, 56, uint64_t)

struct ParEl1Ok : RegisterValue<ParEl1Ok> {
  // [6:1] and [55:52] are RES0 in this layout.
  LAMINA_REGISTER_BODY(ParEl1Ok, "PAR_EL1 (F=0)", bit_mask(6, 1) | bit_mask(55, 52), kParEl1Res1,
                       LAMINA_PAR_EL1_OK_FIELDS)
  // Precondition: !par.faulted().
  [[nodiscard]] static constexpr ParEl1Ok from(ParEl1 par) { return ParEl1Ok(par.raw()); }
  // The output address of the translated page (bits [11:0] are zero).
  [[nodiscard]] constexpr uint64_t page_pa() const { return get(pa) << 12; }
};

// F = 1: the translation faulted. FST is a fault status code as in an
// abort's DFSC (translation fault level n = 0b0001nn, permission fault level
// n = 0b0011nn, ...); S says the fault was at stage 2; PTW that it happened
// on the stage-2 walk of a stage-1 table.
#define LAMINA_PAR_EL1_FAULT_FIELDS(X) \
  X(f, 0, 0, bool)                     \
  X(fst, 6, 1, uint64_t)               \
  X(ptw, 8, 8, bool)                   \
  X(s, 9, 9, bool)

struct ParEl1Fault : RegisterValue<ParEl1Fault> {
  // Bit 7 and [47:12] are RES0 in this layout.
  LAMINA_REGISTER_BODY(ParEl1Fault, "PAR_EL1 (F=1)", bit_mask(7, 7) | bit_mask(47, 12), kParEl1Res1,
                       LAMINA_PAR_EL1_FAULT_FIELDS)
  // Precondition: par.faulted().
  [[nodiscard]] static constexpr ParEl1Fault from(ParEl1 par) { return ParEl1Fault(par.raw()); }
};

// Fault status codes (PAR_EL1.FST, ESR ISS DFSC/IFSC): the kind in [5:2], the
// lookup level in [1:0]. DDI 0487 K.a D23.2 "PAR_EL1", field FST, and
// D24.2 "ESR_EL2" ISS encoding for a Data Abort, field DFSC.
[[nodiscard]] constexpr uint64_t translation_fault_status(unsigned level) { return 0b000100 | (level & 0b11); }
[[nodiscard]] constexpr uint64_t permission_fault_status(unsigned level) { return 0b001100 | (level & 0b11); }

}  // namespace lamina::arch
