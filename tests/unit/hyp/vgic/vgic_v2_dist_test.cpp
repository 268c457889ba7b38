// The emulated GICv2 Distributor against IHI 0048B "Distributor register
// descriptions" (offsets, fields, banking and byte access written here from
// the spec), driven the way Linux's irq-gic.c drives it.
#include "hyp/vgic/vgic_v2_dist.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "unit/hyp/vgic/vgic_test_support.hpp"

namespace lamina::hyp::vgic {
namespace {

constexpr uint64_t kCtlr = 0x0, kTyper = 0x4, kIidr = 0x8, kIgroupr = 0x80, kIsenabler = 0x100,
                   kIcenabler = 0x180, kIspendr = 0x200, kIpriorityr = 0x400, kItargetsr = 0x800,
                   kIcfgr = 0xc00, kSgir = 0xf00, kCpendsgir = 0xf10, kSpendsgir = 0xf20, kPidr2 = 0xfe8;

class VgicV2DistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state = test::make_state(test::v2_config(4, 96));  // INTIDs 0-127
    dist.attach(state.get());
  }
  uint64_t rd(uint32_t vcpu, uint64_t offset, unsigned width = 4) {
    uint64_t v = ~uint64_t{0};
    EXPECT_EQ(dist.read(vcpu, offset, width, &v), MmioResult::kOk) << std::hex << offset;
    return v;
  }
  void wr(uint32_t vcpu, uint64_t offset, uint64_t value, unsigned width = 4) {
    EXPECT_EQ(dist.write(vcpu, offset, width, value), MmioResult::kOk) << std::hex << offset;
  }

  std::unique_ptr<VgicState> state;
  VgicV2Distributor dist;
};

