// Device passthrough: which host devices a VM owns (its
// `lamina,passthrough` property, docs/VM-BINDING.md), and what owning them
// means for lamina: the host physical pages mapped 1:1 into the VM's stage 2
// (IPA = PA, Device-nGnRE, never executable), and the physical SPIs forwarded
// to the VM's vGIC with the HW bit.
//
// The plan is computed from the host DT alone, so that every problem (a
// path that does not exist, a device lamina uses itself, a page two VMs
// would share, an interrupt lamina cannot forward) stops boot with a message
// naming the VM and the property before anything is built.
//
// A device is a node with `reg` (translated through its parents' `ranges`).
// Its pages are its `reg` ranges rounded out to 4 KiB; a PCI host bridge
// (device_type "pci") adds the windows of its `ranges` (I/O, 32-bit and
// 64-bit memory), so that the guest reaches the BARs it assigns. Its SPIs
// come from `interrupts` (3-cell GIC specifiers of the host GIC) and, for a
// PCI host bridge, from the parent specifiers of its `interrupt-map` (the
// legacy INTx lines).
//
// Architecture-neutral: compiled for the EL2 image and for the host tests
// (tests/unit/hyp/vm/passthrough_test.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "hyp/platform/device_tree.hpp"
#include "hyp/platform/platform.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp {

inline constexpr const char* kPassthroughProperty = "lamina,passthrough";
// QEMU virt has 32 virtio-mmio transports, the PL031, fw_cfg, the PL061 and
// the PCIe host bridge: 36 devices; room for a few more.
inline constexpr size_t kMaxPassthroughDevices = 48;
inline constexpr size_t kMaxPassthroughRanges = 32;
inline constexpr size_t kMaxPassthroughSpis = 64;

struct PassthroughSpi {
  uint32_t intid = 0;  // 32..1019
  bool edge = false;   // edge-triggered (rising); else level-sensitive (high)
  friend constexpr bool operator==(const PassthroughSpi&, const PassthroughSpi&) = default;
};

struct PassthroughPlan {
  // The devices (host DT node offsets) in property order.
  std::array<int, kMaxPassthroughDevices> nodes{};
  size_t node_count = 0;
  // Their pages: 4 KiB-aligned host PA ranges, sorted, disjoint and not
  // adjacent (neighbours are merged).
  std::array<mm::PhysRange, kMaxPassthroughRanges> ranges{};
  size_t range_count = 0;
  // Their SPIs, each once, in the order first seen.
  std::array<PassthroughSpi, kMaxPassthroughSpis> spis{};
  size_t spi_count = 0;

  [[nodiscard]] bool empty() const { return node_count == 0; }
  [[nodiscard]] bool owns_node(int node) const;
  [[nodiscard]] bool owns_range(mm::PhysRange r) const;  // some page of r is owned
};

// read_passthrough() - Reads `lamina,passthrough` of VM node `vm` (absent:
// an empty plan) into *out.
// The value is a list of absolute host DT paths. Errors (all name the VM
// node and the property; `node` also names the device path):
//  kBadProperty  not a list of NUL-terminated absolute paths; a path listed
//                twice; a device lamina uses itself (the node or a page of
//                the console UART named by /chosen/stdout-path, an
//                interrupt controller or a node inside one, such as the GIC
//                and its ITS, memory, /cpus, /chosen); a node without `reg`;
//                an interrupt that is not an SPI of the host GIC, or whose
//                trigger is not rising edge or high level;
//  kMissingNode  a path that does not exist in the host DT;
//  kTooMany      more than the plan's fixed tables hold;
//  kUnsupported  `interrupts-extended`, a device that is not a child of the
//                root;
//  the DeviceTree::translate errors for a `reg` that cannot be translated.
[[nodiscard]] Status<DtError> read_passthrough(const dt::DeviceTree& tree, int vm, PassthroughPlan* out);

// check_passthrough_exclusive() - No two plans share a device, a 4 KiB page
// or an SPI (devices whose registers share a page, such as the virtio-mmio
// transports, eight to a page, go to one VM together or not at all).
// @names: the VMs' DT paths, for the message. Error: kBadProperty naming the
// second VM, the property and what is shared.
[[nodiscard]] Status<DtError> check_passthrough_exclusive(const PassthroughPlan* const* plans,
                                                          const char* const* names, size_t count);

}  // namespace lamina::hyp
