// Tests for mm/stage2_geometry against DDI 0487 K.a D8.2 "Translation table
// walk" (4KB granule, stage 2: start level and concatenated tables) and
// D23.2 "VTCR_EL2" (SL0 and T0SZ).
#include "mm/stage2_geometry.hpp"

#include <gtest/gtest.h>

namespace lamina::mm {
namespace {

struct Row {
  unsigned ipa_bits;
  unsigned start_level;
  unsigned tables;
  uint64_t sl0;
};

// Written from the spec table: with the 4K granule a level-2 root resolves
// 30 bits, level 1 39 bits, level 0 48 bits, and concatenating 2^n roots adds
// n bits (n <= 4). The fewest levels win: 44 bits could be level 1 with 32
// tables, which is beyond the 16-table limit, so it starts at level 0.
constexpr Row kTable[] = {
    {32, 2, 4, 0},  {33, 2, 8, 0},  {34, 2, 16, 0}, {35, 1, 1, 1}, {36, 1, 1, 1}, {37, 1, 1, 1},
    {38, 1, 1, 1},  {39, 1, 1, 1},  {40, 1, 2, 1},  {41, 1, 4, 1}, {42, 1, 8, 1}, {43, 1, 16, 1},
    {44, 0, 1, 2},  {45, 0, 1, 2},  {46, 0, 1, 2},  {47, 0, 1, 2}, {48, 0, 1, 2},
};

TEST(Stage2Geometry, MatchesTheSpecTableForEveryIpaSize) {
  for (const Row& row : kTable) {
    SCOPED_TRACE(row.ipa_bits);
    const auto g = stage2_geometry(row.ipa_bits);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g.value().ipa_bits, row.ipa_bits);
    EXPECT_EQ(g.value().start_level, row.start_level);
    EXPECT_EQ(g.value().levels, 4 - row.start_level);
    EXPECT_EQ(g.value().concatenated_tables, row.tables);
    EXPECT_EQ(g.value().sl0, row.sl0);
    EXPECT_EQ(g.value().t0sz, 64u - row.ipa_bits);
  }
}

TEST(Stage2Geometry, StartLevelAndConcatenationResolveExactlyTheIpaBits) {
  for (unsigned ipa_bits = 32; ipa_bits <= 48; ++ipa_bits) {
    SCOPED_TRACE(ipa_bits);
    const auto r = stage2_geometry(ipa_bits);
    ASSERT_TRUE(r.ok());
    const Stage2Geometry& g = r.value();
    ASSERT_GE(g.concatenated_tables, 1u);
    ASSERT_LE(g.concatenated_tables, 16u);
    ASSERT_EQ(g.concatenated_tables & (g.concatenated_tables - 1), 0u) << "a power of two";
    unsigned concat_bits = 0;
    while ((1u << concat_bits) < g.concatenated_tables) ++concat_bits;
    const unsigned resolved = 12 + 9 * g.levels + concat_bits;
    if (g.concatenated_tables > 1) {
      EXPECT_EQ(resolved, ipa_bits) << "concatenated roots are all used";
    } else {
      // A single root covers the IPA space, and one level less would not,
      // even with 16 tables.
      EXPECT_GE(resolved, ipa_bits);
      EXPECT_LT(12 + 9 * (g.levels - 1), ipa_bits);
    }
    if (g.levels > 2) {
      EXPECT_GT(ipa_bits, 12 + 9 * (g.levels - 1) + 4) << "not the fewest levels";
    }
    // The architected start level / T0SZ pairs for TG0 = 4K (VTCR_EL2.SL0
    // description): SL0 0 (level 2) allows T0SZ 30..39, SL0 1 (level 1)
    // 21..33, SL0 2 (level 0) 16..24.
    switch (g.sl0) {
      case 0: EXPECT_TRUE(g.t0sz >= 30 && g.t0sz <= 39); break;
      case 1: EXPECT_TRUE(g.t0sz >= 21 && g.t0sz <= 33); break;
      case 2: EXPECT_TRUE(g.t0sz >= 16 && g.t0sz <= 24); break;
      default: ADD_FAILURE() << "SL0 " << g.sl0;
    }
    EXPECT_EQ(g.sl0, 2u - g.start_level);
  }
}

TEST(Stage2Geometry, RejectsSizesOutside32To48) {
  for (unsigned ipa_bits : {0u, 16u, 31u}) {
    const auto g = stage2_geometry(ipa_bits);
    ASSERT_FALSE(g.ok()) << ipa_bits;
    EXPECT_EQ(g.error(), GeometryError::kIpaTooSmall);
  }
  for (unsigned ipa_bits : {49u, 52u, 56u, 64u, ~0u}) {
    const auto g = stage2_geometry(ipa_bits);
    ASSERT_FALSE(g.ok()) << ipa_bits;
    EXPECT_EQ(g.error(), GeometryError::kIpaTooLarge);
  }
}

// For every PARange encoding and every requested IPA size from 0 ("as
// large as the CPU allows") to 52: the expected outcome derived from the
// rules, independently of the implementation's code path.
TEST(Stage2Geometry, ForEveryPaRangeAndRequestedIpaSize) {
  struct PaRow {
    arch::PhysAddrSize parange;
    unsigned pa_bits;
  };
  // ID_AA64MMFR0_EL1.PARange, DDI 0487 K.a D23.2.
  const PaRow pa_rows[] = {
      {arch::PhysAddrSize::k32Bits, 32}, {arch::PhysAddrSize::k36Bits, 36}, {arch::PhysAddrSize::k40Bits, 40},
      {arch::PhysAddrSize::k42Bits, 42}, {arch::PhysAddrSize::k44Bits, 44}, {arch::PhysAddrSize::k48Bits, 48},
      {arch::PhysAddrSize::k52Bits, 52},
  };
  for (const PaRow& pa : pa_rows) {
    for (unsigned requested = 0; requested <= 52; ++requested) {
      SCOPED_TRACE(testing::Message() << "PA " << pa.pa_bits << " bits, requested IPA " << requested);
      const auto g = stage2_geometry_for(pa.parange, requested);
      const unsigned effective = requested == 0 ? (pa.pa_bits > 48 ? 48 : pa.pa_bits) : requested;
      if (requested != 0 && requested > pa.pa_bits) {
        ASSERT_FALSE(g.ok());
        EXPECT_EQ(g.error(), GeometryError::kIpaAbovePhysical);
      } else if (effective < 32) {
        ASSERT_FALSE(g.ok());
        EXPECT_EQ(g.error(), GeometryError::kIpaTooSmall);
      } else if (effective > 48) {
        ASSERT_FALSE(g.ok());
        EXPECT_EQ(g.error(), GeometryError::kIpaTooLarge);
      } else {
        ASSERT_TRUE(g.ok());
        const Row& row = kTable[effective - 32];
        EXPECT_EQ(g.value().ipa_bits, effective);
        EXPECT_EQ(g.value().start_level, row.start_level);
        EXPECT_EQ(g.value().concatenated_tables, row.tables);
        EXPECT_EQ(g.value().sl0, row.sl0);
      }
    }
  }
}

TEST(Stage2Geometry, ReservedPaRangeIsRefused) {
  const auto g = stage2_geometry_for(static_cast<arch::PhysAddrSize>(0b1111), 0);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error(), GeometryError::kReservedPhysAddrSize);
  EXPECT_STRNE(geometry_error_name(g.error()), "unknown geometry error");
}

}  // namespace
}  // namespace lamina::mm
