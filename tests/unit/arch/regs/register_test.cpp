// Tests for the register-layout framework in arch/regs/register.hpp: the mask
// helpers (including the bit-63 edges, where a naive `1 << (hi + 1)` is UB),
// Field, and RegisterValue's with()/get(), on a small test-only register.
#include "arch/regs/register.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

// A test register with fields at both ends, an enum field, and undeclared
// bits in between.
enum class Mode : uint64_t { kA = 0, kB = 1, kC = 2, kD = 3 };

#define TEST_REG_FIELDS(X)  \
  X(low, 0, 0, bool)        \
  X(mode, 5, 4, Mode)       \
  X(count, 15, 8, uint64_t) \
  X(whole_top, 63, 40, uint64_t)

struct TestReg : RegisterValue<TestReg> {
  LAMINA_REGISTER_BODY(TestReg, "TEST_REG", uint64_t{1} << 20, uint64_t{1} << 31, TEST_REG_FIELDS)
};

// A register that is one 64-bit field: hi = 63, lo = 0.
#define FULL_REG_FIELDS(X) X(all, 63, 0, uint64_t)
struct FullReg : RegisterValue<FullReg> {
  LAMINA_REGISTER_BODY(FullReg, "FULL_REG", 0, 0, FULL_REG_FIELDS)
};