TEST_F(VgicV2DistTest, IdentificationAndType) {
  // GICD_TYPER: ITLinesNumber 3 (INTIDs 0-127), CPUNumber [7:5] = 3.
  EXPECT_EQ(rd(0, kTyper), (3u << 5) | 3u);
  EXPECT_EQ(rd(0, kIidr), 0x4c00'043bu);
  EXPECT_EQ(rd(0, kPidr2) & 0xf0, 0x20u) << "ArchRev 2";
  EXPECT_EQ(rd(0, 0xff0), 0x0du);
  EXPECT_EQ(rd(0, kCtlr), 0u);
  wr(0, kCtlr, 0xffff'ffff);
  EXPECT_EQ(rd(0, kCtlr), 0x3u);
  wr(0, kCtlr, 0x1);  // Linux's gic_dist_init: GICD_ENABLE
  EXPECT_TRUE(state->group_enabled(false));
  EXPECT_FALSE(state->group_enabled(true));
}

// gic_get_cpumask(): ITARGETSR0-7 read back the accessing CPU's own bit.
TEST_F(VgicV2DistTest, TargetsBankedAndSpiTargets) {
  for (uint32_t cpu = 0; cpu < 4; ++cpu) {
    const uint64_t mask = 1u << cpu;
    EXPECT_EQ(rd(cpu, kItargetsr), mask * 0x0101'0101) << cpu;
    EXPECT_EQ(rd(cpu, kItargetsr + 28), mask * 0x0101'0101) << cpu;
    EXPECT_EQ(rd(cpu, kItargetsr + 5, 1), mask) << cpu;
  }
  wr(1, kItargetsr, 0);  // read-only
  EXPECT_EQ(rd(1, kItargetsr), 0x0202'0202u);
  // SPI targets: gic_set_affinity writes one byte.
  wr(0, kItargetsr + 40, 0x04, 1);
  EXPECT_EQ(rd(3, kItargetsr + 40), 0x04u);
  wr(0, kItargetsr + 44, 0xff00'ff01);
  EXPECT_EQ(rd(0, kItargetsr + 44), 0x0f00'0f01u) << "CPU interfaces 4-7 do not exist";
  EXPECT_EQ(state->targets(47), 0x0fu);
}

TEST_F(VgicV2DistTest, UniprocessorTargetsAreRazWi) {
  auto one = test::make_state(test::v2_config(1));
  VgicV2Distributor d;
  d.attach(one.get());
  uint64_t v = 1;
  ASSERT_EQ(d.read(0, kItargetsr, 4, &v), MmioResult::kOk);
  EXPECT_EQ(v, 0u);
  ASSERT_EQ(d.write(0, kItargetsr + 32, 4, 0x01010101), MmioResult::kOk);
  ASSERT_EQ(d.read(0, kItargetsr + 32, 4, &v), MmioResult::kOk);
  EXPECT_EQ(v, 0u);
  ASSERT_EQ(d.read(0, kTyper, 4, &v), MmioResult::kOk);
  EXPECT_EQ(v & 0xe0, 0u) << "CPUNumber 0";
}

TEST_F(VgicV2DistTest, BankedPrivateRegisters) {
  wr(2, kIsenabler, 0xffff'ffff);
  EXPECT_EQ(rd(2, kIsenabler), 0xffff'ffffu);
  EXPECT_EQ(rd(1, kIsenabler), 0x0000'ffffu) << "vCPU 1: only the always-enabled SGIs";
  wr(2, kIcenabler, 0xffff'ffff);
  EXPECT_EQ(rd(2, kIsenabler), 0x0000'ffffu) << "SGIs cannot be disabled";
  wr(1, kIpriorityr + 24, 0x8090'a0b0);
  EXPECT_EQ(rd(1, kIpriorityr + 24), 0x8090'a0b0u);
  EXPECT_EQ(rd(0, kIpriorityr + 24), 0u);
  EXPECT_EQ(rd(1, kIpriorityr + 26, 1), 0x90u);
  wr(3, kIgroupr, 0x1);
  EXPECT_EQ(rd(3, kIgroupr), 0x1u);
  EXPECT_EQ(rd(0, kIgroupr), 0u);
  // ICFGR0 (SGIs) reads edge and ignores writes.
  wr(0, kIcfgr, 0);
  EXPECT_EQ(rd(0, kIcfgr), 0xaaaa'aaaau);
  // ISPENDR0 SGI bits are read-only; PPI bits are not.
  wr(0, kIspendr, 0x0001'0001);
  EXPECT_EQ(rd(0, kIspendr), 0x0001'0000u);
}

// gic_raise_softirq(): GICD_SGIR = CPUTargetList << 16 | SGI; the target
// sees the source in GICD_SPENDSGIR and, once loaded, in GICH_LRn.CPUID.
TEST_F(VgicV2DistTest, SgirAndSgiPendingRegisters) {
  wr(1, kSgir, (0x1u << 16) | 6);  // vCPU 1 -> vCPU 0, SGI 6
  wr(3, kSgir, (0x1u << 16) | 6);  // vCPU 3 -> vCPU 0, SGI 6
  // GICD_SPENDSGIR1 holds SGIs 4-7, byte 2 is SGI 6: sources {1, 3}.
  EXPECT_EQ(rd(0, kSpendsgir + 4), 0x000a'0000u);
  EXPECT_EQ(rd(0, kCpendsgir + 6, 1), 0x0au);
  EXPECT_EQ(rd(0, kIspendr) & (1u << 6), 1u << 6);
  EXPECT_EQ(rd(1, kSpendsgir + 4), 0u) << "banked: vCPU 1 has none";
  wr(0, kCpendsgir + 6, 0x02, 1);
  EXPECT_EQ(rd(0, kSpendsgir + 6, 1), 0x08u);
  wr(0, kSpendsgir, 0x0000'00f3);  // SGI 0 from sources 0, 1 and absent 4-7 (dropped)
  EXPECT_EQ(rd(0, kSpendsgir), 0x03u);
  state->set_group_enables(true, true);
  std::array<Virq, 4> v{};
  const LoadResult r = state->load_list_registers(0, v);
  ASSERT_EQ(r.loaded, 2u);  // SGI 0 (one source at a time) and SGI 6
  EXPECT_EQ(v[0].intid, 0u);
  EXPECT_EQ(v[0].source, 0u);
  EXPECT_TRUE(v[0].eoi_maintenance);
  EXPECT_EQ(v[1].intid, 6u);
  EXPECT_EQ(v[1].source, 3u);
  EXPECT_FALSE(v[1].eoi_maintenance);
}

TEST_F(VgicV2DistTest, AccessWidthsAndBounds) {
  uint64_t v = 0;
  EXPECT_EQ(dist.read(0, kCtlr, 2, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(0, kCtlr, 8, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(0, kIsenabler, 1, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.write(0, kSgir, 1, 0), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(0, kIpriorityr + 2, 4, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(0, 0x1000, 4, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(dist.read(4, kCtlr, 4, &v), MmioResult::kExternalAbort) << "no such vCPU";
  EXPECT_EQ(dist.read(0, kItargetsr + 3, 1, &v), MmioResult::kOk);
  EXPECT_EQ(dist.read(0, kSpendsgir + 15, 1, &v), MmioResult::kOk);
  EXPECT_EQ(rd(0, 0xd00), 0u) << "reserved: RAZ/WI";
  VgicV2Distributor detached;
  EXPECT_EQ(detached.read(0, kCtlr, 4, &v), MmioResult::kExternalAbort);
}

}  // namespace
}  // namespace lamina::hyp::vgic
