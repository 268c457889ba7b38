// Strongly typed addresses.
//
// A physical address, an EL2 virtual address and (later) a guest IPA are all
// 64-bit numbers; mixing them up is the classic hypervisor bug. Each kind is
// its own type with an explicit constructor, no implicit conversion to an
// integer (.value() is the only way out), arithmetic limited to offsets and
// differences, and alignment helpers that keep the kind. Cross-kind
// conversions are named functions defined once, here.
#pragma once

#include <compare>
#include <cstdint>

namespace lamina::mm {

inline constexpr uint64_t kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;

[[nodiscard]] constexpr bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
[[nodiscard]] constexpr uint64_t align_down(uint64_t x, uint64_t align) { return x & ~(align - 1); }
[[nodiscard]] constexpr uint64_t align_up(uint64_t x, uint64_t align) {
  return (x + align - 1) & ~(align - 1);
}
[[nodiscard]] constexpr bool is_aligned(uint64_t x, uint64_t align) { return (x & (align - 1)) == 0; }

// Adds without wrapping; returns false (and leaves *out alone) on overflow.
[[nodiscard]] constexpr bool checked_add(uint64_t a, uint64_t b, uint64_t* out) {
  if (a > UINT64_MAX - b) return false;
  *out = a + b;
  return true;
}

template <typename Tag>
class Address {
 public:
  constexpr Address() = default;
  constexpr explicit Address(uint64_t value) : value_(value) {}

  [[nodiscard]] constexpr uint64_t value() const { return value_; }

  [[nodiscard]] constexpr Address offset(uint64_t bytes) const { return Address(value_ + bytes); }
  // Distance from `base` to this address; precondition: *this >= base.
  [[nodiscard]] constexpr uint64_t minus(Address base) const { return value_ - base.value_; }

  [[nodiscard]] constexpr Address align_down(uint64_t align) const {
    return Address(mm::align_down(value_, align));
  }
  [[nodiscard]] constexpr Address align_up(uint64_t align) const {
    return Address(mm::align_up(value_, align));
  }
  [[nodiscard]] constexpr bool is_aligned(uint64_t align) const { return mm::is_aligned(value_, align); }

  friend constexpr auto operator<=>(Address, Address) = default;

 private:
  uint64_t value_ = 0;
};

struct PhysTag {};
struct VirtTag {};
struct IpaTag {};

// A physical address (output of the EL2 stage-1 translation, or the bus).
using PhysAddr = Address<PhysTag>;
// A virtual address in lamina's own EL2 translation regime.
using VirtAddr = Address<VirtTag>;
// An intermediate physical address: a guest's "physical" address, the input
// of stage-2 translation.
using IntermediatePhysAddr = Address<IpaTag>;

// A [base, base + size) range of physical memory. `size` may be 0.
struct PhysRange {
  PhysAddr base;
  uint64_t size = 0;

  [[nodiscard]] constexpr PhysAddr end() const { return base.offset(size); }
  [[nodiscard]] constexpr bool contains(PhysAddr pa) const {
    return pa >= base && pa.minus(base) < size;
  }
  [[nodiscard]] constexpr bool overlaps(PhysRange other) const {
    return size != 0 && other.size != 0 && base < other.end() && other.base < end();
  }
  friend constexpr bool operator==(PhysRange, PhysRange) = default;
};

// lamina's EL2 stage-1 map is an identity map (VA == PA, see
// docs/ARCHITECTURE.md "Memory map"), so these conversions are the identity,
// but every crossing between the two kinds goes through them.
[[nodiscard]] constexpr VirtAddr to_va(PhysAddr pa) { return VirtAddr(pa.value()); }
[[nodiscard]] constexpr PhysAddr to_pa(VirtAddr va) { return PhysAddr(va.value()); }

template <typename T>
[[nodiscard]] inline T* to_ptr(VirtAddr va) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(va.value()));
}
template <typename T>
[[nodiscard]] inline VirtAddr va_of(const T* ptr) {
  return VirtAddr(reinterpret_cast<uintptr_t>(ptr));
}

}  // namespace lamina::mm
