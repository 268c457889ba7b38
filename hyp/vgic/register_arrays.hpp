// The per-INTID register arrays the GICv2 and GICv3 Distributors and the
// GICv3 Redistributor's SGI_base frame share, decoded once: the one-bit
// arrays (IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER), IPRIORITYR (one
// byte per INTID) and ICFGR (two bits per INTID). Offsets are those of the
// Distributor map (arch/regs/gicd.hpp, gic::dist), which SGI_base repeats
// for INTIDs 0-31.
#pragma once

#include <cstdint>
#include <optional>

#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic {

enum class BitArrayOp : uint8_t {
  kWrite,  // IGROUPR: the word replaces the bits
  kSet,    // IS*R: 1 sets
  kClear,  // IC*R: 1 clears
};

struct BitArrayRegister {
  BitArray array;
  BitArrayOp op;
  uint32_t first_intid;  // the INTID of bit 0
};

// The one-bit array register at Distributor offset `offset` (a multiple of
// 4 in 0x080-0x3ff), or nothing.
[[nodiscard]] std::optional<BitArrayRegister> decode_bit_array(uint64_t offset);

// Reads are the same for the set and the clear register of a pair.
[[nodiscard]] uint32_t read_bit_array(const VgicState& state, uint32_t vcpu, const BitArrayRegister& reg);
void write_bit_array(VgicState& state, uint32_t vcpu, const BitArrayRegister& reg, uint32_t value);

// IPRIORITYR: `bytes` (1 or 4) priorities from INTID `first_intid`, byte i
// in bits [8i+7:8i]. Absent INTIDs read as zero and ignore writes.
[[nodiscard]] uint32_t read_priorities(const VgicState& state, uint32_t vcpu, uint32_t first_intid,
                                       unsigned bytes);
void write_priorities(VgicState& state, uint32_t vcpu, uint32_t first_intid, unsigned bytes, uint32_t value);

// ICFGR: 16 INTIDs from `first_intid`, Int_config[1] (1 = edge) in bit
// 2i+1; Int_config[0] (bit 2i) is RES0 in GICv3 and reserved in GICv2, so it
// reads as zero and ignores writes.
[[nodiscard]] uint32_t read_config(const VgicState& state, uint32_t vcpu, uint32_t first_intid);
void write_config(VgicState& state, uint32_t vcpu, uint32_t first_intid, uint32_t value);

}  // namespace lamina::hyp::vgic
