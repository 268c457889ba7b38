// The passthrough part of the guest DT (declared in hyp/vm/guest_dtb.hpp):
// host device nodes copied into a generated tree, and a user's tree pruned to
// the devices its VM owns. Architecture-neutral, host-tested
// (tests/unit/hyp/vm/guest_dtb_passthrough_test.cpp).
#include <cstring>
#include <libfdt.h>

#include "hyp/platform/device_tree.hpp"
#include "hyp/vm/guest_dtb.hpp"
#include "hyp/vm/guest_dtb_error.hpp"

namespace lamina::hyp {

namespace {

using dt::kCellBytes;
using dt::kGicInterruptCells;
// Phandles of copied nodes: above QEMU's (0x8000...) and lamina's own.
constexpr uint32_t kFirstCopiedPhandle = 0x9000;
// The largest property lamina rewrites (PCIe interrupt-map: 16 entries of
// 10 cells with a GICv3 parent).
constexpr size_t kMaxRewrittenCells = 256;

// Properties a guest must not see: MSI controllers (no ITS, no GICv2m for
// guests: docs/ARCHITECTURE.md) and IOMMUs (none for guests).
constexpr const char* kDroppedProperties[] = {"msi-parent", "msi-map",   "msi-map-mask",
                                              "iommus",     "iommu-map", "iommu-map-mask"};
constexpr const char* kMsiControllerCompatibles[] = {"arm,gic-v3-its", "arm,gic-v2m-frame"};

using guest_dtb_detail::error;

GuestDtbError libfdt_error(int err, const char* what) {
  return guest_dtb_detail::libfdt_error(err, what, GuestDtbErrorCode::kLibfdt);
}

bool is_dropped(const char* name) {
  for (const char* d : kDroppedProperties)
    if (strcmp(name, d) == 0) return true;
  return false;
}

struct Cells {
  uint32_t v[kMaxRewrittenCells];
  size_t n = 0;
  bool push(uint32_t c) {
    if (n == kMaxRewrittenCells) return false;
    v[n++] = cpu_to_fdt32(c);
    return true;
  }
  [[nodiscard]] int bytes() const { return static_cast<int>(n * kCellBytes); }
};

// Host phandle -> guest phandle of the nodes copied so far.
struct PhandleMap {
  uint32_t host[kMaxPassthroughDevices + 1] = {};
  uint32_t guest[kMaxPassthroughDevices + 1] = {};
  size_t n = 0;
  uint32_t next = kFirstCopiedPhandle;
  [[nodiscard]] uint32_t find(uint32_t h) const {
    for (size_t i = 0; i < n; ++i)
      if (host[i] == h) return guest[i];
    return 0;
  }
};

struct Copier {
  const void* host;
  void* out;
  uint32_t gic_phandle;    // the guest's GIC (#address-cells 0)
  uint32_t clock_phandle;  // the guest's apb-pclk
  PhandleMap phandles;
  dt::DeviceTree host_tree;  // `host`, indexed: phandles are looked up, not walked for
};

uint32_t cell_at(const void* data, size_t index) {
  return dt::read_cell(static_cast<const uint8_t*>(data) + index * kCellBytes);
}

// `clocks` of a copied node: each specifier must be a host fixed clock with
// no clock cells and QEMU's apb-pclk rate, which the guest's apb-pclk is.
Result<Ok, GuestDtbError> rewrite_clocks(Copier& c, const void* data, int len, Cells* out) {
  for (size_t i = 0; i < static_cast<size_t>(len) / kCellBytes; ++i) {
    const int clock = c.host_tree.node_by_phandle(cell_at(data, i));
    dt::Property cells;
    dt::Property rate;
    const bool has_cells = clock >= 0 && c.host_tree.property(clock, "#clock-cells", &cells);
    const bool has_rate = clock >= 0 && c.host_tree.property(clock, "clock-frequency", &rate);
    if (c.clock_phandle == 0 || clock < 0 || !c.host_tree.is_compatible(clock, "fixed-clock") || !has_cells ||
        cell_at(cells.data, 0) != 0 || !has_rate || rate.size != kCellBytes ||
        cell_at(rate.data, 0) != qemu_virt::kApbPclkHz) {
      return Err{error(GuestDtbErrorCode::kBadHostDtb, "clocks",
                       "a passed-through device's clock is not the 24 MHz apb-pclk the guest has")};
    }
    (void)out->push(c.clock_phandle);
  }
  return Ok{};
}

// interrupt-map: child unit address and specifier kept, the parent phandle
// becomes the guest GIC's, the parent unit address is dropped (the guest
// GIC's #address-cells is 0, build_guest_dtb says so), the 3-cell parent specifier kept (the SPI is
// forwarded with its host INTID).
Result<Ok, GuestDtbError> rewrite_interrupt_map(Copier& c, int node, const void* data, int len, Cells* out) {
  dt::Property p;
  const size_t child_addr =
      c.host_tree.property(node, "#address-cells", &p) && p.size == kCellBytes ? cell_at(p.data, 0) : 2;
  const size_t child_irq =
      c.host_tree.property(node, "#interrupt-cells", &p) && p.size == kCellBytes ? cell_at(p.data, 0) : 1;
  const size_t cells = static_cast<size_t>(len) / kCellBytes;
  size_t at = 0;
  while (at < cells) {
    const size_t ph = at + child_addr + child_irq;
    const int parent = ph < cells ? c.host_tree.node_by_phandle(cell_at(data, ph)) : -1;
    if (parent < 0)
      return Err{error(GuestDtbErrorCode::kBadHostDtb, "interrupt-map", "an entry names no node")};
    const size_t parent_addr =
        c.host_tree.property(parent, "#address-cells", &p) && p.size == kCellBytes ? cell_at(p.data, 0) : 0;
    const size_t spec = ph + 1 + parent_addr;
    if (spec + kGicInterruptCells > cells) {
      return Err{error(GuestDtbErrorCode::kBadHostDtb, "interrupt-map", "an entry is truncated")};
    }
    bool ok = true;
    for (size_t i = at; i < ph; ++i) ok &= out->push(cell_at(data, i));
    ok &= out->push(c.gic_phandle);
    for (size_t i = spec; i < spec + kGicInterruptCells; ++i) ok &= out->push(cell_at(data, i));
    if (!ok)
      return Err{error(GuestDtbErrorCode::kBadHostDtb, "interrupt-map", "too long for lamina to rewrite")};
    at = spec + kGicInterruptCells;
  }
  return Ok{};
}

// gpios of a gpio-keys child: <controller phandle, #gpio-cells of it>...;
// every controller must have been copied.
Result<Ok, GuestDtbError> rewrite_gpios(Copier& c, const void* data, int len, Cells* out) {
  const size_t cells = static_cast<size_t>(len) / kCellBytes;
  size_t at = 0;
  while (at < cells) {
    const uint32_t host_ph = cell_at(data, at);
    const uint32_t guest_ph = c.phandles.find(host_ph);
    const int ctrl = c.host_tree.node_by_phandle(host_ph);
    dt::Property gc;
    if (guest_ph == 0 || ctrl < 0 || !c.host_tree.property(ctrl, "#gpio-cells", &gc) ||
        gc.size != kCellBytes) {
      return Err{
          error(GuestDtbErrorCode::kBadHostDtb, "gpios", "a GPIO of a copied gpio-keys node is not copied")};
    }
    (void)out->push(guest_ph);
    const size_t n = cell_at(gc.data, 0);
    for (size_t i = 1; i <= n && at + i < cells; ++i) (void)out->push(cell_at(data, at + i));
    at += 1 + n;
  }
  return Ok{};
}

// Gives the phandles of host node `node` (and of its subnodes down to
// `depth`) their guest numbers, in the order the copy meets them. Done for
// every copied node before any is written, so that gpio-keys, written
// first, can name the copied PL061 by its guest phandle.
Result<Ok, GuestDtbError> number_phandles(Copier& c, int node, int depth) {
  for (int prop = c.host_tree.first_property(node); prop >= 0; prop = c.host_tree.next_property(prop)) {
    dt::DeviceTree::NamedProperty p;
    int err = 0;
    if (!c.host_tree.property_at(prop, &p, &err)) return Err{libfdt_error(err, "host node")};
    const char* pname = p.name;
    const uint8_t* data = p.value.data;
    if (strcmp(pname, "phandle") != 0 && strcmp(pname, "linux,phandle") != 0) continue;
    if (c.phandles.find(cell_at(data, 0)) != 0) continue;
    if (c.phandles.n == kMaxPassthroughDevices + 1) {
      return Err{error(GuestDtbErrorCode::kBadHostDtb, "phandle", "too many phandles to renumber")};
    }
    c.phandles.host[c.phandles.n] = cell_at(data, 0);
    c.phandles.guest[c.phandles.n++] = c.phandles.next++;
  }
  if (depth > 0) {
    int child = 0;
    fdt_for_each_subnode(child, c.host, node) TRY(number_phandles(c, child, depth - 1));
  }
  return Ok{};
}

// Properties and subnodes (gpio-keys' keys) of one copied node that lamina
// writes; more are refused. (QEMU virt's PCIe host bridge has 11
// properties.)
constexpr size_t kMaxCopiedProperties = 64;
constexpr size_t kMaxCopiedSubnodes = 32;

// Writes host node `node` (and its subnodes down to `depth`, last first) at
// the current position of the output tree, which is in sequential-write
// mode. number_phandles() has numbered its phandles.
Result<Ok, GuestDtbError> copy_node(Copier& c, int node, int depth) {
  int name_len = 0;
  const char* name = c.host_tree.name(node, &name_len);
  if (name == nullptr) return Err{libfdt_error(name_len, "host node")};
  int err = fdt_begin_node(c.out, name);
  if (err != 0) return Err{libfdt_error(err, name)};
  // Properties last first too: fdt_setprop put each before the node's
  // others.
  int props[kMaxCopiedProperties];
  size_t prop_count = 0;
  for (int offset = c.host_tree.first_property(node); offset >= 0;
       offset = c.host_tree.next_property(offset)) {
    if (prop_count == kMaxCopiedProperties)
      return Err{error(GuestDtbErrorCode::kBadHostDtb, name, "too many properties to copy")};
    props[prop_count++] = offset;
  }
  while (prop_count > 0) {
    const int prop = props[--prop_count];
    dt::DeviceTree::NamedProperty p;
    if (!c.host_tree.property_at(prop, &p, &err)) return Err{libfdt_error(err, name)};
    const char* pname = p.name;
    const uint8_t* data = p.value.data;
    const int len = static_cast<int>(p.value.size);
    if (is_dropped(pname)) continue;
    Cells cells;
    bool rewritten = true;
    if (strcmp(pname, "interrupt-parent") == 0) {
      (void)cells.push(c.gic_phandle);
    } else if (strcmp(pname, "phandle") == 0 || strcmp(pname, "linux,phandle") == 0) {
      (void)cells.push(c.phandles.find(cell_at(data, 0)));
    } else if (strcmp(pname, "clocks") == 0) {
      TRY(rewrite_clocks(c, data, len, &cells));
    } else if (strcmp(pname, "interrupt-map") == 0) {
      TRY(rewrite_interrupt_map(c, node, data, len, &cells));
    } else if (strcmp(pname, "gpios") == 0) {
      TRY(rewrite_gpios(c, data, len, &cells));
    } else {
      rewritten = false;
    }
    err = rewritten ? fdt_property(c.out, pname, cells.v, cells.bytes())
                    : fdt_property(c.out, pname, data, len);
    if (err != 0) return Err{libfdt_error(err, name)};
  }
  if (depth > 0) {
    // Last first, as the read-write copy (fdt_add_subnode puts a node
    // before its siblings) has always ordered them.
    int children[kMaxCopiedSubnodes];
    size_t count = 0;
    int child = 0;
    fdt_for_each_subnode(child, c.host, node) {
      if (count == kMaxCopiedSubnodes)
        return Err{error(GuestDtbErrorCode::kBadHostDtb, name, "too many subnodes to copy")};
      children[count++] = child;
    }
    while (count > 0) TRY(copy_node(c, children[--count], depth - 1));
  }
  err = fdt_end_node(c.out);
  if (err != 0) return Err{libfdt_error(err, name)};
  return Ok{};
}

// A gpio-keys node whose every `gpios` names a copied controller.
bool gpio_keys_wanted(const Copier& c, int keys) {
  int child = 0;
  bool any = false;
  fdt_for_each_subnode(child, c.host, keys) {
    dt::Property gpios;
    if (!c.host_tree.property(child, "gpios", &gpios) || gpios.size < kCellBytes) continue;
    if (c.phandles.find(cell_at(gpios.data, 0)) == 0) return false;
    any = true;
  }
  return any;
}

// gpio-keys nodes lamina copies; more are refused (QEMU virt has one).
constexpr size_t kMaxGpioKeys = 4;

}  // namespace

Result<Ok, GuestDtbError> write_passthrough_nodes(const GuestDtbSpec& spec, void* fdt, uint32_t gic_phandle,
                                                  uint32_t clock_phandle) {
  const PassthroughPlan* plan = spec.passthrough;
  if (plan == nullptr || plan->empty()) return Ok{};
  if (spec.gic.version == GicVersion::kNone || spec.host_fdt == nullptr) {
    return Err{error(GuestDtbErrorCode::kBadSpec, "passthrough", "passed-through devices need a guest GIC")};
  }
  auto host_tree = dt::DeviceTree::open(spec.host_fdt, kMaxDtbSize);
  if (!host_tree.ok()) {
    return Err{error(GuestDtbErrorCode::kBadHostDtb, "host DTB", "the host DTB is not valid",
                     host_tree.error().libfdt_error)};
  }
  Copier c{spec.host_fdt, fdt, gic_phandle, clock_phandle, {}, host_tree.value()};
  for (size_t i = 0; i < plan->node_count; ++i) TRY(number_phandles(c, plan->nodes[i], 0));
  int keys[kMaxGpioKeys];
  size_t key_count = 0;
  // Every node in blob order, as fdt_node_offset_by_compatible would find
  // them, but through the host tree's index (no libfdt walk per step).
  for (int k = c.host_tree.next_node(-1); k >= 0; k = c.host_tree.next_node(k)) {
    if (!c.host_tree.is_compatible(k, "gpio-keys")) continue;
    if (!gpio_keys_wanted(c, k)) continue;
    if (key_count == kMaxGpioKeys)
      return Err{error(GuestDtbErrorCode::kBadHostDtb, "gpio-keys", "too many gpio-keys nodes to copy")};
    TRY(number_phandles(c, k, 1));
    keys[key_count++] = k;
  }
  // Each written once, at the end of the tree so far (sequential-write
  // mode): the read-write copy this replaces inserted each node before its
  // siblings, walking and moving the whole output tree for every node and
  // property (quadratic: ~10M instructions for QEMU virt's 36 devices). The
  // order stays the one it gave the guest, the reverse of the choice order,
  // so that a guest enumerates the devices (virtio disks among them) as
  // before.
  while (key_count > 0) TRY(copy_node(c, keys[--key_count], 1));
  for (size_t i = plan->node_count; i-- > 0;) TRY(copy_node(c, plan->nodes[i], 0));
  return Ok{};
}

namespace {

// The first root child with `reg` that is a device the VM does not own, or
// -FDT_ERR_NOTFOUND.
int unowned_device(const GuestDtbSpec& spec, const void* fdt) {
  int node = 0;
  fdt_for_each_subnode(node, fdt, 0) {
    int len = 0;
    const void* reg = fdt_getprop(fdt, node, "reg", &len);
    if (reg == nullptr || len < static_cast<int>(4 * kCellBytes)) continue;
    const char* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
    if (type != nullptr && strcmp(type, "memory") == 0) continue;
    if (fdt_getprop(fdt, node, "interrupt-controller", nullptr) != nullptr) continue;
    // Root cells are 2/2 in every tree lamina patches (replace_memory
    // refuses narrower ones for RAM; QEMU writes 2/2).
    const uint64_t base = dt::read_cells(reg, 2);
    const uint64_t size = dt::read_cells(static_cast<const uint8_t*>(reg) + 2 * kCellBytes, 2);
    if (base == spec.uart.value()) continue;
    if (spec.has_test_device && base == spec.test_device.value()) continue;
    if (spec.passthrough != nullptr &&
        spec.passthrough->owns_range(mm::PhysRange{mm::PhysAddr(base), size})) {
      continue;
    }
    return node;
  }
  return -FDT_ERR_NOTFOUND;
}

}  // namespace

Result<Ok, GuestDtbError> prune_user_devices(const GuestDtbSpec& spec, void* fdt) {
  // Each deletion moves later nodes: search again from the start each time.
  for (const char* compat : kMsiControllerCompatibles) {
    for (int n; (n = fdt_node_offset_by_compatible(fdt, -1, compat)) >= 0;) {
      const int err = fdt_del_node(fdt, n);
      if (err != 0) return Err{libfdt_error(err, compat)};
    }
  }
  for (const char* prop : kDroppedProperties) {
    int n = -1;
    while ((n = fdt_next_node(fdt, n, nullptr)) >= 0) {
      const int err = fdt_delprop(fdt, n, prop);
      if (err != 0 && err != -FDT_ERR_NOTFOUND) return Err{libfdt_error(err, prop)};
    }
  }
  for (int n; (n = unowned_device(spec, fdt)) >= 0;) {
    const int err = fdt_del_node(fdt, n);
    if (err != 0) return Err{libfdt_error(err, "device node")};
  }
  // gpio-keys whose controller went away.
  for (int keys = fdt_node_offset_by_compatible(fdt, -1, "gpio-keys"); keys >= 0;) {
    bool dangling = false;
    int child = 0;
    fdt_for_each_subnode(child, fdt, keys) {
      int len = 0;
      const void* gpios = fdt_getprop(fdt, child, "gpios", &len);
      if (gpios != nullptr && len >= static_cast<int>(kCellBytes) &&
          fdt_node_offset_by_phandle(fdt, cell_at(gpios, 0)) < 0)
        dangling = true;
    }
    if (dangling) {
      const int err = fdt_del_node(fdt, keys);
      if (err != 0) return Err{libfdt_error(err, "gpio-keys")};
      keys = fdt_node_offset_by_compatible(fdt, -1, "gpio-keys");
    } else {
      keys = fdt_node_offset_by_compatible(fdt, keys, "gpio-keys");
    }
  }
  return Ok{};
}

}  // namespace lamina::hyp
