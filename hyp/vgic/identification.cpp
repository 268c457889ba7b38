#include "hyp/vgic/identification.hpp"

namespace lamina::hyp::vgic {

namespace {

namespace dist = arch::gic::dist;

// The part number splits over PIDR0 [7:0] and PIDR1 [3:0].
constexpr uint64_t kPartNumber = kProductId;
constexpr unsigned kPart0Bits = 8;

}  // namespace

uint32_t id_register(uint64_t offset, uint64_t arch_rev) {
  switch (offset) {
    case dist::kPidr0:
      return static_cast<uint32_t>(
          arch::GicPidr0::from_scratch().with(arch::GicPidr0::part_0, kPartNumber & 0xff).raw());
    case dist::kPidr1:
      return static_cast<uint32_t>(arch::GicPidr1::from_scratch()
                                       .with(arch::GicPidr1::part_1, kPartNumber >> kPart0Bits)
                                       .with(arch::GicPidr1::des_0, arch::gic::kJep106Arm & 0xf)
                                       .raw());
    case dist::kPidr2:
      return static_cast<uint32_t>(arch::GicPidr2::from_scratch()
                                       .with(arch::GicPidr2::des_1, arch::gic::kJep106Arm >> 4)
                                       .with(arch::GicPidr2::jedec, true)
                                       .with(arch::GicPidr2::archrev, arch_rev)
                                       .raw());
    case dist::kPidr4:
      return static_cast<uint32_t>(arch::GicPidr4::from_scratch()
                                       .with(arch::GicPidr4::des_2, arch::gic::kJep106ArmContinuation)
                                       .raw());
    default: break;
  }
  if (offset >= dist::kCidr0 && offset < dist::kIdRegsBytes)
    return arch::kGicCidr[(offset - dist::kCidr0) / 4];
  return 0;  // PIDR3 (no customer modification or revision), PIDR5-7 (reserved)
}

}  // namespace lamina::hyp::vgic
