#include "hyp/vgic/vgic_v2_dist.hpp"

#include "arch/regs/gicd.hpp"

#include "hyp/vgic/identification.hpp"
#include "hyp/vgic/register_arrays.hpp"

namespace lamina::hyp::vgic {

namespace {

namespace dist = arch::gic::dist;
using arch::GicdCtlrV2;
using arch::GicdTyperV2;

constexpr uint32_t kBitsPerByte = 8;

[[nodiscard]] constexpr bool in(uint64_t offset, uint64_t base, uint64_t size) {
  return offset >= base && offset < base + size;
}

// The registers that also take byte accesses (IHI 0048B "Distributor
// register descriptions": byte-accessible).
[[nodiscard]] constexpr bool byte_accessible(uint64_t offset) {
  return in(offset, dist::kIpriorityr, dist::kByteArrayBytes) ||
         in(offset, dist::kItargetsr, dist::kByteArrayBytes) ||
         in(offset, dist::kCpendsgir, dist::kSgiArrayBytes) ||
         in(offset, dist::kSpendsgir, dist::kSgiArrayBytes);
}

}  // namespace

bool VgicV2Distributor::usable(uint32_t vcpu, uint64_t offset, unsigned width_bytes) const {
  if (state_ == nullptr || state_->model() != GicModel::kV2 || vcpu >= state_->vcpu_count()) return false;
  if (offset >= dist::kV2FrameSize || offset % width_bytes != 0) return false;
  return width_bytes == 4 || (width_bytes == 1 && byte_accessible(offset));
}

MmioResult VgicV2Distributor::read(uint32_t vcpu, uint64_t offset, unsigned width_bytes, uint64_t* value) {
  if (!is_mmio_width(width_bytes) || !usable(vcpu, offset, width_bytes)) return MmioResult::kExternalAbort;
  *value = read_reg(vcpu, offset, width_bytes);
  return MmioResult::kOk;
}

MmioResult VgicV2Distributor::write(uint32_t vcpu, uint64_t offset, unsigned width_bytes, uint64_t value) {
  if (!is_mmio_width(width_bytes) || !usable(vcpu, offset, width_bytes)) return MmioResult::kExternalAbort;
  write_reg(vcpu, offset, width_bytes, static_cast<uint32_t>(value & mmio_width_mask(width_bytes)));
  return MmioResult::kOk;
}

uint8_t VgicV2Distributor::target_byte(uint32_t vcpu, uint32_t intid) const {
  if (!state_->exists(vcpu, intid) || state_->vcpu_count() == 1) return 0;
  // INTIDs 0-31: the accessing CPU interface only (read-only).
  if (is_private(intid)) return static_cast<uint8_t>(1u << vcpu);
  return state_->targets(intid);
}

uint32_t VgicV2Distributor::read_reg(uint32_t vcpu, uint64_t offset, unsigned bytes) const {
  switch (offset) {
    case dist::kCtlr:
      return static_cast<uint32_t>(GicdCtlrV2::from_scratch()
                                       .with(GicdCtlrV2::enable_grp0, state_->group_enabled(false))
                                       .with(GicdCtlrV2::enable_grp1, state_->group_enabled(true))
                                       .raw());
    case dist::kTyper:
      return static_cast<uint32_t>(GicdTyperV2::from_scratch()
                                       .with(GicdTyperV2::itlinesnumber, uint64_t{state_->it_lines_number()})
                                       .with(GicdTyperV2::cpunumber, uint64_t{state_->vcpu_count() - 1})
                                       .raw());
    case dist::kIidr: return static_cast<uint32_t>(kIidr.raw());
    default: break;
  }
  if (const auto reg = decode_bit_array(offset)) return read_bit_array(*state_, vcpu, *reg);
  if (in(offset, dist::kIpriorityr, dist::kByteArrayBytes))
    return read_priorities(*state_, vcpu, static_cast<uint32_t>(offset - dist::kIpriorityr), bytes);
  if (in(offset, dist::kItargetsr, dist::kByteArrayBytes)) {
    const auto first = static_cast<uint32_t>(offset - dist::kItargetsr);
    uint32_t value = 0;
    for (unsigned i = 0; i < bytes; ++i)
      value |= uint32_t{target_byte(vcpu, first + i)} << (kBitsPerByte * i);
    return value;
  }
  if (in(offset, dist::kIcfgr, dist::kIcfgrBytes))
    return read_config(*state_, vcpu, static_cast<uint32_t>(offset - dist::kIcfgr) * 4);
  if (in(offset, dist::kCpendsgir, 2 * dist::kSgiArrayBytes)) {
    // Both arrays read the pending sources: byte n of the 16 is SGI n.
    const auto first = static_cast<uint32_t>((offset - dist::kCpendsgir) % dist::kSgiArrayBytes);
    uint32_t value = 0;
    for (unsigned i = 0; i < bytes; ++i)
      value |= uint32_t{state_->sgi_sources(vcpu, first + i)} << (kBitsPerByte * i);
    return value;
  }
  if (in(offset, dist::kV2IdRegs, dist::kIdRegsBytes))
    return id_register(offset - dist::kV2IdRegs, kArchRevGicv2);
  return 0;  // GICD_SGIR (write-only), reserved
}

void VgicV2Distributor::write_reg(uint32_t vcpu, uint64_t offset, unsigned bytes, uint32_t value) {
  if (offset == dist::kCtlr) {
    const GicdCtlrV2 ctlr(value);
    state_->set_group_enables(ctlr.get(GicdCtlrV2::enable_grp0), ctlr.get(GicdCtlrV2::enable_grp1));
    return;
  }
  if (offset == dist::kSgir) {
    state_->send_sgi_v2(vcpu, arch::GicdSgir(value));
    return;
  }
  if (const auto reg = decode_bit_array(offset)) {
    write_bit_array(*state_, vcpu, *reg, value);
    return;
  }
  if (in(offset, dist::kIpriorityr, dist::kByteArrayBytes)) {
    write_priorities(*state_, vcpu, static_cast<uint32_t>(offset - dist::kIpriorityr), bytes, value);
    return;
  }
  if (in(offset, dist::kItargetsr, dist::kByteArrayBytes)) {
    const auto first = static_cast<uint32_t>(offset - dist::kItargetsr);
    for (unsigned i = 0; i < bytes; ++i) {
      const uint32_t intid = first + i;
      if (!is_private(intid)) state_->set_targets(intid, static_cast<uint8_t>(value >> (kBitsPerByte * i)));
    }
    return;
  }
  if (in(offset, dist::kIcfgr, dist::kIcfgrBytes)) {
    write_config(*state_, vcpu, static_cast<uint32_t>(offset - dist::kIcfgr) * 4, value);
    return;
  }
  if (in(offset, dist::kCpendsgir, 2 * dist::kSgiArrayBytes)) {
    const bool set = offset >= dist::kSpendsgir;
    const auto first = static_cast<uint32_t>((offset - dist::kCpendsgir) % dist::kSgiArrayBytes);
    for (unsigned i = 0; i < bytes; ++i) {
      const auto sources = static_cast<uint8_t>(value >> (kBitsPerByte * i));
      if (set) state_->set_sgi_sources(vcpu, first + i, sources);
      else state_->clear_sgi_sources(vcpu, first + i, sources);
    }
    return;
  }
  // GICD_TYPER, IIDR, identification registers: read-only; reserved: WI.
}

}  // namespace lamina::hyp::vgic
