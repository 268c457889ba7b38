// The interface between the stage-2 abort handler and an emulated device.
//
// The trap path decodes a data abort on a device region into an MmioAccess
// (hyp/lib/mmio_access.hpp), turns the IPA into an offset from the region's
// base, and calls read() or write(). The device sees only (offset, width,
// value): never an ESR, a register number or a sign extension, which the
// trap path applies (mmio_load_result / mmio_store_value).
//
// Contract for every device:
//  - width_bytes is 1, 2, 4 or 8; a write's value has no bits above the
//    width (the trap path masks it).
//  - kExternalAbort means "this access does not exist on this device" (a
//    width or alignment it does not support, an offset outside it): the
//    guest gets a synchronous external abort, as a bus error would give it.
//    Guest-controlled values never make a device fail otherwise.
//  - Devices are not thread-safe: the VM serializes the accesses to one
//    device (e.g. under a lock per device), as it does for PsciServer.
//
// Virtual, but no pure virtual: a method without an override aborts the
// access, and no RTTI or __cxa_pure_virtual is involved. The destructor is
// protected and non-virtual: devices are never deleted through this type
// (lamina has no heap).
#pragma once

#include <cstdint>

#include "hyp/lib/mmio_access.hpp"

namespace lamina::hyp {

enum class MmioResult : uint8_t {
  kOk,
  kExternalAbort,  // inject a synchronous external abort into the guest
};

class MmioDevice {
 public:
  MmioDevice(const MmioDevice&) = delete;
  MmioDevice& operator=(const MmioDevice&) = delete;

  // A load of `width_bytes` at `offset` from the device's base. On kOk,
  // *value holds the loaded bytes in its low width_bytes * 8 bits (the
  // rest 0).
  [[nodiscard]] virtual MmioResult read(uint64_t offset, unsigned width_bytes, uint64_t* value) {
    (void)offset;
    (void)width_bytes;
    (void)value;
    return MmioResult::kExternalAbort;
  }

  // A store of the low `width_bytes` of `value` at `offset`.
  [[nodiscard]] virtual MmioResult write(uint64_t offset, unsigned width_bytes, uint64_t value) {
    (void)offset;
    (void)width_bytes;
    (void)value;
    return MmioResult::kExternalAbort;
  }

  // For log lines.
  [[nodiscard]] virtual const char* name() const { return "mmio device"; }

 protected:
  constexpr MmioDevice() = default;
  ~MmioDevice() = default;
};

// True for the widths an MMIO access can have.
[[nodiscard]] constexpr bool is_mmio_width(unsigned width_bytes) {
  return width_bytes == 1 || width_bytes == 2 || width_bytes == 4 || width_bytes == 8;
}

// Mask of the low `width_bytes` bytes (all ones for 8): one definition, in
// hyp/lib/mmio_access.hpp.
using lamina::mmio_width_mask;

}  // namespace lamina::hyp
