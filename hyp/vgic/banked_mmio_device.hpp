// The interface of an emulated device whose registers depend on which vCPU
// accesses them (a GICv2 Distributor: its SGI/PPI registers, ITARGETSR0-7
// and GICD_SGIR are banked per CPU interface, IHI 0048B "Register
// banking").
//
// The same contract as MmioDevice (hyp/dev/mmio_device.hpp): offsets from
// the device's base, widths 1/2/4/8, values masked to the width,
// kExternalAbort for an access the device does not have; plus `vcpu`, the
// index of the accessing vCPU in its VM. The trap path calls it with the
// vCPU that took the data abort.
#pragma once

#include <cstdint>

#include "hyp/dev/mmio_device.hpp"

namespace lamina::hyp {

class BankedMmioDevice {
 public:
  BankedMmioDevice(const BankedMmioDevice&) = delete;
  BankedMmioDevice& operator=(const BankedMmioDevice&) = delete;

  [[nodiscard]] virtual MmioResult read(uint32_t vcpu, uint64_t offset, unsigned width_bytes,
                                        uint64_t* value) {
    (void)vcpu;
    (void)offset;
    (void)width_bytes;
    (void)value;
    return MmioResult::kExternalAbort;
  }

  [[nodiscard]] virtual MmioResult write(uint32_t vcpu, uint64_t offset, unsigned width_bytes,
                                         uint64_t value) {
    (void)vcpu;
    (void)offset;
    (void)width_bytes;
    (void)value;
    return MmioResult::kExternalAbort;
  }

  [[nodiscard]] virtual const char* name() const { return "banked mmio device"; }

 protected:
  constexpr BankedMmioDevice() = default;
  ~BankedMmioDevice() = default;
};

}  // namespace lamina::hyp
