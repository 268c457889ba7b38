// GIC virtualization control layouts against IHI 0069 ("ICH_LR<n>_EL2",
// "ICH_HCR_EL2", "ICH_VTR_EL2", "ICH_VMCR_EL2", "ICH_MISR_EL2") and IHI
// 0048B ("GICH_LRn", "GICH_HCR", "GICH_VTR", "GICH_VMCR", "GICH_MISR").
#include "arch/regs/gich.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(GichLayout, IchLrSoftware) {
  expect_layout<IchLrEl2>({{"vintid", 31, 0},
                           {"eoi", 41, 41},
                           {"priority", 55, 48},
                           {"nmi", 59, 59},
                           {"group", 60, 60},
                           {"hw", 61, 61},
                           {"state", 63, 62}});
  // HW = 0: [40:32], [47:42] (pINTID except EOI) and [58:56] are RES0.
  EXPECT_EQ(IchLrEl2::kRes0,
            test::bits({32, 33, 34, 35, 36, 37, 38, 39, 40, 42, 43, 44, 45, 46, 47, 56, 57, 58}));
  using Reg = IchLrEl2;
  LAMINA_ICH_LR_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GichLayout, IchLrHardware) {
  expect_layout<IchLrEl2Hw>({{"vintid", 31, 0},
                             {"pintid", 44, 32},
                             {"priority", 55, 48},
                             {"nmi", 59, 59},
                             {"group", 60, 60},
                             {"hw", 61, 61},
                             {"state", 63, 62}});
  using Reg = IchLrEl2Hw;
  LAMINA_ICH_LR_HW_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GichLayout, IchLrMatchesLinuxConstants) {
  // arch/arm64/include/asm/sysreg.h: ICH_LR_EOI (1 << 41), ICH_LR_GROUP
  // (1 << 60), ICH_LR_HW (1 << 61), ICH_LR_PENDING_BIT (1 << 62),
  // ICH_LR_ACTIVE_BIT (1 << 63), ICH_LR_PRIORITY_SHIFT 48.
  EXPECT_EQ(IchLrEl2::from_scratch().with(IchLrEl2::eoi, true).raw(), uint64_t{1} << 41);
  EXPECT_EQ(IchLrEl2::from_scratch().with(IchLrEl2::group, true).raw(), uint64_t{1} << 60);
  EXPECT_EQ(IchLrEl2::from_scratch().with(IchLrEl2::hw, true).raw(), uint64_t{1} << 61);
  EXPECT_EQ(IchLrEl2::from_scratch().with(IchLrEl2::state, LrState::kPending).raw(), uint64_t{1} << 62);
  EXPECT_EQ(IchLrEl2::from_scratch().with(IchLrEl2::state, LrState::kActive).raw(), uint64_t{1} << 63);
  EXPECT_EQ(IchLrEl2::from_scratch().with(IchLrEl2::priority, uint64_t{0xa0}).raw(), uint64_t{0xa0} << 48);
}

