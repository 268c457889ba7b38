// The emulated GICv3 Distributor against IHI 0069 "The GIC Distributor
// register descriptions" (offsets, fields and RAZ/WI rules written here from
// the spec), driven the way Linux's irq-gic-v3.c drives it.
#include "hyp/vgic/vgic_v3_dist.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "unit/hyp/vgic/vgic_test_support.hpp"

namespace lamina::hyp::vgic {
namespace {

constexpr uint64_t kCtlr = 0x0, kTyper = 0x4, kIidr = 0x8, kTyper2 = 0xc, kIgroupr = 0x80, kIsenabler = 0x100,
                   kIcenabler = 0x180, kIspendr = 0x200, kIcpendr = 0x280, kIsactiver = 0x300,
                   kIcactiver = 0x380, kIpriorityr = 0x400, kItargetsr = 0x800, kIcfgr = 0xc00,
                   kIgrpmodr = 0xd00, kSgir = 0xf00, kSpendsgir = 0xf20, kIrouter = 0x6000, kPidr2 = 0xffe8;

class VgicV3DistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state = test::make_state(test::v3_config(4, 64));  // INTIDs up to 95
    dist.attach(state.get());
  }
  uint64_t rd(uint64_t offset, unsigned width = 4) {
    uint64_t v = ~uint64_t{0};
    EXPECT_EQ(dist.read(offset, width, &v), MmioResult::kOk) << std::hex << offset;
    return v;
  }
  void wr(uint64_t offset, uint64_t value, unsigned width = 4) {
    EXPECT_EQ(dist.write(offset, width, value), MmioResult::kOk) << std::hex << offset;
  }

  std::unique_ptr<VgicState> state;
  VgicV3Distributor dist;
};

