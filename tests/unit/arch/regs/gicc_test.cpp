// GICv2 CPU interface layouts against IHI 0048B 4.4 "CPU interface register
// descriptions" (Table 4-2 "CPU interface register map", 4.4.1 "GICC_CTLR",
// 4.4.4 "GICC_IAR") and Linux's include/linux/irqchip/arm-gic.h.
#include "arch/regs/gicc.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(GiccLayout, RegisterMap) {
  // arm-gic.h: GIC_CPU_CTRL 0x00, GIC_CPU_PRIMASK 0x04, GIC_CPU_BINPOINT
  // 0x08, GIC_CPU_INTACK 0x0c, GIC_CPU_EOI 0x10, GIC_CPU_RUNNINGPRI 0x14,
  // GIC_CPU_HIGHPRI 0x18, GIC_CPU_ACTIVEPRIO 0xd0, GIC_CPU_IDENT 0xfc,
  // GIC_CPU_DEACTIVATE 0x1000.
  EXPECT_EQ(gic::cpu::kCtlr, 0x00u);
  EXPECT_EQ(gic::cpu::kPmr, 0x04u);
  EXPECT_EQ(gic::cpu::kBpr, 0x08u);
  EXPECT_EQ(gic::cpu::kIar, 0x0cu);
  EXPECT_EQ(gic::cpu::kEoir, 0x10u);
  EXPECT_EQ(gic::cpu::kRpr, 0x14u);
  EXPECT_EQ(gic::cpu::kHppir, 0x18u);
  EXPECT_EQ(gic::cpu::kApr0, 0xd0u);
  EXPECT_EQ(gic::cpu::kIidr, 0xfcu);
  EXPECT_EQ(gic::cpu::kDir, 0x1000u);
  EXPECT_GT(gic::cpu::kFrameSize, gic::cpu::kDir) << "GICC_DIR lies inside the frame";
}

TEST(GiccLayout, Ctlr) {
  expect_layout<GiccCtlr>({{"enable_grp0", 0, 0},
                           {"enable_grp1", 1, 1},
                           {"ackctl", 2, 2},
                           {"fiqen", 3, 3},
                           {"cbpr", 4, 4},
                           {"fiqbypdisgrp0", 5, 5},
                           {"irqbypdisgrp0", 6, 6},
                           {"fiqbypdisgrp1", 7, 7},
                           {"irqbypdisgrp1", 8, 8},
                           {"eoimode", 9, 9}});
  using Reg = GiccCtlr;
  LAMINA_GICC_CTLR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // arm-gic.h: GICC_ENABLE 0x1, GICC_DIS_BYPASS_MASK 0x1e0,
  // GIC_CPU_CTRL_EOImodeNS (1 << 9).
  EXPECT_EQ(GiccCtlr::from_scratch().with(GiccCtlr::enable_grp0, true).raw(), 0x1u);
  EXPECT_EQ(GiccCtlr::from_scratch().with(GiccCtlr::eoimode, true).raw(), 1u << 9);
  EXPECT_EQ(GiccCtlr::from_scratch()
                .with(GiccCtlr::fiqbypdisgrp0, true)
                .with(GiccCtlr::irqbypdisgrp0, true)
                .with(GiccCtlr::fiqbypdisgrp1, true)
                .with(GiccCtlr::irqbypdisgrp1, true)
                .raw(),
            0x1e0u);
}

TEST(GiccLayout, Iar) {
  expect_layout<GiccIar>({{"interruptid", 9, 0}, {"cpuid", 12, 10}});
  using Reg = GiccIar;
  LAMINA_GICC_IAR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // An SGI 3 from CPU interface 5: arm-gic.h GICC_IAR_INT_ID_MASK 0x3ff,
  // the source in [12:10].
  const auto iar = GiccIar::from_raw(0x1403);
  EXPECT_EQ(iar.get(GiccIar::interruptid), 3u);
  EXPECT_EQ(iar.get(GiccIar::cpuid), 5u);
  EXPECT_EQ(GiccIar::from_raw(0x3ff).get(GiccIar::interruptid), 1023u);
}

}  // namespace
}  // namespace lamina::arch
