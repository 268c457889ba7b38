// The VMs the host device tree asks for: the `compatible = "lamina,vm"`
// nodes under /chosen, in the style of Xen's dom0less "domU" nodes (Xen
// docs/misc/arm/device-tree/booting.txt, "Dom0less" / "Creating Multiple
// Domains directly from Xen"). The binding, its units, defaults and errors
// are documented in docs/VM-BINDING.md; this is its one parser.
//
// A loader (QEMU's generic loader, U-Boot, the Raspberry Pi firmware) puts
// each payload (kernel, optional ramdisk, optional guest DTB) somewhere in
// host RAM and describes it with a `multiboot,*` child node whose `reg` is
// the host PA and size of the file. The parser checks everything that can
// be checked from the tree alone; the EL2 caller checks what needs the
// platform (modules inside host RAM, vCPUs <= physical CPUs, the IPA size
// against the CPU) and reserves the module ranges (vm_module_ranges) before
// the frame allocator hands frames out.
//
// Architecture-neutral: compiled for the EL2 image and for the host tests
// (tests/unit/hyp/vm/vm_description_test.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "hyp/platform/platform.hpp"
#include "hyp/vm/passthrough.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp {

inline constexpr size_t kMaxVms = 4;
// A VM's name is its node name (unit address included), NUL-terminated.
inline constexpr size_t kMaxVmName = 32;
// Modules per VM: one kernel, at most one ramdisk, at most one guest DTB.
inline constexpr size_t kMaxModulesPerVm = 3;
inline constexpr size_t kMaxVmModules = kMaxVms * kMaxModulesPerVm;

// The compatible string that makes a /chosen child a VM.
inline constexpr const char* kVmCompatible = "lamina,vm";

struct VmDescription {
  char name[kMaxVmName] = {};  // node name, e.g. "vm1" or "vm@1"
  char path[kMaxDtPath] = {};  // full DT path, for messages
  uint64_t memory_bytes = 0;   // guest RAM; a non-zero multiple of 4 KiB
  uint32_t vcpus = 0;          // 1..kPsciMaxVcpus
  mm::PhysRange kernel;        // host PA of the kernel file; never empty
  mm::PhysRange ramdisk;       // size 0 = none
  mm::PhysRange dtb;           // size 0 = none (lamina generates the guest DT)
  // The guest's /chosen/bootargs: the VM node's `bootargs`, else the kernel
  // module's; nullptr = none. Points into the host DTB, which stays mapped.
  // An empty string is kept (the VM node said "no arguments").
  const char* bootargs = nullptr;
  unsigned ipa_bits = 0;     // 0 = lamina's default (see mm::stage2_geometry_for)
  bool map_eagerly = false;  // map all RAM at VM start instead of on demand
  bool has_test_device = false;
  mm::IntermediatePhysAddr test_device;  // 4 KiB aligned, valid if has_test_device
  // The host devices given to the VM (`lamina,passthrough`), as node offsets
  // into the host DTB with their pages and SPIs (hyp/vm/passthrough.hpp).
  PassthroughPlan passthrough;

  [[nodiscard]] bool has_ramdisk() const { return ramdisk.size != 0; }
  [[nodiscard]] bool has_dtb() const { return dtb.size != 0; }
};

struct VmDescriptions {
  std::array<VmDescription, kMaxVms> vms{};
  size_t count = 0;  // vms[0..count) in device-tree order
};

// parse_vm_descriptions() - Read every enabled `compatible = "lamina,vm"`
// child of /chosen.
// @fdt: the host DTB (validated again here: header and structure).
// @out: filled on success; on error out->count is 0.
//
// No /chosen, or no VM node, is valid: count 0. A VM node whose `status` is
// neither absent nor "okay" is skipped. Children of a VM node that list no
// `multiboot,*` compatible are ignored (room for future extensions).
//
// Return: Ok, or a DtError naming the node and property:
//  kMissingProperty  no `memory`, `cpus` or module `reg`;
//  kMissingNode      a VM without a multiboot,kernel module;
//  kBadProperty      a property of the wrong size or value: memory (1 or 2
//                    cells of KiB; 0, not a multiple of 4 KiB, or overflowing
//                    64 bits), cpus (1..8), #address-cells/#size-cells (1 or
//                    2), bootargs (not NUL-terminated), lamina,ipa-bits
//                    (32..48), lamina,map-eagerly (has a value),
//                    lamina,test-device (size, alignment, beyond ipa-bits),
//                    a module's compatible (two kinds, or no kind) or reg
//                    (not one entry, size 0, wrapping 64 bits, overlapping
//                    another module of any VM), bootargs on a non-kernel
//                    module, a duplicate VM name; lamina,passthrough (see
//                    read_passthrough: a device lamina uses, a missing
//                    path, a device, page or SPI given to two VMs);
//  kTooMany          more than kMaxVms VMs, or a second kernel, ramdisk or
//                    DTB module in one VM;
//  kUnsupported      a VM name longer than kMaxVmName - 1 characters, an
//                    unknown `multiboot,*` module kind;
//  the DeviceTree::open errors for a blob that is not a valid DTB.
[[nodiscard]] Status<DtError> parse_vm_descriptions(const void* fdt, VmDescriptions* out);

// Every module range of every VM (kernel, then ramdisk and DTB when
// present, VM by VM), for the memory setup to reserve before the frame
// allocator hands frames out. Sizes are exact bytes, not rounded to pages.
struct VmModuleRanges {
  std::array<mm::PhysRange, kMaxVmModules> ranges{};
  size_t count = 0;
};
[[nodiscard]] VmModuleRanges vm_module_ranges(const VmDescriptions& vms);

}  // namespace lamina::hyp
