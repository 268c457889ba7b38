#include "hyp/vgic/register_arrays.hpp"

#include "arch/regs/gicd.hpp"

namespace lamina::hyp::vgic {

namespace {

namespace dist = arch::gic::dist;

constexpr uint32_t kBitsPerByte = 8;
constexpr uint32_t kIntidsPerConfigWord = 16;
constexpr uint32_t kEdgeBit = 0b10;  // Int_config[1] of a 2-bit field

}  // namespace

std::optional<BitArrayRegister> decode_bit_array(uint64_t offset) {
  struct Range {
    uint64_t base;
    BitArray array;
    BitArrayOp op;
  };
  static constexpr Range kRanges[] = {
      {dist::kIgroupr, BitArray::kGroup, BitArrayOp::kWrite},
      {dist::kIsenabler, BitArray::kEnable, BitArrayOp::kSet},
      {dist::kIcenabler, BitArray::kEnable, BitArrayOp::kClear},
      {dist::kIspendr, BitArray::kPending, BitArrayOp::kSet},
      {dist::kIcpendr, BitArray::kPending, BitArrayOp::kClear},
      {dist::kIsactiver, BitArray::kActive, BitArrayOp::kSet},
      {dist::kIcactiver, BitArray::kActive, BitArrayOp::kClear},
  };
  for (const Range& r : kRanges) {
    if (offset >= r.base && offset < r.base + dist::kBitArrayBytes)
      return BitArrayRegister{r.array, r.op, static_cast<uint32_t>(offset - r.base) * kBitsPerByte};
  }
  return std::nullopt;
}

uint32_t read_bit_array(const VgicState& state, uint32_t vcpu, const BitArrayRegister& reg) {
  return state.read_bits(reg.array, vcpu, reg.first_intid);
}

void write_bit_array(VgicState& state, uint32_t vcpu, const BitArrayRegister& reg, uint32_t value) {
  switch (reg.op) {
    case BitArrayOp::kWrite: state.write_groups(vcpu, reg.first_intid, value); return;
    case BitArrayOp::kSet: state.set_bits(reg.array, vcpu, reg.first_intid, value); return;
    case BitArrayOp::kClear: state.clear_bits(reg.array, vcpu, reg.first_intid, value); return;
  }
}

uint32_t read_priorities(const VgicState& state, uint32_t vcpu, uint32_t first_intid, unsigned bytes) {
  uint32_t value = 0;
  for (unsigned i = 0; i < bytes; ++i)
    value |= uint32_t{state.priority(vcpu, first_intid + i)} << (kBitsPerByte * i);
  return value;
}

void write_priorities(VgicState& state, uint32_t vcpu, uint32_t first_intid, unsigned bytes, uint32_t value) {
  for (unsigned i = 0; i < bytes; ++i)
    state.set_priority(vcpu, first_intid + i, static_cast<uint8_t>(value >> (kBitsPerByte * i)));
}

uint32_t read_config(const VgicState& state, uint32_t vcpu, uint32_t first_intid) {
  uint32_t value = 0;
  for (uint32_t i = 0; i < kIntidsPerConfigWord; ++i)
    if (state.is_edge(vcpu, first_intid + i)) value |= kEdgeBit << (2 * i);
  return value;
}

void write_config(VgicState& state, uint32_t vcpu, uint32_t first_intid, uint32_t value) {
  for (uint32_t i = 0; i < kIntidsPerConfigWord; ++i) {
    const uint32_t intid = first_intid + i;
    if (!state.exists(vcpu, intid)) continue;
    const bool edge = ((value >> (2 * i)) & kEdgeBit) != 0;
    if (edge != state.is_edge(vcpu, intid)) state.set_edge(vcpu, intid, edge);
  }
}

}  // namespace lamina::hyp::vgic
