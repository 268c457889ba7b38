// The parts of a user's guest DT that must match the VM lamina built
// (declared in hyp/vm/guest_dtb.hpp): its CPUs and its interrupt controller.
// Architecture-neutral, host-tested (tests/unit/hyp/vm/guest_dtb_user_test.cpp).
#include <cstring>
#include <libfdt.h>

#include "hyp/platform/device_tree.hpp"
#include "hyp/vm/guest_dtb.hpp"
#include "hyp/vm/guest_dtb_error.hpp"

namespace lamina::hyp {

namespace {

using dt::kCellBytes;
constexpr char kPsci[] = "psci";
constexpr char kGicV2Compatible[] = "arm,cortex-a15-gic";
constexpr char kGicV3Compatible[] = "arm,gic-v3";
// GIC compatibles a user's tree may have (arm,gic.yaml, arm,gic-v3.yaml).
constexpr const char* kGicCompatibles[] = {"arm,gic-v3", "arm,cortex-a15-gic", "arm,gic-400",
                                           "arm,cortex-a9-gic", "arm,cortex-a7-gic"};

using guest_dtb_detail::error;

GuestDtbError libfdt_error(int err, const char* what) {
  return guest_dtb_detail::libfdt_error(err, what, GuestDtbErrorCode::kBadUserDtb);
}

// The MPIDR a cpu node names (its one-cell or two-cell reg), or -1.
int64_t cpu_reg(const void* fdt, int node) {
  int len = 0;
  const void* reg = fdt_getprop(fdt, node, "reg", &len);
  if (reg == nullptr || (len != 4 && len != 8)) return -1;
  return static_cast<int64_t>(dt::read_cells(reg, static_cast<uint32_t>(len / 4)));
}

bool is_cpu(const void* fdt, int node) {
  const char* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
  return type != nullptr && strcmp(type, "cpu") == 0;
}

// The first cpu node under /cpus that is not a vCPU's, or -FDT_ERR_NOTFOUND.
int extra_cpu(const void* fdt, int cpus, uint32_t vcpus) {
  int node = 0;
  fdt_for_each_subnode(node, fdt, cpus) {
    if (!is_cpu(fdt, node)) continue;
    const int64_t mpidr = cpu_reg(fdt, node);
    if (mpidr < 0 || mpidr >= static_cast<int64_t>(vcpus)) return node;
  }
  return -FDT_ERR_NOTFOUND;
}

}  // namespace

Result<Ok, GuestDtbError> patch_user_cpus(const GuestDtbSpec& spec, void* fdt) {
  int cpus = fdt_path_offset(fdt, "/cpus");
  // A tree without CPUs describes no machine to cut down: the user's.
  if (cpus == -FDT_ERR_NOTFOUND) return Ok{};
  if (cpus < 0) return Err{libfdt_error(cpus, "/cpus")};
  bool removed = false;
  for (int n; (n = extra_cpu(fdt, cpus, spec.vcpus)) >= 0;) {
    const int err = fdt_del_node(fdt, n);
    if (err != 0) return Err{libfdt_error(err, "/cpus")};
    removed = true;
    cpus = fdt_path_offset(fdt, "/cpus");
  }
  // The topology names CPUs by phandle: with some gone it would dangle, and
  // it is optional (Documentation/devicetree/bindings/cpu/cpu-topology.txt).
  if (removed) {
    const int map = fdt_subnode_offset(fdt, cpus, "cpu-map");
    if (map >= 0) {
      const int err = fdt_del_node(fdt, map);
      if (err != 0) return Err{libfdt_error(err, "/cpus/cpu-map")};
      cpus = fdt_path_offset(fdt, "/cpus");
    }
  }
  // Every vCPU has its node and starts through lamina's PSCI.
  for (uint32_t v = 0; v < spec.vcpus; ++v) {
    int found = -1;
    int node = 0;
    fdt_for_each_subnode(node, fdt, cpus) {
      if (is_cpu(fdt, node) && cpu_reg(fdt, node) == v) found = node;
    }
    if (found < 0) {
      return Err{error(GuestDtbErrorCode::kBadUserDtb, "/cpus",
                       "the user DTB has fewer cpu nodes (reg = MPIDR 0, 1, ...) than the VM has vCPUs")};
    }
    int err = fdt_setprop(fdt, found, "enable-method", kPsci, sizeof(kPsci));
    if (err == 0) {
      err = fdt_delprop(fdt, found, "cpu-release-addr");
      if (err == -FDT_ERR_NOTFOUND) err = 0;
    }
    if (err != 0) return Err{libfdt_error(err, "/cpus")};
  }
  return Ok{};
}

Result<Ok, GuestDtbError> patch_user_gic(const GuestDtbSpec& spec, void* fdt) {
  const GuestGicSpec& gic = spec.gic;
  if (gic.version == GicVersion::kNone) return Ok{};
  int node = -FDT_ERR_NOTFOUND;
  int len = 0;
  if (const void* ip = fdt_getprop(fdt, 0, "interrupt-parent", &len); ip != nullptr && len == kCellBytes) {
    node = fdt_node_offset_by_phandle(fdt, dt::read_cell(ip));
  }
  for (const char* compat : kGicCompatibles) {
    if (node >= 0) break;
    node = fdt_node_offset_by_compatible(fdt, -1, compat);
  }
  if (node < 0 || fdt_getprop(fdt, node, "interrupt-controller", nullptr) == nullptr) {
    return Err{error(GuestDtbErrorCode::kBadUserDtb, "interrupt-parent",
                     "the user DTB has no GIC node for lamina's virtual GIC")};
  }
  if (fdt_address_cells(fdt, 0) != 2 || fdt_size_cells(fdt, 0) != 2) {
    return Err{
        error(GuestDtbErrorCode::kBadUserDtb, "/", "lamina rewrites the GIC's reg with 2/2 root cells only")};
  }
  // The vGIC's frames, as build_guest_dtb describes them; the node keeps
  // its name, phandle and everything else the user put there.
  const bool v3 = gic.version == GicVersion::kV3;
  const uint64_t frames[4] = {gic.distributor.value(), gic.distributor_size,
                              v3 ? gic.redistributors.value() : gic.cpu_interface.value(),
                              v3 ? gic.redistributors_size : gic.cpu_interface_size};
  fdt32_t reg[8];
  for (size_t i = 0; i < 4; ++i) {
    reg[2 * i] = cpu_to_fdt32(static_cast<uint32_t>(frames[i] >> 32));
    reg[2 * i + 1] = cpu_to_fdt32(static_cast<uint32_t>(frames[i]));
  }
  int err = v3 ? fdt_setprop(fdt, node, "compatible", kGicV3Compatible, sizeof(kGicV3Compatible))
               : fdt_setprop(fdt, node, "compatible", kGicV2Compatible, sizeof(kGicV2Compatible));
  if (err == 0) err = fdt_setprop(fdt, node, "reg", reg, sizeof(reg));
  if (err == 0 && v3) err = fdt_setprop_u32(fdt, node, "#redistributor-regions", 1);
  if (err == 0) {
    err = fdt_delprop(fdt, node, "redistributor-stride");
    if (err == -FDT_ERR_NOTFOUND) err = 0;
  }
  if (err != 0) return Err{libfdt_error(err, "GIC node")};
  return Ok{};
}

}  // namespace lamina::hyp
