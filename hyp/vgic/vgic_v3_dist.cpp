#include "hyp/vgic/vgic_v3_dist.hpp"

#include "arch/regs/gicd.hpp"

#include "hyp/vgic/identification.hpp"
#include "hyp/vgic/register_arrays.hpp"

namespace lamina::hyp::vgic {

namespace {

namespace dist = arch::gic::dist;
using arch::GicdCtlr;
using arch::GicdTyper;

// GICD_TYPER.IDbits: 10 INTID bits (0-1023), minus one.
constexpr uint64_t kIdBits = 10 - 1;
constexpr uint64_t kIrouterBytes = 8;

[[nodiscard]] constexpr bool in(uint64_t offset, uint64_t base, uint64_t size) {
  return offset >= base && offset < base + size;
}

// The SPI whose GICD_IROUTER<n> (or one half of it) is at `offset`, inside
// the IROUTER array; INTIDs 0-31 and 1020-1023 have none.
[[nodiscard]] constexpr uint32_t irouter_intid(uint64_t offset) {
  return static_cast<uint32_t>((offset - dist::kIrouter) / kIrouterBytes);
}

}  // namespace

MmioResult VgicV3Distributor::read(uint64_t offset, unsigned width_bytes, uint64_t* value) {
  if (state_ == nullptr || state_->model() != GicModel::kV3) return MmioResult::kExternalAbort;
  if (!is_mmio_width(width_bytes) || offset % width_bytes != 0 || offset >= dist::kV3FrameSize)
    return MmioResult::kExternalAbort;
  switch (width_bytes) {
    case 4: *value = read32(offset); return MmioResult::kOk;
    case 8:
      if (!in(offset, dist::kIrouter, dist::kIrouterEnd - dist::kIrouter)) return MmioResult::kExternalAbort;
      *value = state_->irouter(irouter_intid(offset));
      return MmioResult::kOk;
    case 1:
      if (in(offset, dist::kIpriorityr, dist::kByteArrayBytes)) {
        const auto intid = static_cast<uint32_t>(offset - dist::kIpriorityr);
        *value = is_private(intid) ? 0 : read_priorities(*state_, 0, intid, 1);
        return MmioResult::kOk;
      }
      if (in(offset, dist::kItargetsr, dist::kByteArrayBytes) ||
          in(offset, dist::kCpendsgir, 2 * dist::kSgiArrayBytes)) {
        *value = 0;  // RAZ/WI with affinity routing
        return MmioResult::kOk;
      }
      return MmioResult::kExternalAbort;
    default: return MmioResult::kExternalAbort;  // 16-bit: only the message-based SPI registers (MBIS = 0)
  }
}

MmioResult VgicV3Distributor::write(uint64_t offset, unsigned width_bytes, uint64_t value) {
  if (state_ == nullptr || state_->model() != GicModel::kV3) return MmioResult::kExternalAbort;
  if (!is_mmio_width(width_bytes) || offset % width_bytes != 0 || offset >= dist::kV3FrameSize)
    return MmioResult::kExternalAbort;
  value &= mmio_width_mask(width_bytes);
  switch (width_bytes) {
    case 4: write32(offset, static_cast<uint32_t>(value)); return MmioResult::kOk;
    case 8:
      if (!in(offset, dist::kIrouter, dist::kIrouterEnd - dist::kIrouter)) return MmioResult::kExternalAbort;
      state_->set_irouter(irouter_intid(offset), value);
      return MmioResult::kOk;
    case 1:
      if (in(offset, dist::kIpriorityr, dist::kByteArrayBytes)) {
        const auto intid = static_cast<uint32_t>(offset - dist::kIpriorityr);
        if (!is_private(intid)) write_priorities(*state_, 0, intid, 1, static_cast<uint32_t>(value));
        return MmioResult::kOk;
      }
      if (in(offset, dist::kItargetsr, dist::kByteArrayBytes) ||
          in(offset, dist::kCpendsgir, 2 * dist::kSgiArrayBytes))
        return MmioResult::kOk;
      return MmioResult::kExternalAbort;
    default: return MmioResult::kExternalAbort;
  }
}

uint32_t VgicV3Distributor::read32(uint64_t offset) const {
  switch (offset) {
    case dist::kCtlr:
      return static_cast<uint32_t>(GicdCtlr::from_scratch()
                                       .with(GicdCtlr::enable_grp0, state_->group_enabled(false))
                                       .with(GicdCtlr::enable_grp1, state_->group_enabled(true))
                                       .with(GicdCtlr::are, true)
                                       .with(GicdCtlr::ds, true)
                                       .raw());
    case dist::kTyper:
      return static_cast<uint32_t>(GicdTyper::from_scratch()
                                       .with(GicdTyper::itlinesnumber, uint64_t{state_->it_lines_number()})
                                       .with(GicdTyper::idbits, kIdBits)
                                       .with(GicdTyper::a3v, true)
                                       .with(GicdTyper::no1n, true)
                                       .raw());
    case dist::kIidr: return static_cast<uint32_t>(kIidr.raw());
    default: break;
  }
  if (const auto reg = decode_bit_array(offset)) {
    if (is_private(reg->first_intid)) return 0;  // the Redistributors' (ARE = 1)
    return read_bit_array(*state_, 0, *reg);
  }
  if (in(offset, dist::kIpriorityr, dist::kByteArrayBytes)) {
    const auto intid = static_cast<uint32_t>(offset - dist::kIpriorityr);
    return is_private(intid) ? 0 : read_priorities(*state_, 0, intid, 4);
  }
  if (in(offset, dist::kIcfgr, dist::kIcfgrBytes)) {
    const auto intid = static_cast<uint32_t>(offset - dist::kIcfgr) * 4;
    return is_private(intid) ? 0 : read_config(*state_, 0, intid);
  }
  if (in(offset, dist::kIrouter, dist::kIrouterEnd - dist::kIrouter)) {
    const uint64_t r = state_->irouter(irouter_intid(offset));
    return static_cast<uint32_t>(offset % kIrouterBytes == 0 ? r : r >> 32);
  }
  if (in(offset, dist::kV3IdRegs, dist::kIdRegsBytes))
    return id_register(offset - dist::kV3IdRegs, kArchRevGicv3);
  // GICD_TYPER2, STATUSR, the SETSPI/CLRSPI registers (MBIS = 0),
  // ITARGETSR, IGRPMODR, NSACR, SGIR (write-only), C/SPENDSGIR, reserved.
  return 0;
}

void VgicV3Distributor::write32(uint64_t offset, uint32_t value) {
  if (offset == dist::kCtlr) {
    const GicdCtlr ctlr(value);
    state_->set_group_enables(ctlr.get(GicdCtlr::enable_grp0), ctlr.get(GicdCtlr::enable_grp1));
    return;
  }
  if (const auto reg = decode_bit_array(offset)) {
    if (!is_private(reg->first_intid)) write_bit_array(*state_, 0, *reg, value);
    return;
  }
  if (in(offset, dist::kIpriorityr, dist::kByteArrayBytes)) {
    const auto intid = static_cast<uint32_t>(offset - dist::kIpriorityr);
    if (!is_private(intid)) write_priorities(*state_, 0, intid, 4, value);
    return;
  }
  if (in(offset, dist::kIcfgr, dist::kIcfgrBytes)) {
    const auto intid = static_cast<uint32_t>(offset - dist::kIcfgr) * 4;
    if (!is_private(intid)) write_config(*state_, 0, intid, value);
    return;
  }
  if (in(offset, dist::kIrouter, dist::kIrouterEnd - dist::kIrouter)) {
    const uint32_t intid = irouter_intid(offset);
    const uint64_t old = state_->irouter(intid);
    const uint64_t updated = offset % kIrouterBytes == 0 ? (old & ~uint64_t{0xffff'ffff}) | value
                                                         : (old & 0xffff'ffff) | (uint64_t{value} << 32);
    state_->set_irouter(intid, updated);
    return;
  }
  // Everything else is read-only, RAZ/WI or reserved.
}

}  // namespace lamina::hyp::vgic
