// Stage-2 VMSAv8-64 descriptor layouts (4K granule, no FEAT_LPA2) and
// VTTBR_EL2 against DDI 0487 K.a D8.3 "Translation table descriptor formats"
// (stage 2 block/page attributes, table descriptor), D8.4.2 "Stage 2 data
// access permissions", D8.4.3 (stage-2 XN[1:0] with FEAT_XNX) and D23.2
// "VTTBR_EL2".
#include "arch/regs/stage2_desc.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::bits;
using test::expect_layout;

// Stage 2 differs from stage 1 exactly here: MemAttr[3:0] is bits [5:2]
// (stage 1: AttrIndx[2:0] at [4:2] and NS at 5), S2AP at [7:6], no nG (bit 11
// is RES0), and XN is two bits [54:53] (stage 1: PXN 53, UXN/XN 54).
TEST(S2LeafLayout, FieldsMatchTheArmArm) {
  expect_layout<S2Leaf>({
      {"valid", 0, 0},
      {"is_page_or_table", 1, 1},
      {"mem_attr", 5, 2},
      {"s2ap", 7, 6},
      {"sh", 9, 8},
      {"af", 10, 10},
      {"output_address", 47, 12},
      {"dbm", 51, 51},
      {"contiguous", 52, 52},
      {"xn", 54, 53},
      {"software", 58, 55},
  });
  using Reg = S2Leaf;
  LAMINA_S2_LEAF_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(S2LeafLayout, Bit11IsRes0AndThereIsNoNg) {
  EXPECT_EQ(S2Leaf::kRes0, bits({11}));
  EXPECT_EQ(S2Leaf::kRes1, 0u);
  for (const FieldInfo& f : S2Leaf::kFields) EXPECT_STRNE(f.name, "ng");
}

TEST(S2LeafLayout, MemAttrIsFourBitsStartingAtBit2) {
  EXPECT_EQ(S2Leaf().with(S2Leaf::mem_attr, uint64_t{0b1111}).raw(), bits({2, 3, 4, 5}));
  EXPECT_EQ(S2Leaf().with(S2Leaf::mem_attr, uint64_t{0b1000}).raw(), bits({5}));
}

// S2AP[0] (bit 6) grants read, S2AP[1] (bit 7) grants write.
TEST(S2LeafLayout, S2apEncodingsMatchTheSpecTable) {
  EXPECT_EQ(static_cast<uint64_t>(S2Access::kNone), 0b00u);
  EXPECT_EQ(static_cast<uint64_t>(S2Access::kReadOnly), 0b01u);
  EXPECT_EQ(static_cast<uint64_t>(S2Access::kWriteOnly), 0b10u);
  EXPECT_EQ(static_cast<uint64_t>(S2Access::kReadWrite), 0b11u);
  EXPECT_EQ(S2Leaf().with(S2Leaf::s2ap, S2Access::kReadOnly).raw(), bits({6}));
  EXPECT_EQ(S2Leaf().with(S2Leaf::s2ap, S2Access::kWriteOnly).raw(), bits({7}));
}

// XN[1:0] with FEAT_XNX: 0b00 EL1+EL0, 0b01 EL0 only, 0b10 none, 0b11 EL1 only.
TEST(S2LeafLayout, XnEncodingsMatchTheSpecTable) {
  EXPECT_EQ(static_cast<uint64_t>(S2ExecuteNever::kExecutable), 0b00u);
  EXPECT_EQ(static_cast<uint64_t>(S2ExecuteNever::kNotEl1), 0b01u);
  EXPECT_EQ(static_cast<uint64_t>(S2ExecuteNever::kNeverExecutable), 0b10u);
  EXPECT_EQ(static_cast<uint64_t>(S2ExecuteNever::kNotEl0), 0b11u);
  // Without FEAT_XNX only XN[1], bit 54, exists.
  EXPECT_EQ(S2Leaf().with(S2Leaf::xn, S2ExecuteNever::kNeverExecutable).raw(), bits({54}));
  EXPECT_EQ(S2Leaf().with(S2Leaf::xn, S2ExecuteNever::kNotEl1).raw(), bits({53}));
}

TEST(S2LeafLayout, ShareabilityEncodings) {
  EXPECT_EQ(static_cast<uint64_t>(Shareability::kNonShareable), 0b00u);
  EXPECT_EQ(static_cast<uint64_t>(Shareability::kOuterShareable), 0b10u);
  EXPECT_EQ(static_cast<uint64_t>(Shareability::kInnerShareable), 0b11u);
  EXPECT_EQ(S2Leaf().with(S2Leaf::sh, Shareability::kOuterShareable).raw(), bits({9}));
}

// A stage-2 table descriptor has no attributes: stage 1's NSTable, APTable,
// XNTable and PXNTable positions (bits [63:59]) are kept zero.
TEST(S2TableLayout, FieldsMatchTheArmArm) {
  expect_layout<S2Table>({
      {"valid", 0, 0},
      {"is_table", 1, 1},
      {"next_level", 47, 12},
  });
  EXPECT_EQ(S2Table::kRes0, bits({59, 60, 61, 62, 63}));
  using Reg = S2Table;
  LAMINA_S2_TABLE_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(VttbrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<VttbrEl2>({
      {"cnp", 0, 0},
      {"baddr", 47, 1},
      {"vmid", 63, 48},
  });
  using Reg = VttbrEl2;
  LAMINA_VTTBR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

// A 4K guest RAM page: valid|page, MemAttr 0b1111, S2AP RW, SH inner, AF,
// XN 0b00. Written from the spec bit positions.
static_assert(S2Leaf::from_scratch()
                  .with(S2Leaf::valid, true)
                  .with(S2Leaf::is_page_or_table, true)
                  .with(S2Leaf::mem_attr, uint64_t{0b1111})
                  .with(S2Leaf::s2ap, S2Access::kReadWrite)
                  .with(S2Leaf::sh, Shareability::kInnerShareable)
                  .with(S2Leaf::af, true)
                  .with(S2Leaf::output_address, uint64_t{0x40081})
                  .raw() == 0x0000'0000'4008'17ff);
// A device block, never executable, with software bits 0b1001.
static_assert(S2Leaf::from_scratch()
                  .with(S2Leaf::valid, true)
                  .with(S2Leaf::mem_attr, uint64_t{0b0001})
                  .with(S2Leaf::s2ap, S2Access::kReadWrite)
                  .with(S2Leaf::sh, Shareability::kOuterShareable)
                  .with(S2Leaf::af, true)
                  .with(S2Leaf::output_address, uint64_t{0x9000})
                  .with(S2Leaf::xn, S2ExecuteNever::kNeverExecutable)
                  .with(S2Leaf::software, uint64_t{0b1001})
                  .raw() == 0x04c0'0000'0900'06c5);
static_assert(S2Table::from_scratch()
                  .with(S2Table::valid, true)
                  .with(S2Table::is_table, true)
                  .with(S2Table::next_level, uint64_t{0x8'0000'0001})
                  .raw() == 0x0000'8000'0000'1003);
static_assert(VttbrEl2::from_scratch()
                  .with(VttbrEl2::cnp, true)
                  .with(VttbrEl2::baddr, uint64_t{0x4000'0000} >> 1)
                  .with(VttbrEl2::vmid, uint64_t{0x2a})
                  .raw() == 0x002a'0000'4000'0001);

}  // namespace
}  // namespace lamina::arch
