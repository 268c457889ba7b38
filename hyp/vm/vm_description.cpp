#include "hyp/vm/vm_description.hpp"

#include <cstring>
#include <libfdt.h>
#include <new>

#include "hyp/lib/psci_server.hpp"
#include "hyp/platform/device_tree.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::hyp {

namespace {

using dt::DeviceTree;
using dt::kCellBytes;

constexpr uint64_t kKiB = 1024;

constexpr const char* kMultibootPrefix = "multiboot,";
constexpr const char* kMultibootModule = "multiboot,module";

enum class ModuleKind : uint8_t { kNone, kKernel, kRamdisk, kDeviceTree };

struct ModuleCompatible {
  const char* compatible;
  ModuleKind kind;
};
constexpr ModuleCompatible kModuleKinds[] = {
    {"multiboot,kernel", ModuleKind::kKernel},
    {"multiboot,ramdisk", ModuleKind::kRamdisk},
    {"multiboot,device-tree", ModuleKind::kDeviceTree},
};

// Every module range seen so far (all VMs), to refuse overlaps.
struct SeenModules {
  std::array<mm::PhysRange, kMaxVmModules> ranges{};
  size_t count = 0;
};

// The module kind a node's `compatible` names: kNone if it lists no
// "multiboot,*" string at all (not a module). A stringlist is a sequence of
// NUL-terminated strings (DT spec 2.2.4.1 "Property Values", <stringlist>);
// every string is bounded by the property.
Result<ModuleKind, DtError> module_kind(const DeviceTree& tree, int node) {
  dt::Property compat;
  if (!tree.property(node, "compatible", &compat) || compat.size == 0) return ModuleKind::kNone;
  const auto* text = reinterpret_cast<const char*>(compat.data);
  if (text[compat.size - 1] != '\0') {
    return Err{tree.error(DtErrorCode::kBadProperty, node, "compatible",
                          "expected a list of NUL-terminated strings")};
  }
  const size_t prefix_len = strlen(kMultibootPrefix);
  bool multiboot = false;
  ModuleKind kind = ModuleKind::kNone;
  for (size_t at = 0; at < compat.size;) {
    const char* entry = text + at;
    const size_t len = strnlen(entry, compat.size - at);
    at += len + 1;
    if (len < prefix_len || memcmp(entry, kMultibootPrefix, prefix_len) != 0) continue;
    multiboot = true;
    if (len == strlen(kMultibootModule) && memcmp(entry, kMultibootModule, len) == 0) continue;
    ModuleKind found = ModuleKind::kNone;
    for (const ModuleCompatible& known : kModuleKinds) {
      if (len == strlen(known.compatible) && memcmp(entry, known.compatible, len) == 0) found = known.kind;
    }
    if (found == ModuleKind::kNone) {
      return Err{tree.error(DtErrorCode::kUnsupported, node, "compatible",
                            "an unknown multiboot module kind (lamina knows multiboot,kernel, "
                            "multiboot,ramdisk and multiboot,device-tree)")};
    }
    if (kind != ModuleKind::kNone && kind != found) {
      return Err{tree.error(DtErrorCode::kBadProperty, node, "compatible",
                            "the module lists more than one kind (kernel, ramdisk, device-tree)")};
    }
    kind = found;
  }
  if (multiboot && kind == ModuleKind::kNone) {
    return Err{tree.error(DtErrorCode::kBadProperty, node, "compatible",
                          "a multiboot,module must also say its kind: multiboot,kernel, "
                          "multiboot,ramdisk or multiboot,device-tree")};
  }
  return kind;
}

// An optional string property that may be empty: absent -> nullptr.
Result<const char*, DtError> optional_string(const DeviceTree& tree, int node, const char* name) {
  dt::Property p;
  if (!tree.property(node, name, &p)) return static_cast<const char*>(nullptr);
  const auto* text = reinterpret_cast<const char*>(p.data);
  if (p.size == 0 || strnlen(text, p.size) != p.size - 1) {
    return Err{tree.error(DtErrorCode::kBadProperty, node, name, "expected one NUL-terminated string")};
  }
  return text;
}

// `memory`: guest RAM in KiB, one or two cells (Xen's binding uses two).
Result<uint64_t, DtError> read_memory(const DeviceTree& tree, int vm) {
  dt::Property p;
  if (!tree.property(vm, "memory", &p)) {
    return Err{tree.error(DtErrorCode::kMissingProperty, vm, "memory",
                          "every VM needs its RAM size in KiB, e.g. memory = <0x0 0x40000> for 256 MiB")};
  }
  if (p.size != kCellBytes && p.size != 2 * kCellBytes) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "memory",
                          "expected one or two cells (the RAM size in KiB)")};
  }
  const uint64_t kib = dt::read_cells(p.data, static_cast<uint32_t>(p.size / kCellBytes));
  if (kib == 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "memory", "the RAM size is 0")};
  }
  if (kib % (mm::kPageSize / kKiB) != 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "memory",
                          "the RAM size (KiB) is not a multiple of the 4 KiB page")};
  }
  if (kib > UINT64_MAX / kKiB) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "memory", "the RAM size overflows 64 bits")};
  }
  return kib * kKiB;
}

