// TCR_EL2 layout (E2H == 0) against DDI 0487 K.a D23.2 "TCR_EL2", and the
// shared encodings in arch/regs/common.hpp.
#include "arch/regs/tcr_el2.hpp"

#include <gtest/gtest.h>

#include "arch/regs/common.hpp"
#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::bits;
using test::expect_layout;

TEST(TcrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<TcrEl2>({
      {"t0sz", 5, 0},  {"irgn0", 9, 8}, {"orgn0", 11, 10}, {"sh0", 13, 12}, {"tg0", 15, 14},
      {"ps", 18, 16},  {"tbi", 20, 20}, {"ha", 21, 21},    {"hd", 22, 22},  {"hpd", 24, 24},
      {"tbid", 29, 29}, {"tcma", 30, 30}, {"ds", 32, 32},
  });
}

TEST(TcrEl2Layout, Res1IsBits31And23) {
  EXPECT_EQ(TcrEl2::kRes1, bits({23, 31}));
  EXPECT_EQ(TcrEl2::from_scratch().raw(), 0x8080'0000u);
}

TEST(TcrEl2Layout, EveryFieldRoundTrips) {
  using Reg = TcrEl2;
  LAMINA_TCR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

// Encodings from the field descriptions: IRGN0/ORGN0, SH0, TG0, PS.
static_assert(static_cast<uint64_t>(WalkCacheability::kNonCacheable) == 0b00);
static_assert(static_cast<uint64_t>(WalkCacheability::kWriteBackReadWriteAllocate) == 0b01);
static_assert(static_cast<uint64_t>(WalkCacheability::kWriteThroughReadAllocate) == 0b10);
static_assert(static_cast<uint64_t>(WalkCacheability::kWriteBackReadAllocate) == 0b11);
static_assert(static_cast<uint64_t>(Shareability::kNonShareable) == 0b00);
static_assert(static_cast<uint64_t>(Shareability::kOuterShareable) == 0b10);
static_assert(static_cast<uint64_t>(Shareability::kInnerShareable) == 0b11);
static_assert(static_cast<uint64_t>(Tg0::k4K) == 0b00);
static_assert(static_cast<uint64_t>(Tg0::k64K) == 0b01);
static_assert(static_cast<uint64_t>(Tg0::k16K) == 0b10);

TEST(PhysAddrSize, EncodingsAndBitCounts) {
  struct Row {
    uint64_t encoding;
    unsigned bits;
  };
  const Row rows[] = {{0b0000, 32}, {0b0001, 36}, {0b0010, 40}, {0b0011, 42},
                      {0b0100, 44}, {0b0101, 48}, {0b0110, 52}, {0b0111, 56}};
  for (const Row& r : rows) {
    const auto s = static_cast<PhysAddrSize>(r.encoding);
    EXPECT_EQ(phys_addr_bits(s), r.bits) << r.encoding;
    EXPECT_EQ(phys_addr_size_for_bits(r.bits), s) << r.bits;
  }
  for (uint64_t reserved = 0b1000; reserved <= 0b1111; ++reserved)
    EXPECT_EQ(phys_addr_bits(static_cast<PhysAddrSize>(reserved)), 0u) << reserved;
  // In-between sizes round down to the largest encoding not above them.
  EXPECT_EQ(phys_addr_size_for_bits(39), PhysAddrSize::k36Bits);
  EXPECT_EQ(phys_addr_size_for_bits(41), PhysAddrSize::k40Bits);
  EXPECT_EQ(phys_addr_size_for_bits(47), PhysAddrSize::k44Bits);
  EXPECT_EQ(phys_addr_size_for_bits(64), PhysAddrSize::k56Bits);
}

}  // namespace
}  // namespace lamina::arch
