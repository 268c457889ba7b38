// GIC Distributor layouts against IHI 0069 ("GICD_CTLR" single Security
// state, "GICD_TYPER", "GICD_IIDR", "GICD_IROUTER<n>", "Identification
// registers") and IHI 0048B ("GICD_CTLR", "GICD_TYPER", "GICD_SGIR").
#include "arch/regs/gicd.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::bits;
using test::expect_layout;

TEST(GicdLayout, CtlrSingleSecurityState) {
  expect_layout<GicdCtlr>({{"enable_grp0", 0, 0}, {"enable_grp1", 1, 1}, {"are", 4, 4}, {"ds", 6, 6},
                           {"e1nwf", 7, 7}, {"nassgireq", 8, 8}, {"rwp", 31, 31}});
  // Bits 2, 3, 5 and 9-30 are RES0 in this view; so is the upper word.
  EXPECT_EQ(GicdCtlr::kRes0 & 0xffff'ffff, bits({2, 3, 5}) | 0x7fff'fe00);
  using Reg = GicdCtlr;
  LAMINA_GICD_CTLR_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GicdLayout, CtlrV2) {
  expect_layout<GicdCtlrV2>({{"enable_grp0", 0, 0}, {"enable_grp1", 1, 1}});
  using Reg = GicdCtlrV2;
  LAMINA_GICD_CTLR_V2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GicdLayout, Typer) {
  expect_layout<GicdTyper>({{"itlinesnumber", 4, 0},
                            {"cpunumber", 7, 5},
                            {"espi", 8, 8},
                            {"nmi", 9, 9},
                            {"securityextn", 10, 10},
                            {"num_lpis", 15, 11},
                            {"mbis", 16, 16},
                            {"lpis", 17, 17},
                            {"dvis", 18, 18},
                            {"idbits", 23, 19},
                            {"a3v", 24, 24},
                            {"no1n", 25, 25},
                            {"rss", 26, 26},
                            {"espi_range", 31, 27}});
  using Reg = GicdTyper;
  LAMINA_GICD_TYPER_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // QEMU's GICv3 (no LPIs, 256 INTIDs): No1N | A3V | IDbits 0xf | ITLines 7.
  EXPECT_EQ(GicdTyper::from_scratch()
                .with(GicdTyper::no1n, true)
                .with(GicdTyper::a3v, true)
                .with(GicdTyper::idbits, uint64_t{0xf})
                .with(GicdTyper::itlinesnumber, uint64_t{7})
                .raw(),
            0x0378'0007u);
}

TEST(GicdLayout, TyperV2) {
  expect_layout<GicdTyperV2>(
      {{"itlinesnumber", 4, 0}, {"cpunumber", 7, 5}, {"securityextn", 10, 10}, {"lspi", 15, 11}});
  using Reg = GicdTyperV2;
  LAMINA_GICD_TYPER_V2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GicdLayout, Iidr) {
  expect_layout<GicdIidr>(
      {{"implementer", 11, 0}, {"revision", 15, 12}, {"variant", 19, 16}, {"productid", 31, 24}});
  using Reg = GicdIidr;
  LAMINA_GICD_IIDR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // JEP106 Arm: bank 5 (continuation code 4), identity 0x3b.
  EXPECT_EQ(gic::kImplementerArm, 0x43bu);
  // A GIC-500 r1p1 reports 0x0000_143b (Linux's quirk tables match on it).
  EXPECT_EQ(GicdIidr::from_scratch()
                .with(GicdIidr::implementer, gic::kImplementerArm)
                .with(GicdIidr::revision, uint64_t{1})
                .with(GicdIidr::variant, uint64_t{0})
                .raw(),
            0x143bu);
}

TEST(GicdLayout, Irouter) {
  expect_layout<GicdIrouter>({{"aff0", 7, 0},
                              {"aff1", 15, 8},
                              {"aff2", 23, 16},
                              {"interrupt_routing_mode", 31, 31},
                              {"aff3", 39, 32}});
  EXPECT_EQ(GicdIrouter::kRes0, ~uint64_t{0xff'80ff'ffff});
  using Reg = GicdIrouter;
  LAMINA_GICD_IROUTER_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GicdLayout, SgirV2) {
  expect_layout<GicdSgir>(
      {{"sgiintid", 3, 0}, {"nsatt", 15, 15}, {"cputargetlist", 23, 16}, {"targetlistfilter", 25, 24}});
  using Reg = GicdSgir;
  LAMINA_GICD_SGIR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // Linux's gic_raise_softirq: map << 16 | irq; "all but self" is 1 << 24.
  EXPECT_EQ(GicdSgir(0x0002'0005).get(GicdSgir::cputargetlist), 0x02u);
  EXPECT_EQ(GicdSgir(0x0002'0005).get(GicdSgir::sgiintid), 5u);
  EXPECT_EQ(GicdSgir(0x0100'0000).get(GicdSgir::targetlistfilter), SgirTargetFilter::kAllButSelf);
  EXPECT_EQ(GicdSgir(0x0200'0000).get(GicdSgir::targetlistfilter), SgirTargetFilter::kSelf);
}

TEST(GicdLayout, IdentificationRegisters) {
  expect_layout<GicPidr0>({{"part_0", 7, 0}});
  expect_layout<GicPidr1>({{"part_1", 3, 0}, {"des_0", 7, 4}});
  expect_layout<GicPidr2>({{"des_1", 2, 0}, {"jedec", 3, 3}, {"archrev", 7, 4}});
  expect_layout<GicPidr4>({{"des_2", 3, 0}, {"size", 7, 4}});
  // Linux's GIC_PIDR2_ARCH_MASK is 0xf0, GIC_PIDR2_ARCH_GICv3 0x30.
  EXPECT_EQ(decltype(GicPidr2::archrev)::kMask, 0xf0u);
}

TEST(GicdMap, OffsetsFromTheRegisterMap) {
  namespace d = gic::dist;
  // IHI 0069 / IHI 0048B register maps.
  EXPECT_EQ(d::kIgroupr, 0x080u);
  EXPECT_EQ(d::kIsenabler, 0x100u);
  EXPECT_EQ(d::kIcenabler, 0x180u);
  EXPECT_EQ(d::kIspendr, 0x200u);
  EXPECT_EQ(d::kIcpendr, 0x280u);
  EXPECT_EQ(d::kIsactiver, 0x300u);
  EXPECT_EQ(d::kIcactiver, 0x380u);
  EXPECT_EQ(d::kIpriorityr, 0x400u);
  EXPECT_EQ(d::kItargetsr, 0x800u);
  EXPECT_EQ(d::kIcfgr, 0xc00u);
  EXPECT_EQ(d::kIgrpmodr, 0xd00u);
  EXPECT_EQ(d::kNsacr, 0xe00u);
  EXPECT_EQ(d::kSgir, 0xf00u);
  EXPECT_EQ(d::kCpendsgir, 0xf10u);
  EXPECT_EQ(d::kSpendsgir, 0xf20u);
  // GICD_IROUTER32 at 0x6100, GICD_IROUTER1019 at 0x7fd8.
  EXPECT_EQ(d::kIrouter + 8 * 32, 0x6100u);
  EXPECT_EQ(d::kIrouterEnd - 8, 0x7fd8u);
  // GICD_PIDR2 at 0xffe8 (GICv3) and 0xfe8 (GICv2).
  EXPECT_EQ(d::kV3IdRegs + d::kPidr2, 0xffe8u);
  EXPECT_EQ(d::kV2IdRegs + d::kPidr2, 0xfe8u);
  EXPECT_EQ(d::kV3IdRegs + d::kCidr0, 0xfff0u);
  EXPECT_EQ(gic::kMaxSpis, 988u);
}

}  // namespace
}  // namespace lamina::arch
