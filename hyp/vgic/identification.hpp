// What lamina's virtual GICs say about themselves: GICD_IIDR/GICR_IIDR and
// the identification block (PIDR0-7, CIDR0-3).
//
// Only PIDR2.ArchRev is architected (IHI 0069 "Identification registers";
// IHI 0048B "Identification registers"): Linux's GICv3 driver checks it on
// the Distributor and on every Redistributor, and nothing else. The rest
// names an Arm-architecture GIC (JEP106 Arm, as KVM's and QEMU's virtual
// GICs do) with lamina's own product/part number 0x4c ('L'), which no
// driver quirk table matches.
#pragma once

#include <cstdint>

#include "arch/regs/gicd.hpp"

namespace lamina::hyp::vgic {

inline constexpr uint64_t kProductId = 0x4c;

inline constexpr arch::GicdIidr kIidr = arch::GicdIidr::from_scratch()
                                            .with(arch::GicdIidr::implementer, arch::gic::kImplementerArm)
                                            .with(arch::GicdIidr::revision, uint64_t{0})
                                            .with(arch::GicdIidr::variant, uint64_t{0})
                                            .with(arch::GicdIidr::productid, kProductId);

// PIDR2.ArchRev values.
inline constexpr uint64_t kArchRevGicv2 = 0x2;
inline constexpr uint64_t kArchRevGicv3 = 0x3;

// The 32-bit word at `offset` (4-byte aligned, < gic::dist::kIdRegsBytes)
// inside the identification block, for a GIC of architecture revision
// `arch_rev`.
[[nodiscard]] uint32_t id_register(uint64_t offset, uint64_t arch_rev);

}  // namespace lamina::hyp::vgic
