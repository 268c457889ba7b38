// CPU-interface decisions against IHI 0069: the SGI-register encodings
// ("ICC_SGI1R_EL1", "ICC_ASGI1R_EL1", "ICC_SGI0R_EL1": op0 3, CRn 12, CRm 11
// and op1/op2 0/5, 1/6, 2/7), ICH_VMCR_EL2 (VENG0 [0], VENG1 [1], VPMR
// [31:24]) and ICC_SGI1R_EL1 (TargetList [15:0], Aff1 [23:16], INTID
// [27:24], Aff2 [39:32], IRM [40], RS [47:44], Aff3 [55:48]); expected
// values are assembled here by hand from those positions.
#include "hyp/vgic/cpu_interface.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace lamina::hyp::vgic {
namespace {

TEST(VgicCpuInterfaceTest, SgiRegistersByEncoding) {
  EXPECT_EQ(sgi_register_for(3, 0, 12, 11, 5), SgiRegister::kSgi1r);
  EXPECT_EQ(sgi_register_for(3, 1, 12, 11, 6), SgiRegister::kAsgi1r);
  EXPECT_EQ(sgi_register_for(3, 2, 12, 11, 7), SgiRegister::kSgi0r);
}

TEST(VgicCpuInterfaceTest, OtherRegistersAreNotSgiRegisters) {
  EXPECT_FALSE(sgi_register_for(3, 0, 12, 11, 1).has_value()) << "ICC_DIR_EL1";
  EXPECT_FALSE(sgi_register_for(3, 0, 12, 12, 0).has_value()) << "ICC_IAR1_EL1";
  EXPECT_FALSE(sgi_register_for(3, 0, 12, 11, 6).has_value()) << "op1/op2 of different registers";
  EXPECT_FALSE(sgi_register_for(3, 1, 12, 11, 5).has_value());
  EXPECT_FALSE(sgi_register_for(2, 0, 12, 11, 5).has_value());
  EXPECT_FALSE(sgi_register_for(3, 0, 4, 6, 0).has_value()) << "ICC_PMR_EL1";
}

arch::IchVmcrEl2 vmcr(uint64_t vpmr, bool veng0, bool veng1) {
  return arch::IchVmcrEl2::from_raw((vpmr << 24) | (veng1 ? 2u : 0u) | (veng0 ? 1u : 0u));
}

TEST(VgicCpuInterfaceTest, WfiWakesForAPriorityAboveTheMask) {
  EXPECT_TRUE(wfi_wakes(uint8_t{0x80}, vmcr(0xf0, false, true)));
  EXPECT_TRUE(wfi_wakes(uint8_t{0x00}, vmcr(0x08, true, false)));
  EXPECT_TRUE(wfi_wakes(uint8_t{0xe8}, vmcr(0xf0, false, true)));
}

TEST(VgicCpuInterfaceTest, WfiSleepsOnAMaskedPriority) {
  // Signalled only when strictly higher (numerically lower) than the mask.
  EXPECT_FALSE(wfi_wakes(uint8_t{0xf0}, vmcr(0xf0, true, true)));
  EXPECT_FALSE(wfi_wakes(uint8_t{0xf8}, vmcr(0xf0, true, true)));
  EXPECT_FALSE(wfi_wakes(uint8_t{0x00}, vmcr(0x00, true, true))) << "VPMR 0 masks everything";
}

TEST(VgicCpuInterfaceTest, WfiSleepsWithNothingPendingOrNoGroupEnabled) {
  EXPECT_FALSE(wfi_wakes(std::nullopt, vmcr(0xff, true, true)));
  EXPECT_FALSE(wfi_wakes(uint8_t{0x10}, vmcr(0xff, false, false)));
}

// GICH_VMCR as Linux's KVM builds it (arch/arm64/kvm/vgic/vgic-v2.c:
// GICH_VMCR_PRIMASK_SHIFT 27 holds the top five bits of GICV_PMR;
// VMGrp0En [0], VMGrp1En [1]).
arch::GichVmcr gich_vmcr(uint32_t pmr, bool grp0, bool grp1) {
  return arch::GichVmcr::from_raw((uint64_t{pmr >> 3} << 27) | (grp1 ? 2u : 0u) | (grp0 ? 1u : 0u));
}

TEST(VgicCpuInterfaceTest, GichVmcrPriorityMaskIsGicvPmr) {
  EXPECT_EQ(gich_vmcr_priority_mask(gich_vmcr(0xf0, true, false)), 0xf0u);
  EXPECT_EQ(gich_vmcr_priority_mask(gich_vmcr(0xf8, true, false)), 0xf8u);
  EXPECT_EQ(gich_vmcr_priority_mask(arch::GichVmcr::from_raw(0)), 0u);
  // Only [31:27] count: the priority mask ignores the other fields.
  EXPECT_EQ(gich_vmcr_priority_mask(arch::GichVmcr::from_raw(0x07fc'021fu)), 0u);
}

TEST(VgicCpuInterfaceTest, GicV2WfiWakesForAPriorityAboveTheMask) {
  // Linux's GICv2 driver: GICC_PMR 0xf0, EnableGrp0 (its interrupts stay
  // in Group 0, signalled as IRQ).
  EXPECT_TRUE(wfi_wakes(uint8_t{0xa0}, gich_vmcr(0xf0, true, false)));
  EXPECT_TRUE(wfi_wakes(uint8_t{0xe8}, gich_vmcr(0xf0, true, false)));
  EXPECT_TRUE(wfi_wakes(uint8_t{0x00}, gich_vmcr(0x08, false, true)));
}

TEST(VgicCpuInterfaceTest, GicV2WfiSleepsOnAMaskedPriorityNoGroupOrNothingPending) {
  EXPECT_FALSE(wfi_wakes(uint8_t{0xf0}, gich_vmcr(0xf0, true, true)));
  EXPECT_FALSE(wfi_wakes(uint8_t{0xf8}, gich_vmcr(0xf8, true, true)));
  EXPECT_FALSE(wfi_wakes(uint8_t{0x00}, gich_vmcr(0x00, true, true))) << "GICV_PMR 0 masks everything";
  EXPECT_FALSE(wfi_wakes(uint8_t{0x10}, gich_vmcr(0xf8, false, false)));
  EXPECT_FALSE(wfi_wakes(std::nullopt, gich_vmcr(0xf8, true, true)));
}

static_assert(wfi_wakes(uint8_t{0x80}, arch::GichVmcr::from_raw((uint64_t{0xf0 >> 3} << 27) | 1u)));
static_assert(!wfi_wakes(uint8_t{0xf0}, arch::GichVmcr::from_raw((uint64_t{0xf0 >> 3} << 27) | 1u)));

TEST(VgicCpuInterfaceTest, Sgi1rTargetsExactlyOneAffinity) {
  // MPIDR_EL1: Aff0 [7:0] = 19, Aff1 [15:8] = 2, Aff2 [23:16] = 3, Aff3 [39:32] = 4.
  const auto mpidr = arch::MpidrEl1::from_raw((uint64_t{4} << 32) | (3u << 16) | (2u << 8) | 19u);
  const uint64_t expected = (uint64_t{1} << 3)     // TargetList bit 19 % 16
                            | (uint64_t{2} << 16)  // Aff1
                            | (uint64_t{5} << 24)  // INTID
                            | (uint64_t{3} << 32)  // Aff2
                            | (uint64_t{1} << 44)  // RS = 19 / 16
                            | (uint64_t{4} << 48); // Aff3
  EXPECT_EQ(sgi1r_to(mpidr, 5).raw(), expected);
  EXPECT_EQ(sgi1r_to(arch::MpidrEl1::from_raw(0x80000000u), 0).raw(), uint64_t{1}) << "CPU 0, SGI 0, bit 31 RES1 ignored";
}

}  // namespace
}  // namespace lamina::hyp::vgic
