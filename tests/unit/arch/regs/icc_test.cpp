// ICC_SGI1R_EL1 against IHI 0069 "ICC_SGI1R_EL1".
#include "arch/regs/icc.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

TEST(IccLayout, Sgi1r) {
  test::expect_layout<IccSgi1rEl1>({{"targetlist", 15, 0},
                                    {"aff1", 23, 16},
                                    {"intid", 27, 24},
                                    {"aff2", 39, 32},
                                    {"irm", 40, 40},
                                    {"rs", 47, 44},
                                    {"aff3", 55, 48}});
  EXPECT_EQ(IccSgi1rEl1::kRes0, test::bits({28, 29, 30, 31, 41, 42, 43, 56, 57, 58, 59, 60, 61, 62, 63}));
  using Reg = IccSgi1rEl1;
  LAMINA_ICC_SGI1R_EL1_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // Linux's gic_send_sgi: MPIDR_TO_SGI_AFFINITY(cluster, 3) << 48 | ... |
  // irq << 24 | aff1 << 16 | tlist. SGI 1 to Aff0 {0, 2} in Aff3.2.1 = 1.2.3:
  const IccSgi1rEl1 v((uint64_t{1} << 48) | (uint64_t{2} << 32) | (1u << 24) | (3u << 16) | 0b101);
  EXPECT_EQ(v.get(IccSgi1rEl1::aff3), 1u);
  EXPECT_EQ(v.get(IccSgi1rEl1::aff2), 2u);
  EXPECT_EQ(v.get(IccSgi1rEl1::aff1), 3u);
  EXPECT_EQ(v.get(IccSgi1rEl1::intid), 1u);
  EXPECT_EQ(v.get(IccSgi1rEl1::targetlist), 0b101u);
  EXPECT_FALSE(v.get(IccSgi1rEl1::irm));
  EXPECT_TRUE(IccSgi1rEl1(uint64_t{1} << 40).get(IccSgi1rEl1::irm));  // ICC_SGI1R_IRQ_ROUTING_MODE_BIT
}

}  // namespace
}  // namespace lamina::arch
