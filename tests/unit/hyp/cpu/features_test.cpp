// Tests for hyp/cpu/features: decoding CpuFeatures from raw ID register
// values, with the field encodings of DDI 0487 K.a D23.2 "ID_AA64MMFR0_EL1",
// "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64PFR0_EL1" and "CTR_EL0".
#include "hyp/cpu/features.hpp"

#include <gtest/gtest.h>

namespace lamina::hyp {
namespace {

using namespace lamina::arch;

CpuFeatures decode(uint64_t mmfr0, uint64_t mmfr1, uint64_t mmfr2, uint64_t pfr0, uint64_t ctr) {
  return CpuFeatures::from_id_registers(IdAa64Mmfr0(mmfr0), IdAa64Mmfr1(mmfr1), IdAa64Mmfr2(mmfr2),
                                        IdAa64Pfr0(pfr0), CtrEl0(ctr));
}

TEST(CpuFeatures, CortexA57Like) {
  // MMFR0 0x1122: PARange 0b0010 (40 bits), ASIDBits 16, BigEnd, SNSMem;
  // TGran4 0 (supported). MMFR1/2 0: 8-bit VMIDs, no VHE. PFR0 0x2222: EL0-3
  // AArch64+AArch32, no GIC system registers. CTR_EL0 0x8444c004.
  const CpuFeatures f = decode(0x1122, 0, 0, 0x2222, 0x8444'c004);
  EXPECT_EQ(f.parange, PhysAddrSize::k40Bits);
  EXPECT_EQ(f.pa_bits, 40u);
  EXPECT_EQ(f.vmid_bits, 8u);
  EXPECT_FALSE(f.vhe);
  EXPECT_FALSE(f.s2fwb);
  EXPECT_FALSE(f.gic_sysreg);
  EXPECT_FALSE(f.cnp);
  EXPECT_FALSE(f.xnx);
  EXPECT_FALSE(f.sve);
  EXPECT_TRUE(f.tgran4_stage2);
  EXPECT_EQ(f.dcache_line, 64u);
  EXPECT_EQ(f.icache_line, 64u);
  EXPECT_FALSE(f.idc);
  EXPECT_FALSE(f.dic);
}

TEST(CpuFeatures, MaxLike) {
  // PARange 0b0110 (52 bits); MMFR1 VMIDBits 0b0010, VH 1, XNX 1; MMFR2
  // CnP 1, FWB 1; PFR0 GIC 0b0001, SVE 1; CTR IDC + DIC, DminLine 4,
  // IminLine 4.
  const uint64_t mmfr0 = 0b0110;
  const uint64_t mmfr1 = (uint64_t{0b0010} << 4) | (uint64_t{1} << 8) | (uint64_t{1} << 28);
  const uint64_t mmfr2 = 0b0001 | (uint64_t{1} << 40);
  const uint64_t pfr0 = 0x1111 | (uint64_t{0b0001} << 24) | (uint64_t{1} << 32);
  const uint64_t ctr = (uint64_t{1} << 31) | (uint64_t{1} << 29) | (uint64_t{1} << 28) | (uint64_t{4} << 16) | 4;
  const CpuFeatures f = decode(mmfr0, mmfr1, mmfr2, pfr0, ctr);
  EXPECT_EQ(f.parange, PhysAddrSize::k52Bits);
  EXPECT_EQ(f.pa_bits, 52u);
  EXPECT_EQ(f.vmid_bits, 16u);
  EXPECT_TRUE(f.vhe);
  EXPECT_TRUE(f.s2fwb);
  EXPECT_TRUE(f.gic_sysreg);
  EXPECT_TRUE(f.xnx);
  EXPECT_TRUE(f.cnp);
  EXPECT_TRUE(f.sve);
  EXPECT_TRUE(f.tgran4_stage2);
  EXPECT_TRUE(f.idc);
  EXPECT_TRUE(f.dic);
  EXPECT_EQ(f.dcache_line, 64u);
  EXPECT_EQ(f.icache_line, 64u);
}

TEST(CpuFeatures, EveryParangeEncoding) {
  const unsigned expected[] = {32, 36, 40, 42, 44, 48, 52, 56};
  for (uint64_t enc = 0; enc < 8; ++enc) {
    const CpuFeatures f = decode(enc, 0, 0, 0, 0);
    EXPECT_EQ(f.pa_bits, expected[enc]) << enc;
    EXPECT_EQ(static_cast<uint64_t>(f.parange), enc);
  }
}

TEST(CpuFeatures, ReservedParangeFallsBackTo32Bits) {
  for (uint64_t enc = 0b1000; enc <= 0b1111; ++enc) {
    const CpuFeatures f = decode(enc, 0, 0, 0, 0);
    EXPECT_EQ(f.pa_bits, 32u) << enc;
    EXPECT_EQ(f.parange, PhysAddrSize::k32Bits) << enc;
  }
}

TEST(CpuFeatures, VmidBitsOnlySixteenFor0b0010) {
  EXPECT_EQ(decode(0, 0b0000u << 4, 0, 0, 0).vmid_bits, 8u);
  EXPECT_EQ(decode(0, 0b0010u << 4, 0, 0, 0).vmid_bits, 16u);
  EXPECT_EQ(decode(0, 0b0001u << 4, 0, 0, 0).vmid_bits, 8u) << "reserved encoding";
}

TEST(CpuFeatures, GicSystemRegisterInterface) {
  EXPECT_FALSE(decode(0, 0, 0, uint64_t{0b0000} << 24, 0).gic_sysreg);
  EXPECT_TRUE(decode(0, 0, 0, uint64_t{0b0001} << 24, 0).gic_sysreg) << "GICv3/v4";
  EXPECT_TRUE(decode(0, 0, 0, uint64_t{0b0011} << 24, 0).gic_sysreg) << "GICv4.1";
}

TEST(CpuFeatures, Tgran4Stage2) {
  EXPECT_TRUE(decode(uint64_t{0b0000} << 40, 0, 0, 0, 0).tgran4_stage2) << "as TGran4";
  EXPECT_FALSE(decode(uint64_t{0b0001} << 40, 0, 0, 0, 0).tgran4_stage2) << "not supported";
  EXPECT_TRUE(decode(uint64_t{0b0010} << 40, 0, 0, 0, 0).tgran4_stage2) << "supported";
  EXPECT_TRUE(decode(uint64_t{0b0011} << 40, 0, 0, 0, 0).tgran4_stage2) << "supported, 52-bit";
}

TEST(CpuFeatures, NeighbouringFieldsDoNotLeak) {
  // All fields set except the ones lamina reads: nothing is detected.
  const uint64_t mmfr0 = ~uint64_t{0} & ~uint64_t{0xf} & ~(uint64_t{0xf} << 40);
  const uint64_t mmfr1 = ~uint64_t{0} & ~(uint64_t{0xf} << 4) & ~(uint64_t{0xf} << 8) & ~(uint64_t{0xf} << 28);
  const uint64_t mmfr2 = ~uint64_t{0} & ~uint64_t{0xf} & ~(uint64_t{0xf} << 40);
  const uint64_t pfr0 = ~uint64_t{0} & ~(uint64_t{0xf} << 24) & ~(uint64_t{0xf} << 32);
  const uint64_t ctr = ~uint64_t{0} & ~(uint64_t{0xf} << 16) & ~uint64_t{0xf} & ~(uint64_t{3} << 28);
  const CpuFeatures f = decode(mmfr0, mmfr1, mmfr2, pfr0, ctr);
  EXPECT_EQ(f.pa_bits, 32u);
  EXPECT_EQ(f.vmid_bits, 8u);
  EXPECT_FALSE(f.vhe || f.xnx || f.s2fwb || f.cnp || f.gic_sysreg || f.sve || f.idc || f.dic);
  EXPECT_TRUE(f.tgran4_stage2);
  EXPECT_EQ(f.dcache_line, 4u);
  EXPECT_EQ(f.icache_line, 4u);
}

}  // namespace
}  // namespace lamina::hyp