// --- constexpr checks: the compiler rejects UB (over-wide shifts) here. ---
static_assert(bit_mask(0, 0) == 0x1);
static_assert(bit_mask(3, 0) == 0xf);
static_assert(bit_mask(7, 4) == 0xf0);
static_assert(bit_mask(63, 63) == 0x8000'0000'0000'0000);
static_assert(bit_mask(63, 0) == ~uint64_t{0});
static_assert(bit_mask(63, 62) == 0xc000'0000'0000'0000);
static_assert(bit_mask(62, 62) == 0x4000'0000'0000'0000);
static_assert(bit_mask(62, 0) == 0x7fff'ffff'ffff'ffff);
static_assert(bit_mask(47, 12) == 0x0000'ffff'ffff'f000);

static_assert(Field<TestReg, 63, 0>::kWidth == 64);
static_assert(Field<TestReg, 63, 0>::fits(~uint64_t{0}));
static_assert(Field<TestReg, 63, 63>::kMask == uint64_t{1} << 63);
static_assert(Field<TestReg, 63, 63>::place(1) == uint64_t{1} << 63);
static_assert(Field<TestReg, 63, 63>::extract(~uint64_t{0}) == 1);
static_assert(Field<TestReg, 7, 4>::fits(15) && !Field<TestReg, 7, 4>::fits(16));
static_assert(Field<TestReg, 7, 4>::place(0x1f) == 0xf0, "place drops bits beyond the width");
static_assert(Field<TestReg, 7, 4>::extract(0xabcd) == 0xc);

static_assert(TestReg::from_scratch().raw() == uint64_t{1} << 31);
static_assert(TestReg::from_scratch().with(TestReg::mode, Mode::kC).get(TestReg::mode) == Mode::kC);
static_assert(TestReg::from_scratch().with(TestReg::mode, Mode::kC).raw() == ((uint64_t{1} << 31) | 0x20));
static_assert(TestReg::from_raw(~uint64_t{0}).with(TestReg::count, uint64_t{0}).raw() ==
              ~uint64_t{0xff00});
static_assert(TestReg::from_scratch().with(TestReg::whole_top, uint64_t{0xff'ffff}).raw() ==
              ((uint64_t{0xff'ffff} << 40) | (uint64_t{1} << 31)));
static_assert(FullReg().with(FullReg::all, ~uint64_t{0}).get(FullReg::all) == ~uint64_t{0});
static_assert(TestReg(5) == TestReg::from_raw(5));
static_assert(!(TestReg(5) == TestReg(4)));

constexpr FieldInfo kDisjoint[] = {{"a", 63, 63}, {"b", 62, 32}, {"c", 31, 0}};
constexpr FieldInfo kOverlapAtTop[] = {{"a", 63, 60}, {"b", 60, 60}};
constexpr FieldInfo kOverlapAtBottom[] = {{"a", 0, 0}, {"b", 63, 1}, {"c", 3, 0}};
constexpr FieldInfo kSingle[] = {{"only", 63, 0}};
static_assert(no_fields_overlap(kDisjoint));
static_assert(!no_fields_overlap(kOverlapAtTop));
static_assert(!no_fields_overlap(kOverlapAtBottom));
static_assert(no_fields_overlap(kSingle));
static_assert(union_of_fields(kDisjoint) == ~uint64_t{0});
static_assert(union_of_fields(kOverlapAtTop) == 0xf000'0000'0000'0000);
static_assert(union_of_fields(kSingle) == ~uint64_t{0});
static_assert(fields_overlap({"a", 63, 63}, {"b", 63, 0}));
static_assert(!fields_overlap({"a", 63, 63}, {"b", 62, 0}));

// --- the same at run time (sanitizers watch). ---

TEST(BitMask, EveryHiLoPairMatchesABitByBitReference) {
  for (unsigned hi = 0; hi < 64; ++hi) {
    for (unsigned lo = 0; lo <= hi; ++lo) {
      uint64_t expected = 0;
      for (unsigned b = lo; b <= hi; ++b) expected |= uint64_t{1} << b;
      ASSERT_EQ(bit_mask(hi, lo), expected) << hi << ":" << lo;
    }
  }
}

TEST(FieldsOverlap, DetectsSharedBitsIncludingBit63) {
  EXPECT_TRUE(fields_overlap({"a", 63, 63}, {"b", 63, 63}));
  EXPECT_TRUE(fields_overlap({"a", 63, 32}, {"b", 32, 0}));
  EXPECT_FALSE(fields_overlap({"a", 63, 32}, {"b", 31, 0}));
  EXPECT_FALSE(fields_overlap({"a", 0, 0}, {"b", 1, 1}));
  EXPECT_TRUE(no_fields_overlap(kDisjoint));
  EXPECT_FALSE(no_fields_overlap(kOverlapAtTop));
  EXPECT_FALSE(no_fields_overlap(kOverlapAtBottom));
}

TEST(UnionOfFields, IsTheOrOfTheMasks) {
  EXPECT_EQ(union_of_fields(kDisjoint), ~uint64_t{0});
  EXPECT_EQ(union_of_fields(TestReg::kFields), 0xffff'ff00'0000'ff31u);
  EXPECT_EQ(union_of_fields(FullReg::kFields), ~uint64_t{0});
}

TEST(RegisterValue, FieldInfoListsEveryFieldInOrder) {
  ASSERT_EQ(std::size(TestReg::kFields), 4u);
  EXPECT_STREQ(TestReg::kFields[0].name, "low");
  EXPECT_STREQ(TestReg::kFields[1].name, "mode");
  EXPECT_EQ(TestReg::kFields[1].hi, 5u);
  EXPECT_EQ(TestReg::kFields[1].lo, 4u);
  EXPECT_STREQ(TestReg::kFields[3].name, "whole_top");
  EXPECT_STREQ(TestReg::kName, "TEST_REG");
}

TEST(RegisterValue, EveryFieldRoundTripsAndPreservesOtherBits) {
  using Reg = TestReg;
  TEST_REG_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(RegisterValue, SixtyFourBitFieldRoundTrips) {
  using Reg = FullReg;
  FULL_REG_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(RegisterValue, WithPreservesUndeclaredAndRes1Bits) {
  // Bits 20 (RES0), 31 (RES1) and 16..19 (undeclared) must survive a
  // read-modify-write of every field.
  const uint64_t undeclared = (uint64_t{1} << 20) | (uint64_t{1} << 31) | 0xf0000 | 0xc0 | 0xe;
  TestReg r = TestReg::from_raw(undeclared);
  r = r.with(TestReg::low, true).with(TestReg::mode, Mode::kD).with(TestReg::count, uint64_t{0x5a});
  r = r.with(TestReg::whole_top, uint64_t{0x12'3456});
  EXPECT_EQ(r.raw() & undeclared, undeclared);
  EXPECT_EQ(r.raw(), undeclared | 0x1 | 0x30 | 0x5a00 | (uint64_t{0x12'3456} << 40));
  r = r.with(TestReg::low, false).with(TestReg::mode, Mode::kA).with(TestReg::count, uint64_t{0});
  r = r.with(TestReg::whole_top, uint64_t{0});
  EXPECT_EQ(r.raw(), undeclared);
}

TEST(RegisterValue, OutOfRangeValueIsTruncatedAtRunTime) {
  // In a constant expression this would not compile; at run time the extra
  // bits are dropped, never spilled into the neighbour field.
  uint64_t wide = 0x1ff;
  const TestReg r = TestReg::from_scratch().with(TestReg::count, wide);
  EXPECT_EQ(r.get(TestReg::count), 0xffu);
  EXPECT_EQ(r.raw() & ~decltype(TestReg::count)::kMask, uint64_t{1} << 31);
}

}  // namespace
}  // namespace lamina::arch
