// Shared by the guest DT tests that check QEMU-shaped trees: a spec with a
// guest GIC at QEMU virt's addresses, and property readers.
#pragma once

#include <cstdint>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <string>
#include <vector>

#include "hyp/vm/guest_dtb.hpp"

namespace lamina::hyp::test_helpers {

// 256 MiB of RAM, `vcpus` vCPUs, a guest GIC of `gic`'s version at QEMU
// virt's frames (GICR: `gicr_size` bytes).
inline GuestDtbSpec spec_with_gic(uint32_t vcpus, GicVersion gic, uint64_t gicr_size) {
  GuestDtbSpec spec;
  spec.ram_size = 0x10000000;
  spec.vcpus = vcpus;
  spec.gic.version = gic;
  spec.gic.distributor = mm::IntermediatePhysAddr(0x08000000);
  spec.gic.distributor_size = 0x10000;
  if (gic == GicVersion::kV3) {
    spec.gic.redistributors = mm::IntermediatePhysAddr(0x080a0000);
    spec.gic.redistributors_size = gicr_size;
  } else {
    spec.gic.cpu_interface = mm::IntermediatePhysAddr(0x08010000);
    spec.gic.cpu_interface_size = 0x2000;
  }
  return spec;
}

// The cells of property `name` of the node at `path` (empty if absent).
inline std::vector<uint32_t> cells_of(const void* fdt, const char* path, const char* name) {
  const int node = fdt_path_offset(fdt, path);
  EXPECT_GE(node, 0) << path;
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
  std::vector<uint32_t> out;
  for (int i = 0; p != nullptr && i < len / 4; ++i) out.push_back(fdt32_to_cpu(p[i]));
  return out;
}

inline bool has_prop(const void* fdt, const char* path, const char* name) {
  const int node = fdt_path_offset(fdt, path);
  return node >= 0 && fdt_getprop(fdt, node, name, nullptr) != nullptr;
}

inline std::string string_of(const void* fdt, const char* path, const char* name) {
  const char* s = static_cast<const char*>(fdt_getprop(fdt, fdt_path_offset(fdt, path), name, nullptr));
  return s == nullptr ? "" : s;
}

}  // namespace lamina::hyp::test_helpers
