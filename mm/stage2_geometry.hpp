// Stage-2 translation geometry for the 4K granule: from an IPA size, the
// start level, the number of concatenated root tables and the VTCR_EL2
// T0SZ/SL0 encoding. DDI 0487 K.a D8.2.7 "The VMSAv8-64 translation table
// format" (Table D8-16 "Stage 2 translation: 4KB granule, start level and
// concatenation") and D23.2 "VTCR_EL2", field SL0.
#pragma once

#include <cstdint>

#include "arch/regs/common.hpp"
#include "hyp/lib/result.hpp"

namespace lamina::mm {

struct Stage2Geometry {
  unsigned ipa_bits = 0;
  unsigned start_level = 0;      // 0, 1 or 2
  unsigned levels = 0;           // 4 - start_level
  unsigned concatenated_tables = 1;  // 1..16 root tables, contiguous and aligned to their total size
  uint64_t t0sz = 0;             // VTCR_EL2.T0SZ = 64 - ipa_bits
  uint64_t sl0 = 0;              // VTCR_EL2.SL0 for TG0 = 4K
};

enum class GeometryError {
  kIpaTooSmall,          // below 32 bits
  kIpaTooLarge,          // above 48 bits (52-bit IPAs need FEAT_LPA2, which lamina does not use)
  kIpaAbovePhysical,     // larger than the CPU's physical address size (ID_AA64MMFR0_EL1.PARange)
  kReservedPhysAddrSize, // PARange holds an encoding the architecture reserves
};

[[nodiscard]] const char* geometry_error_name(GeometryError e);

// Chooses the fewest levels that cover `ipa_bits`, using up to 16
// concatenated root tables (as Linux KVM does), for 32 <= ipa_bits <= 48.
// 52-bit IPAs need FEAT_LPA2 and are refused.
[[nodiscard]] Result<Stage2Geometry, GeometryError> stage2_geometry(unsigned ipa_bits);

// The geometry for a VM on a CPU whose ID_AA64MMFR0_EL1.PARange is
// `parange`: `requested_ipa_bits` 0 means "as large as the CPU allows"
// (its PA size, capped at 48 bits); otherwise the request must fit the CPU
// (kIpaAbovePhysical) and lamina's limits (32..48 bits). The IPA size is
// thus chosen at run time, per CPU and per VM, never at build time.
[[nodiscard]] Result<Stage2Geometry, GeometryError> stage2_geometry_for(arch::PhysAddrSize parange,
                                                                        unsigned requested_ipa_bits);

}  // namespace lamina::mm