TEST_F(VgicV3DistTest, IdentificationAndType) {
  // GICD_CTLR: ARE [4] and DS [6] read as one, group enables clear.
  EXPECT_EQ(rd(kCtlr), 0x50u);
  // GICD_TYPER: ITLinesNumber 2 (INTIDs 0-95), IDbits 9 [23:19], A3V [24],
  // No1N [25]; no LPIs/MBIS/security/RSS, CPUNumber 0.
  EXPECT_EQ(rd(kTyper), (9u << 19) | (1u << 24) | (1u << 25) | 2u);
  // GICD_IIDR: ProductID 0x4c [31:24], Implementer 0x43b.
  EXPECT_EQ(rd(kIidr), 0x4c00'043bu);
  EXPECT_EQ(rd(kTyper2), 0u);
  // PIDR2.ArchRev [7:4] = 3 is what Linux checks (GIC_PIDR2_ARCH_GICv3).
  EXPECT_EQ(rd(kPidr2) & 0xf0, 0x30u);
  EXPECT_EQ(rd(kPidr2), 0x3bu);
  EXPECT_EQ(rd(0xfff0), 0x0du);
  EXPECT_EQ(rd(0xfffc), 0xb1u);
  // Read-only registers ignore writes.
  wr(kTyper, 0);
  wr(kIidr, 0);
  EXPECT_EQ(rd(kIidr), 0x4c00'043bu);
}

TEST_F(VgicV3DistTest, CtlrGroupEnables) {
  wr(kCtlr, 0xffff'ffff);
  // Writable: EnableGrp0/1; ARE, DS RAO; E1NWF, nASSGIreq, RWP read 0.
  EXPECT_EQ(rd(kCtlr), 0x53u);
  EXPECT_TRUE(state->group_enabled(false));
  EXPECT_TRUE(state->group_enabled(true));
  // Linux's gic_dist_init(): GICD_CTLR_ARE_NS [4] | ENABLE_G1A [1] | ENABLE_G1 [0].
  wr(kCtlr, 0x13);
  EXPECT_EQ(rd(kCtlr), 0x53u);
  wr(kCtlr, 0x2);
  EXPECT_EQ(rd(kCtlr), 0x52u);
  EXPECT_FALSE(state->group_enabled(false));
  EXPECT_TRUE(state->group_enabled(true));
}

// Linux's gic_dist_init(): SPIs to Group 1 through IGROUPR, ICENABLER and
// ICACTIVER all ones, default priority 0xa0 everywhere, level config,
// IROUTER to the boot CPU.
TEST_F(VgicV3DistTest, LinuxDistributorInit) {
  for (uint64_t i = 32; i < 96; i += 32) {
    wr(kIgroupr + i / 8, 0xffff'ffff);
    wr(kIcactiver + i / 8, 0xffff'ffff);
    wr(kIcenabler + i / 8, 0xffff'ffff);
  }
  for (uint64_t i = 32; i < 96; i += 4) wr(kIpriorityr + i, 0xa0a0'a0a0);
  for (uint64_t i = 32; i < 96; i += 16) wr(kIcfgr + i / 4, 0);
  for (uint64_t i = 32; i < 96; ++i) wr(kIrouter + 8 * i, 0x0, 8);
  wr(kCtlr, 0x2);
  EXPECT_EQ(rd(kIgroupr + 4), 0xffff'ffffu);
  EXPECT_EQ(rd(kIgroupr + 8), 0xffff'ffffu);
  EXPECT_EQ(rd(kIgroupr + 12), 0u) << "INTIDs 96-127 do not exist";
  EXPECT_EQ(rd(kIpriorityr + 40), 0xa0a0'a0a0u);
  EXPECT_EQ(rd(kIpriorityr + 41, 1), 0xa0u);
  // Enable SPI 40 and make it pending: visible in both register pairs.
  wr(kIsenabler + 4, 1u << 8);
  EXPECT_EQ(rd(kIsenabler + 4), 1u << 8);
  EXPECT_EQ(rd(kIcenabler + 4), 1u << 8);
  wr(kIspendr + 4, 1u << 8);
  EXPECT_EQ(rd(kIspendr + 4), 1u << 8);
  EXPECT_EQ(rd(kIcpendr + 4), 1u << 8);
  std::array<Virq, 4> v{};
  EXPECT_EQ(state->load_list_registers(0, v).loaded, 1u);
  EXPECT_EQ(v[0].intid, 40u);
  EXPECT_EQ(v[0].priority, 0xa0u);
  EXPECT_TRUE(v[0].group1);
  state->fold_list_registers(0, {});
  wr(kIcpendr + 4, 1u << 8);
  EXPECT_EQ(rd(kIspendr + 4), 0u);
  wr(kIsactiver + 4, 1u << 9);
  EXPECT_EQ(rd(kIcactiver + 4), 1u << 9);
  wr(kIcactiver + 4, 1u << 9);
  EXPECT_EQ(rd(kIsactiver + 4), 0u);
}

TEST_F(VgicV3DistTest, PrivateInterruptsBelongToTheRedistributors) {
  // With ARE = 1, the INTID 0-31 parts are RAZ/WI, and so are ITARGETSR,
  // SGIR and the SGI pending registers.
  wr(kIsenabler, 0xffff'ffff);
  EXPECT_EQ(rd(kIsenabler), 0u);
  EXPECT_EQ(state->read_bits(BitArray::kEnable, 0, 0), 0u);
  wr(kIpriorityr, 0xffff'ffff);
  EXPECT_EQ(rd(kIpriorityr), 0u);
  wr(kIcfgr + 4, 0xffff'ffff);
  EXPECT_EQ(rd(kIcfgr + 4), 0u);
  wr(kItargetsr + 40, 0xff, 1);
  EXPECT_EQ(rd(kItargetsr + 40, 1), 0u);
  wr(kSgir, 0x0001'0001);
  EXPECT_EQ(state->read_bits(BitArray::kPending, 0, 0), 0u);
  wr(kSpendsgir, 0xff, 1);
  EXPECT_EQ(rd(kSpendsgir), 0u);
  wr(kIgrpmodr + 4, 0xffff'ffff);
  EXPECT_EQ(rd(kIgrpmodr + 4), 0u) << "IGRPMODR is RAZ/WI with DS = 1";
  wr(kIrouter + 8 * 5, 0x1, 8);
  EXPECT_EQ(rd(kIrouter + 8 * 5, 8), 0u);
}

TEST_F(VgicV3DistTest, IcfgrUsesTheOddBits) {
  wr(kIcfgr + 8, 0xffff'ffff);  // INTIDs 32-47: edge, plus the RES0 even bits
  EXPECT_EQ(rd(kIcfgr + 8), 0xaaaa'aaaau);
  EXPECT_TRUE(state->is_edge(0, 47));
  EXPECT_FALSE(state->is_edge(0, 48));
  wr(kIcfgr + 8, 0x2);  // only INTID 32 edge
  EXPECT_EQ(rd(kIcfgr + 8), 0x2u);
  EXPECT_FALSE(state->is_edge(0, 33));
}

TEST_F(VgicV3DistTest, IrouterAccesses) {
  // 64-bit, Aff3 [39:32] kept, Interrupt_Routing_Mode [31] RAZ/WI.
  wr(kIrouter + 8 * 40, 0x1'8000'0002, 8);
  EXPECT_EQ(rd(kIrouter + 8 * 40, 8), 0x1'0000'0002u);
  // 32-bit halves.
  EXPECT_EQ(rd(kIrouter + 8 * 40), 0x2u);
  EXPECT_EQ(rd(kIrouter + 8 * 40 + 4), 0x1u);
  wr(kIrouter + 8 * 40, 0x100);
  wr(kIrouter + 8 * 40 + 4, 0x0);
  EXPECT_EQ(state->irouter(40), 0x100u);
  // Upper bits beyond Aff3 are RES0.
  wr(kIrouter + 8 * 41, 0xffff'ffff'ffff'ffff, 8);
  EXPECT_EQ(rd(kIrouter + 8 * 41, 8), 0xff'00ff'ffffu);
}

TEST_F(VgicV3DistTest, AccessWidths) {
  uint64_t v = 0;
  EXPECT_EQ(dist.read(kCtlr, 2, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(kCtlr, 1, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(kCtlr, 8, &v), MmioResult::kExternalAbort) << "64-bit only to IROUTER";
  EXPECT_EQ(dist.read(kIsenabler + 4, 8, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(kIsenabler + 1, 1, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(kIpriorityr + 2, 4, &v), MmioResult::kExternalAbort) << "misaligned";
  EXPECT_EQ(dist.read(kIrouter + 8 * 40 + 4, 8, &v), MmioResult::kExternalAbort) << "misaligned";
  EXPECT_EQ(dist.read(0x10000, 4, &v), MmioResult::kExternalAbort) << "past the 64 KiB frame";
  EXPECT_EQ(dist.write(kCtlr, 2, 0), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(kIpriorityr + 45, 1, &v), MmioResult::kOk);
  // Reserved space is RAZ/WI.
  EXPECT_EQ(rd(0x8000), 0u);
  wr(0x8000, 0xffff'ffff);
  // No state: every access aborts.
  VgicV3Distributor detached;
  EXPECT_EQ(detached.read(kCtlr, 4, &v), MmioResult::kExternalAbort);
  auto v2 = test::make_state(test::v2_config());
  detached.attach(v2.get());
  EXPECT_EQ(detached.read(kCtlr, 4, &v), MmioResult::kExternalAbort) << "a GICv2 model";
}

}  // namespace
}  // namespace lamina::hyp::vgic
