// Device register access. Single aligned loads and stores through volatile
// pointers; ordering against normal memory is the driver's business.
#pragma once

#include <cstdint>

namespace lamina::arch {

[[nodiscard]] inline uint32_t mmio_read32(uint64_t addr) {
  return *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(addr));
}

inline void mmio_write32(uint64_t addr, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(addr)) = value;
}

}  // namespace lamina::arch