Result<uint32_t, DtError> read_cpus(const DeviceTree& tree, int vm) {
  const uint32_t cpus = TRY(tree.u32(vm, "cpus"));
  if (cpus == 0 || cpus > kPsciMaxVcpus) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "cpus", "a VM has 1 to 8 vCPUs")};
  }
  return cpus;
}

// The VM node's #address-cells/#size-cells, used by its modules' `reg` and
// by lamina,test-device. Absent values take the DT spec 2.3.5 defaults (2
// and 1); lamina reads 64-bit values at most, and a module needs a size.
Result<dt::CellCounts, DtError> read_cells(const DeviceTree& tree, int vm) {
  const dt::CellCounts cells = TRY(tree.child_cells(vm));
  if (cells.address < 1 || cells.address > dt::kMaxCells) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "#address-cells", "a VM node needs 1 or 2")};
  }
  if (cells.size < 1 || cells.size > dt::kMaxCells) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, "#size-cells", "a VM node needs 1 or 2")};
  }
  return cells;
}

Result<unsigned, DtError> read_ipa_bits(const DeviceTree& tree, int vm) {
  constexpr const char* kName = "lamina,ipa-bits";
  if (!tree.has_property(vm, kName)) return 0u;
  const uint32_t bits = TRY(tree.u32(vm, kName));
  // mm::stage2_geometry is the one place that knows which IPA sizes lamina
  // builds stage-2 tables for (32..48 bits with the 4K granule).
  if (!mm::stage2_geometry(bits).ok()) {
    return Err{
        tree.error(DtErrorCode::kBadProperty, vm, kName, "lamina supports guest IPA sizes of 32 to 48 bits")};
  }
  return static_cast<unsigned>(bits);
}

Result<bool, DtError> read_flag(const DeviceTree& tree, int vm, const char* name) {
  dt::Property p;
  if (!tree.property(vm, name, &p)) return false;
  if (p.size != 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, name, "a flag property takes no value")};
  }
  return true;
}

Status<DtError> read_test_device(const DeviceTree& tree, int vm, dt::CellCounts cells, VmDescription* out) {
  constexpr const char* kName = "lamina,test-device";
  dt::Property p;
  if (!tree.property(vm, kName, &p)) return Ok{};
  if (p.size != cells.address * kCellBytes) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, kName,
                          "expected one address of the VM node's #address-cells")};
  }
  const uint64_t ipa = dt::read_cells(p.data, cells.address);
  if (!mm::is_aligned(ipa, mm::kPageSize)) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, kName, "the device address is not 4 KiB aligned")};
  }
  if (out->ipa_bits != 0 && (ipa >> out->ipa_bits) != 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, kName,
                          "the device address lies beyond the VM's lamina,ipa-bits")};
  }
  out->has_test_device = true;
  out->test_device = mm::IntermediatePhysAddr(ipa);
  return Ok{};
}

