// The register-layout framework: every architectural register and descriptor
// is a value type with named fields, each declared once with high:low written
// as in the Arm ARM (DDI 0487).
//
//   struct HcrEl2 : RegisterValue<HcrEl2> {
//     LAMINA_REGISTER_BODY(HcrEl2, "HCR_EL2", kRes0, kRes1, HCR_EL2_FIELDS)
//   };
//   HcrEl2::from_scratch().with(HcrEl2::rw, true).get(HcrEl2::vm)
//
// A field is typed by its register, so HcrEl2::vm cannot be applied to an
// SctlrEl2 (compile error). Multi-bit encodings carry an enum class value
// type. Values are plain uint64_t underneath: layouts are pure, portable and
// host-tested; reading and writing the hardware lives in arch/sysreg.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace lamina::arch {

// Mask of bits hi..lo inclusive.
[[nodiscard]] constexpr uint64_t bit_mask(unsigned hi, unsigned lo) {
  return ((hi == 63) ? ~uint64_t{0} : ((uint64_t{1} << (hi + 1)) - 1)) & ~((uint64_t{1} << lo) - 1);
}

template <typename Reg, unsigned Hi, unsigned Lo = Hi, typename V = std::conditional_t<Hi == Lo, bool, uint64_t>>
struct Field {
  static_assert(Hi >= Lo, "field high bit below low bit");
  static_assert(Hi < 64, "field outside a 64-bit register");
  using Value = V;
  static constexpr unsigned kHi = Hi;
  static constexpr unsigned kLo = Lo;
  static constexpr unsigned kWidth = Hi - Lo + 1;
  static constexpr uint64_t kMask = bit_mask(Hi, Lo);

  // The field's value, right-aligned.
  [[nodiscard]] static constexpr uint64_t extract(uint64_t raw) { return (raw & kMask) >> Lo; }
  // `v` placed in the field; bits of `v` beyond the field's width are dropped
  // (see fits() for callers that must reject them).
  [[nodiscard]] static constexpr uint64_t place(uint64_t v) { return (v << Lo) & kMask; }
  [[nodiscard]] static constexpr bool fits(uint64_t v) {
    // `if constexpr`, not `||`: a 64-bit field must not even instantiate a
    // shift by 64 (-Wshift-count-overflow under -Werror).
    if constexpr (kWidth == 64) return true;
    else return (v >> kWidth) == 0;
  }
};

// A field's name and position, for dumps and for the layout tests.
struct FieldInfo {
  const char* name;
  unsigned hi;
  unsigned lo;
};

template <typename R>
class RegisterValue {
 public:
  constexpr RegisterValue() = default;
  constexpr explicit RegisterValue(uint64_t raw) : raw_(raw) {}

  [[nodiscard]] constexpr uint64_t raw() const { return raw_; }

  // A value with every field zero and the RES1 bits set.
  [[nodiscard]] static constexpr R from_scratch() { return R(R::kRes1); }
  [[nodiscard]] static constexpr R from_raw(uint64_t raw) { return R(raw); }

  template <unsigned H, unsigned L, typename V>
  [[nodiscard]] constexpr V get(Field<R, H, L, V>) const {
    return static_cast<V>(Field<R, H, L, V>::extract(raw_));
  }

  // A copy with the field set to `v`. Bits of other fields, including ones
  // nobody declared, are preserved (safe read-modify-write). In a constant
  // expression a value that does not fit the field is a compile error.
  template <unsigned H, unsigned L, typename V>
  [[nodiscard]] constexpr R with(Field<R, H, L, V>, V v) const {
    using F = Field<R, H, L, V>;
    const auto u = static_cast<uint64_t>(v);
    if (std::is_constant_evaluated() && !F::fits(u)) value_does_not_fit_field();
    return R((raw_ & ~F::kMask) | F::place(u));
  }

  friend constexpr bool operator==(const RegisterValue&, const RegisterValue&) = default;

 private:
  static void value_does_not_fit_field() {}  // not constexpr: reaching it fails constant evaluation
  uint64_t raw_ = 0;
};

// Two fields overlap if their masks share a bit. Used by layout tests.
[[nodiscard]] constexpr bool fields_overlap(const FieldInfo& a, const FieldInfo& b) {
  return (bit_mask(a.hi, a.lo) & bit_mask(b.hi, b.lo)) != 0;
}

template <size_t N>
[[nodiscard]] constexpr bool no_fields_overlap(const FieldInfo (&fields)[N]) {
  for (size_t i = 0; i < N; ++i)
    for (size_t j = i + 1; j < N; ++j)
      if (fields_overlap(fields[i], fields[j])) return false;
  return true;
}

template <size_t N>
[[nodiscard]] constexpr uint64_t union_of_fields(const FieldInfo (&fields)[N]) {
  uint64_t m = 0;
  for (size_t i = 0; i < N; ++i) m |= bit_mask(fields[i].hi, fields[i].lo);
  return m;
}

}  // namespace lamina::arch

// Field-list X-macro helpers. A register's fields are listed once as
//   #define FOO_FIELDS(X) X(name, hi, lo, ValueType) ...
// and expanded into both the typed Field constants and the FieldInfo table.
#define LAMINA_FIELD_DECL(name, hi, lo, type) \
  static constexpr ::lamina::arch::Field<Self, hi, lo, type> name{};
#define LAMINA_FIELD_INFO(name, hi, lo, type) ::lamina::arch::FieldInfo{#name, hi, lo},

// Body of a register type: constructors, name, RES0/RES1 masks, fields.
// Every declared field must avoid the RES0 and RES1 masks (static_assert).
#define LAMINA_REGISTER_BODY(Type, arm_name, res0, res1, FIELDS)                              \
  using Self = Type;                                                                          \
  using RegisterValue<Type>::RegisterValue;                                                   \
  static constexpr const char* kName = arm_name;                                              \
  static constexpr uint64_t kRes0 = (res0);                                                   \
  static constexpr uint64_t kRes1 = (res1);                                                   \
  FIELDS(LAMINA_FIELD_DECL)                                                                   \
  static constexpr ::lamina::arch::FieldInfo kFields[] = {FIELDS(LAMINA_FIELD_INFO)};         \
  static_assert(::lamina::arch::no_fields_overlap(kFields), arm_name ": fields overlap");     \
  static_assert((::lamina::arch::union_of_fields(kFields) & (kRes0 | kRes1)) == 0,            \
                arm_name ": a field overlaps a RES0/RES1 bit");                              \
  static_assert((kRes0 & kRes1) == 0, arm_name ": RES0 and RES1 overlap");
