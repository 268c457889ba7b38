// A VM's VMID: the tag that keeps its stage-2 TLB entries apart from every
// other VM's. 8 or 16 bits wide (ID_AA64MMFR1_EL1.VMIDBits).
#pragma once

#include <cstdint>

namespace lamina::mm {

class Vmid {
 public:
  constexpr explicit Vmid(uint16_t value) : value_(value) {}
  [[nodiscard]] constexpr uint16_t value() const { return value_; }
  friend constexpr bool operator==(Vmid, Vmid) = default;

 private:
  uint16_t value_;
};

}  // namespace lamina::mm