// One module's `reg`: exactly one <address size> entry in the VM node's
// cells, a host PA range taken as is (neither /chosen nor a VM node has
// `ranges`; Xen reads these the same way), non-empty, ending below 2^64 and
// clear of every module seen so far.
Result<mm::PhysRange, DtError> read_module_reg(const DeviceTree& tree, int module, SeenModules* seen) {
  const dt::Reg reg = TRY(tree.reg(module));
  if (reg.count != 1) {
    return Err{
        tree.error(DtErrorCode::kBadProperty, module, "reg", "expected exactly one <address size> entry")};
  }
  const dt::RegEntry entry = reg.entry(0);
  if (entry.size == 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, module, "reg", "the module's size is 0")};
  }
  uint64_t end = 0;
  if (!mm::checked_add(entry.address, entry.size, &end)) {
    return Err{tree.error(DtErrorCode::kBadProperty, module, "reg",
                          "the module wraps past the 64-bit address space")};
  }
  const mm::PhysRange range{mm::PhysAddr(entry.address), entry.size};
  for (size_t i = 0; i < seen->count; ++i) {
    if (range.overlaps(seen->ranges[i])) {
      return Err{tree.error(DtErrorCode::kBadProperty, module, "reg",
                            "the module overlaps another module (of this VM or an earlier one)")};
    }
  }
  // Cannot overflow: at most kMaxModulesPerVm modules per VM are accepted
  // before this call and at most kMaxVms VMs.
  seen->ranges[seen->count++] = range;
  return range;
}

Status<DtError> read_modules(const DeviceTree& tree, int vm, SeenModules* seen, VmDescription* out,
                             const char** module_bootargs) {
  const void* blob = tree.blob();
  int kernel_node = -1;
  int node = 0;
  fdt_for_each_subnode(node, blob, vm) {
    const ModuleKind kind = TRY(module_kind(tree, node));
    if (kind == ModuleKind::kNone) continue;

    mm::PhysRange* slot = nullptr;
    const char* duplicate = nullptr;
    switch (kind) {
      case ModuleKind::kKernel:
        slot = &out->kernel;
        duplicate = "a VM has exactly one multiboot,kernel module";
        break;
      case ModuleKind::kRamdisk:
        slot = &out->ramdisk;
        duplicate = "a VM has at most one multiboot,ramdisk module";
        break;
      case ModuleKind::kDeviceTree:
        slot = &out->dtb;
        duplicate = "a VM has at most one multiboot,device-tree module";
        break;
      case ModuleKind::kNone:
        break;
    }
    if (slot == nullptr) continue;
    if (slot->size != 0) return Err{tree.error(DtErrorCode::kTooMany, node, "compatible", duplicate)};

    // Xen's binding puts the kernel's command line on the kernel module.
    const char* bootargs = TRY(optional_string(tree, node, "bootargs"));
    if (bootargs != nullptr && kind != ModuleKind::kKernel) {
      return Err{tree.error(DtErrorCode::kBadProperty, node, "bootargs",
                            "bootargs belongs on the VM node or on its multiboot,kernel module")};
    }
    *slot = TRY(read_module_reg(tree, node, seen));
    if (kind == ModuleKind::kKernel) {
      kernel_node = node;
      *module_bootargs = bootargs;
    }
  }
  if (node < 0 && node != -FDT_ERR_NOTFOUND) {
    return Err{
        tree.error(DtErrorCode::kMalformed, vm, nullptr, "the VM node's children cannot be walked", node)};
  }
  if (kernel_node < 0) {
    return Err{tree.error(DtErrorCode::kMissingNode, vm, nullptr,
                          "the VM has no module with compatible = \"multiboot,kernel\"")};
  }
  return Ok{};
}

