// ID register layouts against DDI 0487 K.a D23.2 "ID_AA64MMFR0_EL1",
// "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64PFR0_EL1",
// "ID_AA64DFR0_EL1", "MIDR_EL1", "MPIDR_EL1" and "CTR_EL0".
#include "arch/regs/id_regs.hpp"

#include <gtest/gtest.h>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(IdAa64Mmfr0Layout, FieldsMatchTheArmArm) {
  expect_layout<IdAa64Mmfr0>({
      {"parange", 3, 0},    {"asidbits", 7, 4},   {"bigend", 11, 8},    {"snsmem", 15, 12},
      {"bigendel0", 19, 16}, {"tgran16", 23, 20}, {"tgran64", 27, 24},  {"tgran4", 31, 28},
      {"tgran16_2", 35, 32}, {"tgran64_2", 39, 36}, {"tgran4_2", 43, 40}, {"exs", 47, 44},
      {"fgt", 59, 56},      {"ecv", 63, 60},
  });
  using Reg = IdAa64Mmfr0;
  LAMINA_ID_AA64MMFR0_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(IdAa64Mmfr1Layout, FieldsMatchTheArmArm) {
  expect_layout<IdAa64Mmfr1>({
      {"hafdbs", 3, 0},   {"vmidbits", 7, 4}, {"vh", 11, 8},      {"hpds", 15, 12},  {"lo", 19, 16},
      {"pan", 23, 20},    {"specsei", 27, 24}, {"xnx", 31, 28},   {"twed", 35, 32},  {"ets", 39, 36},
      {"hcx", 43, 40},    {"afp", 47, 44},    {"ntlbpa", 51, 48}, {"tidcp1", 55, 52}, {"cmow", 59, 56},
  });
  using Reg = IdAa64Mmfr1;
  LAMINA_ID_AA64MMFR1_FIELDS(LAMINA_TEST_CHECK_FIELD)
  EXPECT_EQ(kVmidBits8, 0b0000u);
  EXPECT_EQ(kVmidBits16, 0b0010u);
}

