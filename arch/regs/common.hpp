// Encodings shared by several registers.
#pragma once

#include <cstdint>

namespace lamina::arch {

// Cacheability of translation-table walks (TCR_ELx/VTCR_EL2 IRGN0/ORGN0).
// DDI 0487 D19 "TCR_EL2", field IRGN0.
enum class WalkCacheability : uint64_t {
  kNonCacheable = 0b00,
  kWriteBackReadWriteAllocate = 0b01,
  kWriteThroughReadAllocate = 0b10,
  kWriteBackReadAllocate = 0b11,
};

// Shareability (SH0 fields and descriptor SH[9:8]); 0b01 is reserved.
enum class Shareability : uint64_t {
  kNonShareable = 0b00,
  kOuterShareable = 0b10,
  kInnerShareable = 0b11,
};

// TG0 granule encoding of TCR_EL2/VTCR_EL2/TCR_EL1.
// WARNING: TCR_EL1.TG1 encodes granules differently (see tcr_el1.hpp).
enum class Tg0 : uint64_t {
  k4K = 0b00,
  k64K = 0b01,
  k16K = 0b10,
};

// Physical address size, as ID_AA64MMFR0_EL1.PARange encodes it and as
// TCR_EL2.PS / VTCR_EL2.PS / TCR_EL1.IPS take it.
enum class PhysAddrSize : uint64_t {
  k32Bits = 0b0000,
  k36Bits = 0b0001,
  k40Bits = 0b0010,
  k42Bits = 0b0011,
  k44Bits = 0b0100,
  k48Bits = 0b0101,
  k52Bits = 0b0110,
  k56Bits = 0b0111,
};

// Number of address bits of a PhysAddrSize encoding; 0 for a reserved one.
[[nodiscard]] constexpr unsigned phys_addr_bits(PhysAddrSize s) {
  switch (s) {
    case PhysAddrSize::k32Bits: return 32;
    case PhysAddrSize::k36Bits: return 36;
    case PhysAddrSize::k40Bits: return 40;
    case PhysAddrSize::k42Bits: return 42;
    case PhysAddrSize::k44Bits: return 44;
    case PhysAddrSize::k48Bits: return 48;
    case PhysAddrSize::k52Bits: return 52;
    case PhysAddrSize::k56Bits: return 56;
  }
  return 0;
}

// lamina uses the 4K granule without FEAT_LPA2, so every address it
// translates (EL2 VA, IPA, output address) has at most 48 bits.
inline constexpr unsigned kMaxTranslatedAddressBits = 48;

// A CPU's PA size as lamina can use it: capped at kMaxTranslatedAddressBits.
[[nodiscard]] constexpr unsigned usable_address_bits(unsigned pa_bits) {
  return pa_bits > kMaxTranslatedAddressBits ? kMaxTranslatedAddressBits : pa_bits;
}

// Largest encoding not above `bits` (bits >= 32).
[[nodiscard]] constexpr PhysAddrSize phys_addr_size_for_bits(unsigned bits) {
  if (bits >= 56) return PhysAddrSize::k56Bits;
  if (bits >= 52) return PhysAddrSize::k52Bits;
  if (bits >= 48) return PhysAddrSize::k48Bits;
  if (bits >= 44) return PhysAddrSize::k44Bits;
  if (bits >= 42) return PhysAddrSize::k42Bits;
  if (bits >= 40) return PhysAddrSize::k40Bits;
  if (bits >= 36) return PhysAddrSize::k36Bits;
  return PhysAddrSize::k32Bits;
}

}  // namespace lamina::arch