Status<DtError> read_vm(const DeviceTree& tree, int vm, const VmDescriptions& earlier, SeenModules* seen,
                        VmDescription* out) {
  new (out) VmDescription{};
  tree.path(vm, out->path, sizeof(out->path));

  int name_len = 0;
  const char* name = fdt_get_name(tree.blob(), vm, &name_len);
  if (name == nullptr || name_len < 0) {
    return Err{
        tree.error(DtErrorCode::kMalformed, vm, nullptr, "the VM node's name cannot be read", name_len)};
  }
  if (static_cast<size_t>(name_len) >= kMaxVmName) {
    return Err{tree.error(DtErrorCode::kUnsupported, vm, nullptr,
                          "a VM name (the node name) has at most 31 characters")};
  }
  dt::copy_string(out->name, sizeof(out->name), name, static_cast<size_t>(name_len));
  for (size_t i = 0; i < earlier.count; ++i) {
    if (strcmp(earlier.vms[i].name, out->name) == 0) {
      return Err{tree.error(DtErrorCode::kBadProperty, vm, nullptr, "another VM has the same name")};
    }
  }

  out->memory_bytes = TRY(read_memory(tree, vm));
  out->vcpus = TRY(read_cpus(tree, vm));
  const dt::CellCounts cells = TRY(read_cells(tree, vm));
  out->bootargs = TRY(optional_string(tree, vm, "bootargs"));
  out->ipa_bits = TRY(read_ipa_bits(tree, vm));
  out->map_eagerly = TRY(read_flag(tree, vm, "lamina,map-eagerly"));
  TRY(read_test_device(tree, vm, cells, out));
  TRY(read_passthrough(tree, vm, &out->passthrough));

  const char* module_bootargs = nullptr;
  TRY(read_modules(tree, vm, seen, out, &module_bootargs));
  if (out->bootargs == nullptr) out->bootargs = module_bootargs;
  return Ok{};
}

Status<DtError> parse(const void* fdt, VmDescriptions* out) {
  const DeviceTree tree = TRY(DeviceTree::open(fdt, kMaxDtbSize));
  const int chosen = tree.find_path("/chosen");
  if (chosen == -FDT_ERR_NOTFOUND) return Ok{};
  if (chosen < 0) {
    return Err{
        dt::make_error(DtErrorCode::kMalformed, "/chosen", nullptr, "/chosen cannot be looked up", chosen)};
  }

  SeenModules seen;
  int node = 0;
  fdt_for_each_subnode(node, tree.blob(), chosen) {
    if (!tree.is_compatible(node, kVmCompatible) || !tree.is_enabled(node)) continue;
    if (out->count == kMaxVms) {
      return Err{tree.error(DtErrorCode::kTooMany, node, nullptr, "lamina runs at most 4 VMs (kMaxVms)")};
    }
    TRY(read_vm(tree, node, *out, &seen, &out->vms[out->count]));
    ++out->count;
  }
  if (node < 0 && node != -FDT_ERR_NOTFOUND) {
    return Err{
        tree.error(DtErrorCode::kMalformed, chosen, nullptr, "/chosen's children cannot be walked", node)};
  }
  const PassthroughPlan* plans[kMaxVms] = {};
  const char* names[kMaxVms] = {};
  for (size_t i = 0; i < out->count; ++i) {
    plans[i] = &out->vms[i].passthrough;
    names[i] = out->vms[i].path;
  }
  TRY(check_passthrough_exclusive(plans, names, out->count));
  return Ok{};
}

}  // namespace

Status<DtError> parse_vm_descriptions(const void* fdt, VmDescriptions* out) {
  if (out == nullptr) {
    return Err{dt::make_error(DtErrorCode::kNoBlob, "blob", nullptr, "no VmDescriptions to fill")};
  }
  new (out) VmDescriptions{};
  const Status<DtError> result = parse(fdt, out);
  if (!result.ok()) out->count = 0;
  return result;
}

VmModuleRanges vm_module_ranges(const VmDescriptions& vms) {
  VmModuleRanges out;
  for (size_t i = 0; i < vms.count && i < kMaxVms; ++i) {
    const VmDescription& vm = vms.vms[i];
    const mm::PhysRange modules[kMaxModulesPerVm] = {vm.kernel, vm.ramdisk, vm.dtb};
    for (const mm::PhysRange& range : modules) {
      if (range.size != 0) out.ranges[out.count++] = range;
    }
  }
  return out;
}

}  // namespace lamina::hyp
