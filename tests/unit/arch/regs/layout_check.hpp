// Shared checks for the arch/regs layout tests.
//
// Each register test lists the fields it expects, (name, hi, lo), written
// from the Arm ARM (DDI 0487) field tables rather than copied from the
// headers, and hands them to expect_layout(), which compares them against the
// register's kFields in both directions. check_field() then exercises one
// typed field through with()/get(); the tests apply it to every field of a
// register by expanding the header's own LAMINA_*_FIELDS X-macro.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>

#include "arch/regs/register.hpp"

namespace lamina::arch::test {

struct ExpectedField {
  std::string_view name;
  unsigned hi;
  unsigned lo;
};

// Every expected field is declared at exactly (hi, lo), and every declared
// field is expected: a field added to a header without a spec-checked entry
// here fails too.
template <typename Reg>
void expect_layout(std::initializer_list<ExpectedField> expected) {
  SCOPED_TRACE(Reg::kName);
  std::set<std::string_view> expected_names;
  for (const ExpectedField& e : expected) {
    EXPECT_TRUE(expected_names.insert(e.name).second) << "expected list names " << e.name << " twice";
    bool found = false;
    for (const FieldInfo& f : Reg::kFields) {
      if (e.name != f.name) continue;
      found = true;
      EXPECT_EQ(f.hi, e.hi) << e.name << ": high bit";
      EXPECT_EQ(f.lo, e.lo) << e.name << ": low bit";
    }
    EXPECT_TRUE(found) << e.name << " [" << e.hi << ":" << e.lo << "] is not declared";
  }
  std::set<std::string_view> declared;
  for (const FieldInfo& f : Reg::kFields) {
    EXPECT_TRUE(declared.insert(f.name).second) << f.name << " is declared twice";
    EXPECT_TRUE(expected_names.count(f.name) == 1)
        << f.name << " [" << f.hi << ":" << f.lo << "] is declared but not in the spec list";
    EXPECT_GE(f.hi, f.lo) << f.name;
    EXPECT_LT(f.hi, 64u) << f.name;
  }
  EXPECT_EQ(declared.size(), expected.size());
  EXPECT_TRUE(no_fields_overlap(Reg::kFields));
  EXPECT_EQ(union_of_fields(Reg::kFields) & (Reg::kRes0 | Reg::kRes1), 0u);
  EXPECT_EQ(Reg::kRes0 & Reg::kRes1, 0u);
}

// Mask of the listed bit numbers.
constexpr uint64_t bits(std::initializer_list<unsigned> list) {
  uint64_t m = 0;
  for (unsigned b : list) m |= uint64_t{1} << b;
  return m;
}

// One typed field through with()/get(): values at the edges of the field's
// width round-trip, land at hi:lo, and leave every other bit of the register
// alone (declared or not, zeros or ones).
template <typename Reg, unsigned H, unsigned L, typename V>
void check_field(Field<Reg, H, L, V> field, const char* name) {
  SCOPED_TRACE(std::string(Reg::kName) + "." + name);
  using F = Field<Reg, H, L, V>;
  const uint64_t max = F::kWidth == 64 ? ~uint64_t{0} : (uint64_t{1} << F::kWidth) - 1;
  EXPECT_EQ(F::kMask, bit_mask(H, L));
  for (const FieldInfo& f : Reg::kFields)
    if (std::string_view(f.name) == name) {
      EXPECT_TRUE(f.hi == H && f.lo == L) << "FieldInfo disagrees";
    }

  const uint64_t bases[] = {0, ~uint64_t{0}, 0xa5a5'a5a5'a5a5'a5a5, 0x5a5a'5a5a'5a5a'5a5a,
                            Reg::kRes1};
  const uint64_t values[] = {0, 1, max, max >> 1, 0x5555'5555'5555'5555 & max};
  for (uint64_t base : bases) {
    for (uint64_t v : values) {
      const Reg r = Reg::from_raw(base).with(field, static_cast<V>(v));
      EXPECT_EQ(static_cast<uint64_t>(r.get(field)), v) << "base " << std::hex << base;
      EXPECT_EQ(r.raw() & F::kMask, v << L) << "value lands at hi:lo";
      EXPECT_EQ(r.raw() & ~F::kMask, base & ~F::kMask) << "other bits preserved";
    }
  }
  // get() of a raw value sees exactly hi:lo.
  EXPECT_EQ(static_cast<uint64_t>(Reg::from_raw(~uint64_t{0}).get(field)), max);
  EXPECT_EQ(static_cast<uint64_t>(Reg::from_raw(~F::kMask).get(field)), 0u);
  // from_scratch() sets RES1 only, so every field reads 0.
  EXPECT_EQ(static_cast<uint64_t>(Reg::from_scratch().get(field)), 0u);
}

}  // namespace lamina::arch::test

// Expands a header's field list into check_field calls: X(name, hi, lo, type).
#define LAMINA_TEST_CHECK_FIELD(name, hi, lo, type) \
  ::lamina::arch::test::check_field(Reg::name, #name);