TEST(GichLayout, IchHcr) {
  expect_layout<IchHcrEl2>({{"en", 0, 0},
                            {"uie", 1, 1},
                            {"lrenpie", 2, 2},
                            {"npie", 3, 3},
                            {"vgrp0eie", 4, 4},
                            {"vgrp0die", 5, 5},
                            {"vgrp1eie", 6, 6},
                            {"vgrp1die", 7, 7},
                            {"tc", 10, 10},
                            {"tall0", 11, 11},
                            {"tall1", 12, 12},
                            {"tsei", 13, 13},
                            {"tdir", 14, 14},
                            {"eoicount", 31, 27}});
  using Reg = IchHcrEl2;
  LAMINA_ICH_HCR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GichLayout, IchVtrVmcrMisr) {
  expect_layout<IchVtrEl2>({{"listregs", 4, 0},
                            {"tds", 19, 19},
                            {"nv4", 20, 20},
                            {"a3v", 21, 21},
                            {"seis", 22, 22},
                            {"idbits", 25, 23},
                            {"prebits", 28, 26},
                            {"pribits", 31, 29}});
  expect_layout<IchVmcrEl2>({{"veng0", 0, 0},
                             {"veng1", 1, 1},
                             {"vackctl", 2, 2},
                             {"vfiqen", 3, 3},
                             {"vcbpr", 4, 4},
                             {"veoim", 9, 9},
                             {"vbpr1", 20, 18},
                             {"vbpr0", 23, 21},
                             {"vpmr", 31, 24}});
  expect_layout<IchMisrEl2>({{"eoi", 0, 0},
                             {"u", 1, 1},
                             {"lrenp", 2, 2},
                             {"np", 3, 3},
                             {"vgrp0e", 4, 4},
                             {"vgrp0d", 5, 5},
                             {"vgrp1e", 6, 6},
                             {"vgrp1d", 7, 7}});
  {
    using Reg = IchVtrEl2;
    LAMINA_ICH_VTR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  {
    using Reg = IchVmcrEl2;
    LAMINA_ICH_VMCR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  {
    using Reg = IchMisrEl2;
    LAMINA_ICH_MISR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  // PRIbits 4 [31:29] = 0x8000_0000, PREbits 4 [28:26] = 0x1000_0000, TDS
  // [19] = 0x8_0000, ListRegs 3 (four list registers).
  const IchVtrEl2 vtr(0x9008'0003);
  EXPECT_EQ(vtr.get(IchVtrEl2::listregs), 3u);
  EXPECT_EQ(vtr.get(IchVtrEl2::pribits), 4u);
  EXPECT_EQ(vtr.get(IchVtrEl2::prebits), 4u);
  EXPECT_TRUE(vtr.get(IchVtrEl2::tds));
}

TEST(GichLayout, GichLr) {
  expect_layout<GichLr>({{"virtualid", 9, 0},
                         {"cpuid", 12, 10},
                         {"eoi", 19, 19},
                         {"priority", 27, 23},
                         {"state", 29, 28},
                         {"grp1", 30, 30},
                         {"hw", 31, 31}});
  expect_layout<GichLrHw>({{"virtualid", 9, 0},
                           {"physicalid", 19, 10},
                           {"priority", 27, 23},
                           {"state", 29, 28},
                           {"grp1", 30, 30},
                           {"hw", 31, 31}});
  {
    using Reg = GichLr;
    LAMINA_GICH_LR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  {
    using Reg = GichLrHw;
    LAMINA_GICH_LR_HW_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  // include/linux/irqchip/arm-gic.h: GICH_LR_PENDING_BIT (1 << 28),
  // GICH_LR_ACTIVE_BIT (1 << 29), GICH_LR_EOI (1 << 19), GICH_LR_GROUP1
  // (1 << 30), GICH_LR_HW (1 << 31), GICH_LR_PRIORITY_SHIFT 23,
  // GICH_LR_PHYSID_CPUID_SHIFT 10.
  EXPECT_EQ(GichLr::from_scratch().with(GichLr::state, LrState::kPending).raw(), 1u << 28);
  EXPECT_EQ(GichLr::from_scratch().with(GichLr::state, LrState::kActive).raw(), 1u << 29);
  EXPECT_EQ(GichLr::from_scratch().with(GichLr::eoi, true).raw(), 1u << 19);
  EXPECT_EQ(GichLr::from_scratch().with(GichLr::priority, uint64_t{1}).raw(), 1u << 23);
  EXPECT_EQ(GichLr::from_scratch().with(GichLr::cpuid, uint64_t{1}).raw(), 1u << 10);
}

TEST(GichLayout, GichHcrVtrVmcrMisr) {
  expect_layout<GichHcr>({{"en", 0, 0},
                          {"uie", 1, 1},
                          {"lrenpie", 2, 2},
                          {"npie", 3, 3},
                          {"vgrp0eie", 4, 4},
                          {"vgrp0die", 5, 5},
                          {"vgrp1eie", 6, 6},
                          {"vgrp1die", 7, 7},
                          {"eoicount", 31, 27}});
  expect_layout<GichVtr>({{"listregs", 5, 0}, {"prebits", 28, 26}, {"pribits", 31, 29}});
  expect_layout<GichVmcr>({{"vmgrp0en", 0, 0},
                           {"vmgrp1en", 1, 1},
                           {"vmackctl", 2, 2},
                           {"vmfiqen", 3, 3},
                           {"vmcbpr", 4, 4},
                           {"vem", 9, 9},
                           {"vmabp", 20, 18},
                           {"vmbp", 23, 21},
                           {"vmprimask", 31, 27}});
  expect_layout<GichMisr>({{"eoi", 0, 0},
                           {"u", 1, 1},
                           {"lrenp", 2, 2},
                           {"np", 3, 3},
                           {"vgrp0e", 4, 4},
                           {"vgrp0d", 5, 5},
                           {"vgrp1e", 6, 6},
                           {"vgrp1d", 7, 7}});
  EXPECT_EQ(gic::gich::kLr0, 0x100u);
  EXPECT_EQ(gic::gich::kElrsr0, 0x30u);
}

}  // namespace
}  // namespace lamina::arch
