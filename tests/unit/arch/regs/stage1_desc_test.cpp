// Stage-1 VMSAv8-64 descriptor layouts (4K granule, EL2 regime) against DDI
// 0487 K.a D8.3 "Translation table descriptor formats": block/page
// attributes and table-descriptor hierarchical attributes.
#include "arch/regs/stage1_desc.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(S1LeafLayout, FieldsMatchTheArmArm) {
  expect_layout<S1Leaf>({
      {"valid", 0, 0},           {"is_page_or_table", 1, 1}, {"attr_index", 4, 2}, {"ns", 5, 5},
      {"ap", 7, 6},              {"sh", 9, 8},               {"af", 10, 10},       {"ng", 11, 11},
      {"output_address", 47, 12}, {"contiguous", 52, 52},    {"pxn", 53, 53},      {"xn", 54, 54},
      {"software", 58, 55},
  });
  using Reg = S1Leaf;
  LAMINA_S1_LEAF_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(S1TableLayout, FieldsMatchTheArmArm) {
  expect_layout<S1Table>({
      {"valid", 0, 0},       {"is_table", 1, 1},    {"next_level", 47, 12}, {"pxn_table", 59, 59},
      {"xn_table", 60, 60},  {"ap_table", 62, 61},  {"ns_table", 63, 63},
  });
  using Reg = S1Table;
  LAMINA_S1_TABLE_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(S1LeafLayout, El2AccessEncodesApBits2To1WithAp1Res1) {
  // AP[2] (descriptor bit 7) selects read-only; AP[1] (bit 6) is RES1 in a
  // single-privilege regime.
  EXPECT_EQ(static_cast<uint64_t>(El2Access::kReadWrite), 0b01u);
  EXPECT_EQ(static_cast<uint64_t>(El2Access::kReadOnly), 0b11u);
  EXPECT_EQ(S1Leaf().with(S1Leaf::ap, El2Access::kReadWrite).raw(), uint64_t{1} << 6);
  EXPECT_EQ(S1Leaf().with(S1Leaf::ap, El2Access::kReadOnly).raw(), uint64_t{3} << 6);
}

// A typical 4K page: normal WB (AttrIndx 3), RW, inner shareable, AF, XN.
static_assert(S1Leaf::from_scratch()
                  .with(S1Leaf::valid, true)
                  .with(S1Leaf::is_page_or_table, true)
                  .with(S1Leaf::attr_index, MemAttrIndex::kNormalWriteBack)
                  .with(S1Leaf::ap, El2Access::kReadWrite)
                  .with(S1Leaf::sh, Shareability::kInnerShareable)
                  .with(S1Leaf::af, true)
                  .with(S1Leaf::output_address, uint64_t{0x40081})
                  .with(S1Leaf::xn, true)
                  .raw() == 0x0040'0000'4008'174f);
static_assert(S1Table::from_scratch()
                  .with(S1Table::valid, true)
                  .with(S1Table::is_table, true)
                  .with(S1Table::next_level, uint64_t{0x8'0000'0001})
                  .with(S1Table::ns_table, true)
                  .raw() == 0x8000'8000'0000'1003);

}  // namespace
}  // namespace lamina::arch
