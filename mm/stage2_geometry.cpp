#include "mm/stage2_geometry.hpp"

namespace lamina::mm {

namespace {
constexpr unsigned kPageBits = 12;
constexpr unsigned kBitsPerLevel = 9;
constexpr unsigned kMaxConcatBits = 4;  // up to 16 concatenated tables
}  // namespace

Result<Stage2Geometry, GeometryError> stage2_geometry(unsigned ipa_bits) {
  if (ipa_bits < 32) return Err{GeometryError::kIpaTooSmall};
  if (ipa_bits > arch::kMaxTranslatedAddressBits) return Err{GeometryError::kIpaTooLarge};

  Stage2Geometry g;
  g.ipa_bits = ipa_bits;
  // Bits the levels must resolve once the root may be concatenated.
  const unsigned walk_bits = ipa_bits - kPageBits;
  unsigned levels = (walk_bits - kMaxConcatBits + kBitsPerLevel - 1) / kBitsPerLevel;
  if (levels < 2) levels = 2;  // start level 3 needs FEAT_TTST
  g.levels = levels;
  g.start_level = 4 - levels;
  const unsigned resolved = levels * kBitsPerLevel;
  g.concatenated_tables = walk_bits > resolved ? 1u << (walk_bits - resolved) : 1u;
  g.t0sz = 64 - ipa_bits;
  // SL0 with TG0 = 4K: 0b00 = level 2, 0b01 = level 1, 0b10 = level 0.
  g.sl0 = 2 - g.start_level;
  return g;
}

const char* geometry_error_name(GeometryError e) {
  switch (e) {
    case GeometryError::kIpaTooSmall: return "IPA size below 32 bits";
    case GeometryError::kIpaTooLarge: return "IPA size above 48 bits (52-bit IPAs need FEAT_LPA2, not supported)";
    case GeometryError::kIpaAbovePhysical: return "IPA size larger than the CPU's physical address size";
    case GeometryError::kReservedPhysAddrSize: return "reserved PARange encoding";
  }
  return "unknown geometry error";
}

Result<Stage2Geometry, GeometryError> stage2_geometry_for(arch::PhysAddrSize parange, unsigned requested_ipa_bits) {
  const unsigned pa_bits = arch::phys_addr_bits(parange);
  if (pa_bits == 0) return Err{GeometryError::kReservedPhysAddrSize};
  if (requested_ipa_bits == 0) return stage2_geometry(arch::usable_address_bits(pa_bits));
  if (requested_ipa_bits > pa_bits) return Err{GeometryError::kIpaAbovePhysical};
  return stage2_geometry(requested_ipa_bits);
}

}  // namespace lamina::mm
