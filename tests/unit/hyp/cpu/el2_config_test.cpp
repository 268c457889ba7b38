// Tests for hyp/cpu/el2_config: the values lamina programs into the EL2
// control registers, field by field and as whole literals worked out by hand
// from the Arm ARM, so a change to any bit is seen.
#include "hyp/cpu/el2_config.hpp"

#include <gtest/gtest.h>

#include "arch/regs/id_regs.hpp"

namespace lamina::hyp {
namespace {

using namespace lamina::arch;

TEST(El2Config, IdleHcrIsOnlyRw) {
  const HcrEl2 hcr = idle_hcr_el2();
  EXPECT_EQ(hcr.raw(), uint64_t{1} << 31);
  EXPECT_TRUE(hcr.get(HcrEl2::rw));
  EXPECT_FALSE(hcr.get(HcrEl2::vm)) << "stage 2 is per vCPU";
  EXPECT_FALSE(hcr.get(HcrEl2::e2h)) << "lamina is nVHE";
  EXPECT_FALSE(hcr.get(HcrEl2::tge));
}

TEST(El2Config, Cptr) {
  const CptrEl2 cptr = cptr_el2_value();
  EXPECT_EQ(cptr.raw() & CptrEl2::kRes1, CptrEl2::kRes1);
  EXPECT_FALSE(cptr.get(CptrEl2::tfp)) << "FP/SIMD not trapped";
  EXPECT_TRUE(cptr.get(CptrEl2::tz));
  EXPECT_TRUE(cptr.get(CptrEl2::tsm));
  EXPECT_TRUE(cptr.get(CptrEl2::tta));
  EXPECT_TRUE(cptr.get(CptrEl2::tam));
  EXPECT_FALSE(cptr.get(CptrEl2::tcpac));
  // RES1 0x22ff + TZ (8) + TSM (12) + TTA (20) + TAM (30).
  EXPECT_EQ(cptr.raw(), 0x4010'33ffu);
}

TEST(El2Config, Mdcr) {
  const MdcrEl2 mdcr = mdcr_el2_value(6);
  EXPECT_EQ(mdcr.get(MdcrEl2::hpmn), 6u);
  EXPECT_TRUE(mdcr.get(MdcrEl2::tpm));
  EXPECT_TRUE(mdcr.get(MdcrEl2::tpmcr));
  EXPECT_TRUE(mdcr.get(MdcrEl2::tda));
  EXPECT_TRUE(mdcr.get(MdcrEl2::tdosa));
  EXPECT_TRUE(mdcr.get(MdcrEl2::tdra));
  EXPECT_FALSE(mdcr.get(MdcrEl2::tde));
  EXPECT_FALSE(mdcr.get(MdcrEl2::hpme));
  EXPECT_EQ(mdcr.raw(), 0xe66u);
  EXPECT_EQ(mdcr_el2_value(0).get(MdcrEl2::hpmn), 0u);
  EXPECT_EQ(mdcr_el2_value(31).get(MdcrEl2::hpmn), 31u);
  // PMCR_EL0.N is 5 bits; anything wider never spills into TPMCR.
  EXPECT_EQ(mdcr_el2_value(0x3f).raw() & ~uint64_t{0x1f}, 0xe60u);
}

TEST(El2Config, Cnthctl) {
  const CnthctlEl2 c = cnthctl_el2_value();
  EXPECT_TRUE(c.get(CnthctlEl2::el1pcten));
  EXPECT_TRUE(c.get(CnthctlEl2::el1pcen)) << "the guest owns the EL1 physical timer";
  EXPECT_TRUE(c.get(CnthctlEl2::evnten));
  EXPECT_EQ(c.get(CnthctlEl2::evnti), 15u);
  EXPECT_FALSE(c.get(CnthctlEl2::evntdir));
  EXPECT_EQ(c.raw(), 0xf7u);
}

TEST(El2Config, TcrFor40And48BitVas) {
  struct Case {
    unsigned va_bits;
    PhysAddrSize ps;
    uint64_t t0sz;
    uint64_t raw;
  };
  // RES1 0x8080_0000, SH0 inner 0x3000, ORGN0 0x400, IRGN0 0x100, TG0 4K 0,
  // PS << 16, T0SZ.
  for (const Case& c : {Case{40, PhysAddrSize::k40Bits, 24, 0x8082'3518}, Case{48, PhysAddrSize::k48Bits, 16, 0x8085'3510},
                        Case{48, PhysAddrSize::k40Bits, 16, 0x8082'3510}}) {
    SCOPED_TRACE(c.va_bits);
    const TcrEl2 tcr = tcr_el2_value(c.va_bits, c.ps);
    EXPECT_EQ(tcr.get(TcrEl2::t0sz), c.t0sz);
    EXPECT_EQ(tcr.get(TcrEl2::tg0), Tg0::k4K);
    EXPECT_EQ(tcr.get(TcrEl2::sh0), Shareability::kInnerShareable);
    EXPECT_EQ(tcr.get(TcrEl2::irgn0), WalkCacheability::kWriteBackReadWriteAllocate);
    EXPECT_EQ(tcr.get(TcrEl2::orgn0), WalkCacheability::kWriteBackReadWriteAllocate);
    EXPECT_EQ(tcr.get(TcrEl2::ps), c.ps);
    EXPECT_FALSE(tcr.get(TcrEl2::tbi));
    EXPECT_EQ(tcr.raw() & TcrEl2::kRes1, TcrEl2::kRes1);
    EXPECT_EQ(tcr.raw(), c.raw);
  }
}

TEST(El2Config, SctlrMmuOn) {
  const SctlrEl2 s = sctlr_el2_mmu_on();
  EXPECT_TRUE(s.get(SctlrEl2::m));
  EXPECT_TRUE(s.get(SctlrEl2::c));
  EXPECT_TRUE(s.get(SctlrEl2::i));
  EXPECT_TRUE(s.get(SctlrEl2::sa));
  EXPECT_TRUE(s.get(SctlrEl2::wxn));
  EXPECT_FALSE(s.get(SctlrEl2::a)) << "no alignment fault checking";
  EXPECT_FALSE(s.get(SctlrEl2::ee)) << "little-endian";
  EXPECT_EQ(s.raw() & SctlrEl2::kRes1, SctlrEl2::kRes1);
  // RES1 0x30c5_0830 + M 0x1, C 0x4, SA 0x8, I 0x1000, WXN 0x8_0000.
  EXPECT_EQ(s.raw(), 0x30cd'183du);
}

CpuFeatures features(PhysAddrSize parange, unsigned vmid_bits) {
  CpuFeatures f;
  f.parange = parange;
  f.pa_bits = phys_addr_bits(parange);
  f.vmid_bits = vmid_bits;
  return f;
}

TEST(El2Config, VtcrFromAGeometry) {
  const auto g40 = mm::stage2_geometry(40);
  ASSERT_TRUE(g40.ok());
  const VtcrEl2 v = vtcr_el2_value(g40.value(), features(PhysAddrSize::k40Bits, 8));
  EXPECT_EQ(v.get(VtcrEl2::t0sz), 24u);
  EXPECT_EQ(v.get(VtcrEl2::sl0), 1u);
  EXPECT_EQ(v.get(VtcrEl2::ps), PhysAddrSize::k40Bits);
  EXPECT_FALSE(v.get(VtcrEl2::vs));
  EXPECT_EQ(v.get(VtcrEl2::tg0), Tg0::k4K);
  EXPECT_EQ(v.get(VtcrEl2::sh0), Shareability::kInnerShareable);
  EXPECT_EQ(v.get(VtcrEl2::irgn0), WalkCacheability::kWriteBackReadWriteAllocate);
  EXPECT_EQ(v.get(VtcrEl2::orgn0), WalkCacheability::kWriteBackReadWriteAllocate);
  EXPECT_FALSE(v.get(VtcrEl2::ha));
  EXPECT_FALSE(v.get(VtcrEl2::hd));
  // RES1 bit 31, PS 0b010 << 16, SH0 0x3000, ORGN0 0x400, IRGN0 0x100, SL0 1 << 6, T0SZ 24.
  EXPECT_EQ(v.raw(), 0x8002'3558u);

  const auto g48 = mm::stage2_geometry(48);
  ASSERT_TRUE(g48.ok());
  const VtcrEl2 v48 = vtcr_el2_value(g48.value(), features(PhysAddrSize::k48Bits, 16));
  EXPECT_EQ(v48.get(VtcrEl2::t0sz), 16u);
  EXPECT_EQ(v48.get(VtcrEl2::sl0), 2u);
  EXPECT_EQ(v48.get(VtcrEl2::ps), PhysAddrSize::k48Bits);
  EXPECT_TRUE(v48.get(VtcrEl2::vs)) << "16-bit VMIDs";
  EXPECT_EQ(v48.raw(), 0x800d'3590u);

  const auto g32 = mm::stage2_geometry(32);
  ASSERT_TRUE(g32.ok());
  const VtcrEl2 v32 = vtcr_el2_value(g32.value(), features(PhysAddrSize::k36Bits, 8));
  EXPECT_EQ(v32.get(VtcrEl2::t0sz), 32u);
  EXPECT_EQ(v32.get(VtcrEl2::sl0), 0u);
  EXPECT_EQ(v32.raw() & VtcrEl2::kRes1, VtcrEl2::kRes1);
}

TEST(El2Config, DefaultIpaBitsAndHypVaBitsCapAt48) {
  EXPECT_EQ(default_ipa_bits(features(PhysAddrSize::k32Bits, 8)), 32u);
  EXPECT_EQ(default_ipa_bits(features(PhysAddrSize::k40Bits, 8)), 40u);
  EXPECT_EQ(default_ipa_bits(features(PhysAddrSize::k44Bits, 8)), 44u);
  EXPECT_EQ(default_ipa_bits(features(PhysAddrSize::k48Bits, 8)), 48u);
  EXPECT_EQ(default_ipa_bits(features(PhysAddrSize::k52Bits, 8)), 48u);
  EXPECT_EQ(default_ipa_bits(features(PhysAddrSize::k56Bits, 8)), 48u);
  EXPECT_EQ(hyp_va_bits(features(PhysAddrSize::k40Bits, 8)), 40u);
  EXPECT_EQ(hyp_va_bits(features(PhysAddrSize::k52Bits, 8)), 48u);
  // Whatever the CPU, the default yields a valid stage-2 geometry.
  for (uint64_t enc = 0; enc <= 0b0111; ++enc) {
    const auto f = features(static_cast<PhysAddrSize>(enc), 8);
    EXPECT_TRUE(mm::stage2_geometry(default_ipa_bits(f)).ok()) << enc;
  }
}

}  // namespace
}  // namespace lamina::hyp

namespace lamina::hyp {
namespace {

// Bit positions from DDI 0487 K.a D23.2 "HCR_EL2" / "MDCR_EL2", written out.
TEST(GuestEl2Config, HcrEl2) {
  const uint64_t expected = (1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 9) |
                            (1ull << 10) | (1ull << 13) | (1ull << 18) | (1ull << 19) | (1ull << 20) |
                            (1ull << 31) | (1ull << 35) | (1ull << 40) | (1ull << 41);
  EXPECT_EQ(guest_hcr_el2(false).raw(), expected);
  EXPECT_EQ(guest_hcr_el2(true).raw(), expected | (1ull << 46));
}

TEST(GuestEl2Config, MdcrEl2TrapsPmuNotDebug) {
  const uint64_t v = guest_mdcr_el2(6).raw();
  EXPECT_EQ(v & 0x1f, 6u);                // HPMN
  EXPECT_EQ(v, 6u | (1u << 5) | (1u << 6) | (1u << 14) | (1u << 19));  // TPMCR, TPM, TPMS, TTRF
  EXPECT_EQ(v & ((1u << 9) | (1u << 10) | (1u << 11)), 0u);  // TDA, TDOSA, TDRA clear
}

}  // namespace
}  // namespace lamina::hyp
