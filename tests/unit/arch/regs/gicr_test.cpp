// GICv3 Redistributor layouts against IHI 0069 ("GICR_CTLR", "GICR_TYPER",
// "GICR_WAKER", "The GIC Redistributor register map").
#include "arch/regs/gicr.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(GicrLayout, Ctlr) {
  expect_layout<GicrCtlr>({{"enable_lpis", 0, 0},
                           {"ces", 1, 1},
                           {"ir", 2, 2},
                           {"rwp", 3, 3},
                           {"dpg0", 24, 24},
                           {"dpg1ns", 25, 25},
                           {"dpg1s", 26, 26},
                           {"uwp", 31, 31}});
  using Reg = GicrCtlr;
  LAMINA_GICR_CTLR_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GicrLayout, Typer) {
  expect_layout<GicrTyper>({{"plpis", 0, 0},
                            {"vlpis", 1, 1},
                            {"dirty", 2, 2},
                            {"directlpi", 3, 3},
                            {"last", 4, 4},
                            {"dpgs", 5, 5},
                            {"mpam", 6, 6},
                            {"rvpeid", 7, 7},
                            {"processor_number", 23, 8},
                            {"commonlpiaff", 25, 24},
                            {"vsgi", 26, 26},
                            {"ppinum", 31, 27},
                            {"affinity_value", 63, 32}});
  using Reg = GicrTyper;
  LAMINA_GICR_TYPER_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(GicrLayout, Waker) {
  expect_layout<GicrWaker>({{"processor_sleep", 1, 1}, {"children_asleep", 2, 2}});
  using Reg = GicrWaker;
  LAMINA_GICR_WAKER_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // Linux's GICR_WAKER_ProcessorSleep (1U << 1), GICR_WAKER_ChildrenAsleep (1U << 2).
  EXPECT_EQ(GicrWaker::from_scratch().with(GicrWaker::processor_sleep, true).raw(), 0x2u);
  EXPECT_EQ(GicrWaker::from_scratch().with(GicrWaker::children_asleep, true).raw(), 0x4u);
}

TEST(GicrLayout, AffinityValueOfAnMpidr) {
  // Aff3 [39:32] of MPIDR_EL1 lands in Affinity_Value [31:24].
  EXPECT_EQ(gicr_affinity_value(MpidrEl1(0x12'0034'5678)), 0x1234'5678u);
  EXPECT_EQ(gicr_affinity_value(MpidrEl1(0x8000'0001)), 0x1u);  // RES1 bit 31 and U/MT dropped
  EXPECT_EQ(gicr_affinity_value(MpidrEl1(0x4100'0100)), 0x100u);
}

TEST(GicrMap, OffsetsFromTheRegisterMap) {
  namespace r = gic::redist;
  EXPECT_EQ(r::kWaker, 0x14u);
  EXPECT_EQ(r::kPropbaser, 0x70u);
  EXPECT_EQ(r::kPendbaser, 0x78u);
  EXPECT_EQ(r::kIdRegs + 0x18, 0xffe8u);  // GICR_PIDR2
  EXPECT_EQ(r::kSgiBase + r::kIsenabler0, 0x10100u);
  EXPECT_EQ(r::kSgiBase + r::kIcfgr1, 0x10c04u);
  EXPECT_EQ(r::kStride, 0x20000u);
}

}  // namespace
}  // namespace lamina::arch
