// PL011 register map and layouts against ARM DDI 0183 "PrimeCell UART
// (PL011) Technical Reference Manual", "Summary of registers" and the
// register descriptions.
#include "arch/pl011.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(Pl011Map, Offsets) {
  EXPECT_EQ(pl011::kDr, 0x000u);
  EXPECT_EQ(pl011::kRsr, 0x004u);
  EXPECT_EQ(pl011::kFr, 0x018u);
  EXPECT_EQ(pl011::kIlpr, 0x020u);
  EXPECT_EQ(pl011::kIbrd, 0x024u);
  EXPECT_EQ(pl011::kFbrd, 0x028u);
  EXPECT_EQ(pl011::kLcrH, 0x02cu);
  EXPECT_EQ(pl011::kCr, 0x030u);
  EXPECT_EQ(pl011::kIfls, 0x034u);
  EXPECT_EQ(pl011::kImsc, 0x038u);
  EXPECT_EQ(pl011::kRis, 0x03cu);
  EXPECT_EQ(pl011::kMis, 0x040u);
  EXPECT_EQ(pl011::kIcr, 0x044u);
  EXPECT_EQ(pl011::kDmacr, 0x048u);
  EXPECT_EQ(pl011::kPeriphId0, 0xfe0u);
  EXPECT_EQ(pl011::kPCellId0, 0xff0u);
}

TEST(Pl011Layout, FieldsMatchTheTrm) {
  expect_layout<Pl011Dr>({{"data", 7, 0}, {"fe", 8, 8}, {"pe", 9, 9}, {"be", 10, 10}, {"oe", 11, 11}});
  expect_layout<Pl011Rsr>({{"fe", 0, 0}, {"pe", 1, 1}, {"be", 2, 2}, {"oe", 3, 3}});
  expect_layout<Pl011Fr>({{"cts", 0, 0},
                          {"dsr", 1, 1},
                          {"dcd", 2, 2},
                          {"busy", 3, 3},
                          {"rxfe", 4, 4},
                          {"txff", 5, 5},
                          {"rxff", 6, 6},
                          {"txfe", 7, 7},
                          {"ri", 8, 8}});
  expect_layout<Pl011LcrH>({{"brk", 0, 0},
                            {"pen", 1, 1},
                            {"eps", 2, 2},
                            {"stp2", 3, 3},
                            {"fen", 4, 4},
                            {"wlen", 6, 5},
                            {"sps", 7, 7}});
  expect_layout<Pl011Cr>({{"uarten", 0, 0},
                          {"siren", 1, 1},
                          {"sirlp", 2, 2},
                          {"lbe", 7, 7},
                          {"txe", 8, 8},
                          {"rxe", 9, 9},
                          {"dtr", 10, 10},
                          {"rts", 11, 11},
                          {"out1", 12, 12},
                          {"out2", 13, 13},
                          {"rtsen", 14, 14},
                          {"ctsen", 15, 15}});
  expect_layout<Pl011Ifls>({{"txiflsel", 2, 0}, {"rxiflsel", 5, 3}});
  expect_layout<Pl011Int>({{"ri", 0, 0},
                           {"cts", 1, 1},
                           {"dcd", 2, 2},
                           {"dsr", 3, 3},
                           {"rx", 4, 4},
                           {"tx", 5, 5},
                           {"rt", 6, 6},
                           {"fe", 7, 7},
                           {"pe", 8, 8},
                           {"be", 9, 9},
                           {"oe", 10, 10}});
  expect_layout<Pl011Dmacr>({{"rxdmae", 0, 0}, {"txdmae", 1, 1}, {"dmaonerr", 2, 2}});
  {
    using Reg = Pl011Cr;
    LAMINA_PL011_CR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  {
    using Reg = Pl011Int;
    LAMINA_PL011_INT_FIELDS(LAMINA_TEST_CHECK_FIELD)
  }
  EXPECT_EQ(static_cast<uint64_t>(Pl011FifoLevel::kEighth), 0b000u);
  EXPECT_EQ(static_cast<uint64_t>(Pl011FifoLevel::kHalf), 0b010u);
  EXPECT_EQ(static_cast<uint64_t>(Pl011FifoLevel::kSevenEighths), 0b100u);
}

}  // namespace
}  // namespace lamina::arch
