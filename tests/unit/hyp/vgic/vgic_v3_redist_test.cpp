// The emulated GICv3 Redistributors against IHI 0069 "The GIC
// Redistributor register descriptions", driven the way Linux's
// irq-gic-v3.c finds and wakes them.
#include "hyp/vgic/vgic_v3_redist.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "unit/hyp/vgic/vgic_test_support.hpp"

namespace lamina::hyp::vgic {
namespace {

// Per Redistributor: RD_base at +0, SGI_base at +0x10000, 0x20000 apart.
constexpr uint64_t kStride = 0x20000, kSgi = 0x10000;
constexpr uint64_t kCtlr = 0x0, kIidr = 0x4, kTyper = 0x8, kWaker = 0x14, kPropbaser = 0x70, kPidr2 = 0xffe8;
constexpr uint64_t kIgroupr0 = 0x80, kIsenabler0 = 0x100, kIcenabler0 = 0x180, kIspendr0 = 0x200,
                   kIsactiver0 = 0x300, kIpriorityr0 = 0x400, kIcfgr0 = 0xc00, kIcfgr1 = 0xc04,
                   kIgrpmodr0 = 0xd00;

class VgicV3RedistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state = test::make_state(test::v3_config(4));
    redist.attach(state.get());
  }
  uint64_t rd(uint64_t offset, unsigned width = 4) {
    uint64_t v = ~uint64_t{0};
    EXPECT_EQ(redist.read(offset, width, &v), MmioResult::kOk) << std::hex << offset;
    return v;
  }
  void wr(uint64_t offset, uint64_t value, unsigned width = 4) {
    EXPECT_EQ(redist.write(offset, width, value), MmioResult::kOk) << std::hex << offset;
  }

  std::unique_ptr<VgicState> state;
  VgicV3Redistributors redist;
};

