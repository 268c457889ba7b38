#include "hyp/vgic/vgic_v3_redist.hpp"

#include "arch/regs/gicd.hpp"
#include "arch/regs/id_regs.hpp"

#include "hyp/vgic/identification.hpp"
#include "hyp/vgic/register_arrays.hpp"

namespace lamina::hyp::vgic {

namespace {

namespace redist = arch::gic::redist;
namespace dist = arch::gic::dist;
using arch::GicrTyper;
using arch::GicrWaker;

[[nodiscard]] constexpr bool in(uint64_t offset, uint64_t base, uint64_t size) {
  return offset >= base && offset < base + size;
}

// The 64-bit RD_base registers; with PLPIS = 0 all but GICR_TYPER are
// RAZ/WI (IHI 0069 "GICR_PROPBASER", "GICR_PENDBASER", ...: RES0 when LPIs
// are not supported).
[[nodiscard]] constexpr bool is_rd_64bit(uint64_t reg) {
  return reg == redist::kTyper || reg == redist::kSetlpir || reg == redist::kClrlpir ||
         reg == redist::kPropbaser || reg == redist::kPendbaser || reg == redist::kInvlpir ||
         reg == redist::kInvallr;
}

}  // namespace

MmioResult VgicV3Redistributors::read(uint64_t offset, unsigned width_bytes, uint64_t* value) {
  if (state_ == nullptr || state_->model() != GicModel::kV3) return MmioResult::kExternalAbort;
  if (!is_mmio_width(width_bytes) || offset % width_bytes != 0 || offset >= region_size(state_->vcpu_count()))
    return MmioResult::kExternalAbort;
  const auto vcpu = static_cast<uint32_t>(offset / redist::kStride);
  const uint64_t in_frame = offset % redist::kStride;
  if (in_frame < redist::kSgiBase) return read_rd(vcpu, in_frame, width_bytes, value);
  return read_sgi(vcpu, in_frame - redist::kSgiBase, width_bytes, value);
}

MmioResult VgicV3Redistributors::write(uint64_t offset, unsigned width_bytes, uint64_t value) {
  if (state_ == nullptr || state_->model() != GicModel::kV3) return MmioResult::kExternalAbort;
  if (!is_mmio_width(width_bytes) || offset % width_bytes != 0 || offset >= region_size(state_->vcpu_count()))
    return MmioResult::kExternalAbort;
  value &= mmio_width_mask(width_bytes);
  const auto vcpu = static_cast<uint32_t>(offset / redist::kStride);
  const uint64_t in_frame = offset % redist::kStride;
  if (in_frame < redist::kSgiBase) return write_rd(vcpu, in_frame, width_bytes, value);
  return write_sgi(vcpu, in_frame - redist::kSgiBase, width_bytes, value);
}

uint64_t VgicV3Redistributors::typer(uint32_t vcpu) const {
  return GicrTyper::from_scratch()
      .with(GicrTyper::affinity_value, arch::gicr_affinity_value(arch::MpidrEl1(state_->mpidr(vcpu))))
      .with(GicrTyper::processor_number, uint64_t{vcpu})
      .with(GicrTyper::last, vcpu + 1 == state_->vcpu_count())
      .raw();
}

MmioResult VgicV3Redistributors::read_rd(uint32_t vcpu, uint64_t reg, unsigned width_bytes,
                                         uint64_t* value) const {
  if (width_bytes == 8) {
    // A 64-bit register: GICR_TYPER; the LPI ones read as zero.
    if (!is_rd_64bit(reg)) return MmioResult::kExternalAbort;
    *value = reg == redist::kTyper ? typer(vcpu) : 0;
    return MmioResult::kOk;
  }
  if (width_bytes != 4) return MmioResult::kExternalAbort;
  switch (reg) {
    case redist::kIidr: *value = kIidr.raw(); return MmioResult::kOk;
    case redist::kTyper: *value = typer(vcpu) & 0xffff'ffff; return MmioResult::kOk;
    case redist::kTyper + 4: *value = typer(vcpu) >> 32; return MmioResult::kOk;
    case redist::kWaker: {
      const bool asleep = processor_sleep_[vcpu];
      *value = GicrWaker::from_scratch()
                   .with(GicrWaker::processor_sleep, asleep)
                   .with(GicrWaker::children_asleep, asleep)
                   .raw();
      return MmioResult::kOk;
    }
    default: break;
  }
  if (in(reg, redist::kIdRegs, dist::kIdRegsBytes)) {
    *value = id_register(reg - redist::kIdRegs, kArchRevGicv3);
    return MmioResult::kOk;
  }
  *value = 0;  // GICR_CTLR, STATUSR, MPAMIDR, PARTIDR, the LPI registers, SYNCR (not busy), reserved
  return MmioResult::kOk;
}

MmioResult VgicV3Redistributors::write_rd(uint32_t vcpu, uint64_t reg, unsigned width_bytes, uint64_t value) {
  if (width_bytes == 8) return is_rd_64bit(reg) ? MmioResult::kOk : MmioResult::kExternalAbort;
  if (width_bytes != 4) return MmioResult::kExternalAbort;
  if (reg == redist::kWaker) processor_sleep_[vcpu] = GicrWaker(value).get(GicrWaker::processor_sleep);
  return MmioResult::kOk;  // everything else: read-only or RAZ/WI
}

MmioResult VgicV3Redistributors::read_sgi(uint32_t vcpu, uint64_t reg, unsigned width_bytes,
                                          uint64_t* value) const {
  if (in(reg, redist::kIpriorityr0, kNumPrivate)) {
    if (width_bytes != 1 && width_bytes != 4) return MmioResult::kExternalAbort;
    *value = read_priorities(*state_, vcpu, static_cast<uint32_t>(reg - redist::kIpriorityr0), width_bytes);
    return MmioResult::kOk;
  }
  if (width_bytes != 4) return MmioResult::kExternalAbort;
  if (const auto array = decode_bit_array(reg)) {
    *value = array->first_intid == 0 ? read_bit_array(*state_, vcpu, *array) : 0;
    return MmioResult::kOk;
  }
  switch (reg) {
    case redist::kIcfgr0: *value = read_config(*state_, vcpu, 0); return MmioResult::kOk;
    case redist::kIcfgr1: *value = read_config(*state_, vcpu, kNumSgis); return MmioResult::kOk;
    default: *value = 0; return MmioResult::kOk;  // IGRPMODR0, NSACR (DS = 1), reserved
  }
}

MmioResult VgicV3Redistributors::write_sgi(uint32_t vcpu, uint64_t reg, unsigned width_bytes,
                                           uint64_t value) {
  if (in(reg, redist::kIpriorityr0, kNumPrivate)) {
    if (width_bytes != 1 && width_bytes != 4) return MmioResult::kExternalAbort;
    write_priorities(*state_, vcpu, static_cast<uint32_t>(reg - redist::kIpriorityr0), width_bytes,
                     static_cast<uint32_t>(value));
    return MmioResult::kOk;
  }
  if (width_bytes != 4) return MmioResult::kExternalAbort;
  if (const auto array = decode_bit_array(reg)) {
    if (array->first_intid == 0) write_bit_array(*state_, vcpu, *array, static_cast<uint32_t>(value));
    return MmioResult::kOk;
  }
  switch (reg) {
    case redist::kIcfgr0: return MmioResult::kOk;  // SGIs: always edge
    case redist::kIcfgr1:
      write_config(*state_, vcpu, kNumSgis, static_cast<uint32_t>(value));
      return MmioResult::kOk;
    default: return MmioResult::kOk;
  }
}

}  // namespace lamina::hyp::vgic