TEST(IdAa64Mmfr2Layout, FieldsMatchTheArmArm) {
  expect_layout<IdAa64Mmfr2>({
      {"cnp", 3, 0},    {"uao", 7, 4},    {"lsm", 11, 8},   {"iesb", 15, 12}, {"varange", 19, 16},
      {"ccidx", 23, 20}, {"nv", 27, 24},  {"st", 31, 28},   {"at", 35, 32},   {"ids", 39, 36},
      {"fwb", 43, 40},  {"ttl", 51, 48},  {"bbm", 55, 52},  {"evt", 59, 56},  {"e0pd", 63, 60},
  });
  using Reg = IdAa64Mmfr2;
  LAMINA_ID_AA64MMFR2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(IdAa64Pfr0Layout, FieldsMatchTheArmArm) {
  // Genode once declared EL3 at [11:8]; it is [15:12].
  expect_layout<IdAa64Pfr0>({
      {"el0", 3, 0},    {"el1", 7, 4},      {"el2", 11, 8},   {"el3", 15, 12},  {"fp", 19, 16},
      {"advsimd", 23, 20}, {"gic", 27, 24}, {"ras", 31, 28},  {"sve", 35, 32},  {"sel2", 39, 36},
      {"mpam", 43, 40}, {"amu", 47, 44},    {"dit", 51, 48},  {"rme", 55, 52},  {"csv2", 59, 56},
      {"csv3", 63, 60},
  });
  using Reg = IdAa64Pfr0;
  LAMINA_ID_AA64PFR0_FIELDS(LAMINA_TEST_CHECK_FIELD)
  EXPECT_EQ(kGicSysregV3, 0b0001u);
  EXPECT_EQ(kGicSysregV41, 0b0011u);
}

TEST(IdAa64Dfr0Layout, FieldsMatchTheArmArm) {
  expect_layout<IdAa64Dfr0>({
      {"debugver", 3, 0},   {"tracever", 7, 4},    {"pmuver", 11, 8},    {"brps", 15, 12},
      {"wrps", 23, 20},     {"ctx_cmps", 31, 28},  {"pmsver", 35, 32},   {"doublelock", 39, 36},
      {"tracefilt", 43, 40}, {"tracebuffer", 47, 44},
  });
  using Reg = IdAa64Dfr0;
  LAMINA_ID_AA64DFR0_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(MidrEl1Layout, FieldsMatchTheArmArm) {
  expect_layout<MidrEl1>({
      {"revision", 3, 0}, {"partnum", 15, 4}, {"architecture", 19, 16}, {"variant", 23, 20},
      {"implementer", 31, 24},
  });
  using Reg = MidrEl1;
  LAMINA_MIDR_FIELDS(LAMINA_TEST_CHECK_FIELD)
  // Cortex-A57 r1p3: 0x411fd073.
  const auto midr = MidrEl1::from_raw(0x411f'd073);
  EXPECT_EQ(midr.get(MidrEl1::implementer), 0x41u);
  EXPECT_EQ(midr.get(MidrEl1::variant), 1u);
  EXPECT_EQ(midr.get(MidrEl1::architecture), 0xfu);
  EXPECT_EQ(midr.get(MidrEl1::partnum), 0xd07u);
  EXPECT_EQ(midr.get(MidrEl1::revision), 3u);
}

TEST(MpidrEl1Layout, FieldsMatchTheArmArm) {
  expect_layout<MpidrEl1>({
      {"aff0", 7, 0}, {"aff1", 15, 8}, {"aff2", 23, 16}, {"mt", 24, 24}, {"u", 30, 30}, {"aff3", 39, 32},
  });
  using Reg = MpidrEl1;
  LAMINA_MPIDR_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(MpidrEl1Layout, Bit31IsRes1AndAffinityMaskIsTheFourAffFields) {
  EXPECT_EQ(MpidrEl1::kRes1, uint64_t{1} << 31);
  EXPECT_EQ(MpidrEl1::kAffinityMask, 0xff'00ff'ffffu);
  // MT, U and the RES1 bit are not affinity.
  const auto mpidr = MpidrEl1::from_raw(0xff'8100'0102 | (uint64_t{1} << 30) | (uint64_t{1} << 24));
  EXPECT_EQ(mpidr.affinity(), 0xff'0000'0102u);
  EXPECT_EQ(MpidrEl1::from_raw(0x8000'0003).affinity(), 3u);
}
static_assert(MpidrEl1::kAffinityMask == 0xff'00ff'ffff);
static_assert(MpidrEl1::from_scratch().with(MpidrEl1::aff1, uint64_t{2}).affinity() == 0x200);

TEST(CtrEl0Layout, FieldsMatchTheArmArm) {
  expect_layout<CtrEl0>({
      {"iminline", 3, 0}, {"l1ip", 15, 14}, {"dminline", 19, 16}, {"erg", 23, 20},
      {"cwg", 27, 24},    {"idc", 28, 28},  {"dic", 29, 29},      {"tminline", 37, 32},
  });
  EXPECT_EQ(CtrEl0::kRes1, uint64_t{1} << 31);
  using Reg = CtrEl0;
  LAMINA_CTR_EL0_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(CtrEl0Layout, LineSizesAreFourBytesTimesTwoToTheLog) {
  // Cortex-A57: CTR_EL0 = 0x8444c004, 64-byte lines on both sides.
  const auto a57 = CtrEl0::from_raw(0x8444'c004);
  EXPECT_EQ(a57.dcache_line_bytes(), 64u);
  EXPECT_EQ(a57.icache_line_bytes(), 64u);
  EXPECT_EQ(a57.get(CtrEl0::l1ip), 0b11u);
  EXPECT_FALSE(a57.get(CtrEl0::idc));
  // Different D and I sizes land on the right side: DminLine 3 (32 B), IminLine 5 (128 B).
  const auto mixed = CtrEl0::from_scratch().with(CtrEl0::dminline, uint64_t{3}).with(CtrEl0::iminline, uint64_t{5});
  EXPECT_EQ(mixed.dcache_line_bytes(), 32u);
  EXPECT_EQ(mixed.icache_line_bytes(), 128u);
  // The largest encodable log2 (15) does not overflow: 4 << 15 = 128 KiB.
  const auto big = CtrEl0::from_raw(0xffff'ffff);
  EXPECT_EQ(big.dcache_line_bytes(), 4u << 15);
  EXPECT_EQ(big.icache_line_bytes(), 4u << 15);
}
static_assert(CtrEl0::from_raw(0x8444'c004).dcache_line_bytes() == 64);
static_assert(CtrEl0::from_scratch().icache_line_bytes() == 4);

}  // namespace
}  // namespace lamina::arch