// gic_iterate_rdists(): check GICR_PIDR2.ArchRev, read GICR_TYPER, stop at
// Last; the MPIDR match finds each CPU's frame.
TEST_F(VgicV3RedistTest, LinuxFindsEveryRedistributor) {
  EXPECT_EQ(VgicV3Redistributors::region_size(4), 4 * kStride);
  int found = 0;
  for (uint64_t base = 0;; base += kStride) {
    ASSERT_LT(found, 4) << "ran past the last Redistributor";
    EXPECT_EQ(rd(base + kPidr2) & 0xf0, 0x30u);
    const uint64_t typer = rd(base + kTyper, 8);
    // Affinity_Value [63:32] = Aff3.Aff2.Aff1.Aff0 of the vCPU's MPIDR.
    const uint64_t mpidr = test::kMpidrs[static_cast<size_t>(found)];
    const uint64_t aff = ((mpidr >> 8) & 0xff00'0000) | (mpidr & 0xff'ffff);
    EXPECT_EQ(typer >> 32, aff);
    EXPECT_EQ((typer >> 8) & 0xffff, static_cast<uint64_t>(found)) << "Processor_Number";
    EXPECT_EQ(typer & 0x1, 0u) << "PLPIS: no LPIs";
    ++found;
    if ((typer & (1u << 4)) != 0) break;  // GICR_TYPER.Last
  }
  EXPECT_EQ(found, 4);
  // The two 32-bit halves of GICR_TYPER.
  EXPECT_EQ(rd(3 * kStride + kTyper), (3u << 8) | (1u << 4));
  EXPECT_EQ(rd(3 * kStride + kTyper + 4), 0x0100'0002u);
  EXPECT_EQ(rd(kIidr), 0x4c00'043bu);
  EXPECT_EQ(rd(kCtlr), 0u);
}

// gic_enable_redist(true): clear ProcessorSleep, wait for ChildrenAsleep
// to read 0; the reverse puts it to sleep.
TEST_F(VgicV3RedistTest, WakerHandshake) {
  EXPECT_EQ(rd(kStride + kWaker), 0x6u) << "asleep out of reset";
  uint64_t waker = rd(kStride + kWaker);
  wr(kStride + kWaker, waker & ~uint64_t{0x2});
  EXPECT_EQ(rd(kStride + kWaker), 0u) << "ChildrenAsleep follows at once";
  EXPECT_EQ(rd(kWaker), 0x6u) << "each vCPU has its own";
  wr(kStride + kWaker, 0x2);
  EXPECT_EQ(rd(kStride + kWaker), 0x6u);
  wr(kStride + kWaker, 0x4 | 0x1 | 0x8000'0000);  // ChildrenAsleep is read-only; [0], [31] RAZ/WI
  EXPECT_EQ(rd(kStride + kWaker), 0u);
  redist.reset();
  EXPECT_EQ(rd(kStride + kWaker), 0x6u);
}

// gic_cpu_config(): SGIs/PPIs to Group 1, ICACTIVER0/ICENABLER0, priorities,
// then SGIs enabled; each frame addresses its own vCPU's INTIDs 0-31.
TEST_F(VgicV3RedistTest, SgiFrameBanksPerVcpu) {
  const uint64_t f2 = 2 * kStride + kSgi;
  wr(f2 + kIgroupr0, 0xffff'ffff);
  wr(f2 + kIcenabler0, 0xffff'ffff);
  for (uint64_t i = 0; i < 32; i += 4) wr(f2 + kIpriorityr0 + i, 0xa0a0'a0a0);
  wr(f2 + kIsenabler0, 0x0000'ffff);
  EXPECT_EQ(rd(f2 + kIsenabler0), 0xffffu);
  EXPECT_EQ(state->read_bits(BitArray::kEnable, 2, 0), 0xffffu);
  EXPECT_EQ(state->read_bits(BitArray::kEnable, 1, 0), 0u);
  EXPECT_EQ(rd(f2 + kIpriorityr0 + 27, 1), 0xa0u);
  wr(f2 + kIpriorityr0 + 27, 0x20, 1);
  EXPECT_EQ(state->priority(2, 27), 0x20u);
  EXPECT_EQ(rd(f2 + kIpriorityr0 + 24), 0x20a0'a0a0u) << "INTID 27 is byte 3: bits [31:24]";
  // SGIs set pending through ISPENDR0 (GICv3 allows it), per vCPU.
  wr(f2 + kIspendr0, 1u << 3);
  EXPECT_EQ(rd(f2 + kIspendr0), 1u << 3);
  EXPECT_EQ(rd(kStride + kSgi + kIspendr0), 0u);
  wr(f2 + kIsactiver0, 1u << 20);
  EXPECT_EQ(state->read_bits(BitArray::kActive, 2, 0), 1u << 20);
  EXPECT_EQ(rd(f2 + kIgroupr0), 0xffff'ffffu);
  EXPECT_EQ(rd(f2 + kIgrpmodr0), 0u);
}

TEST_F(VgicV3RedistTest, ConfigRegisters) {
  const uint64_t f0 = kSgi;
  EXPECT_EQ(rd(f0 + kIcfgr0), 0xaaaa'aaaau) << "SGIs: edge, read-only";
  wr(f0 + kIcfgr0, 0);
  EXPECT_EQ(rd(f0 + kIcfgr0), 0xaaaa'aaaau);
  EXPECT_EQ(rd(f0 + kIcfgr1), 0u) << "PPIs reset level-sensitive";
  wr(f0 + kIcfgr1, 0x2u << (2 * (27 - 16)));
  EXPECT_TRUE(state->is_edge(0, 27));
  EXPECT_EQ(rd(f0 + kIcfgr1), 0x2u << 22);
}

TEST_F(VgicV3RedistTest, AccessWidthsAndBounds) {
  uint64_t v = 0;
  EXPECT_EQ(redist.read(4 * kStride, 4, &v), MmioResult::kExternalAbort) << "no fifth vCPU";
  EXPECT_EQ(redist.read(kWaker, 8, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(redist.read(kWaker, 2, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(redist.read(kWaker, 1, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(redist.read(kSgi + kIsenabler0, 8, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(redist.read(kSgi + kIsenabler0, 1, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(redist.read(kSgi + kIpriorityr0 + 3, 1, &v), MmioResult::kOk);
  EXPECT_EQ(redist.read(kTyper + 4, 8, &v), MmioResult::kExternalAbort) << "misaligned";
  // The LPI registers: 64-bit, RAZ/WI without LPIs.
  wr(kPropbaser, 0xffff'ffff'ffff'ffff, 8);
  EXPECT_EQ(rd(kPropbaser, 8), 0u);
  VgicV3Redistributors detached;
  EXPECT_EQ(detached.read(kTyper, 8, &v), MmioResult::kExternalAbort);
}

}  // namespace
}  // namespace lamina::hyp::vgic
