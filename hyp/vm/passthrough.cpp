#include "hyp/vm/passthrough.hpp"

#include <cstring>
#include <libfdt.h>

#include "hyp/lib/format.hpp"

namespace lamina::hyp {

namespace {

using dt::DeviceTree;
using dt::kCellBytes;
using dt::kGicInterruptCells;

// 3-cell GIC specifier flags[3:0], the trigger (arm,gic.yaml
// "#interrupt-cells"): 1 = rising edge, 4 = high level. Falling edge and low
// level are what the GIC cannot take (IHI 0069 "GICD_ICFGR<n>": an SPI is
// level-sensitive or edge-triggered, active high / rising).
constexpr uint32_t kTriggerMask = 0xf;
constexpr uint32_t kTriggerEdgeRising = 1;
constexpr uint32_t kTriggerLevelHigh = 4;
constexpr uint32_t kFirstSpi = 32;
// PCI bus addresses are 3 cells (phys.hi, phys.mid, phys.lo): IEEE Std
// 1275-1994 PCI binding, "reg"/"ranges".
constexpr uint32_t kPciAddressCells = 3;

// "<vm path>: <device path>", the node field of a passthrough error.
DtError device_error(DtErrorCode code, const char* vm_path, const char* device, const char* detail,
                     const char* separator = ": ") {
  char where[kMaxDtPath];
  fmt::Buffer b(where, sizeof(where));
  b.put(std::string_view(vm_path));
  b.put(std::string_view(separator));
  b.put(std::string_view(device));
  return dt::make_error(code, where, kPassthroughProperty, detail);
}

struct Context {
  const DeviceTree& tree;
  char vm_path[kMaxDtPath];
  const char* device = nullptr;  // the path being read
  PassthroughPlan* plan;
  int gic = -1;                  // the last interrupt parent check_gic_parent() accepted
  mm::PhysRange console_page{};  // the page of lamina's console UART; size 0 if unknown

  DtError fail(DtErrorCode code, const char* detail) const {
    return device_error(code, vm_path, device, detail);
  }
};

// Adds [base, base + size) rounded out to pages, keeping the list sorted,
// disjoint and merged with neighbours.
Status<DtError> add_range(Context& c, uint64_t base, uint64_t size) {
  if (size == 0) return Ok{};
  uint64_t end = 0;
  if (!mm::checked_add(base, size, &end) || end > UINT64_MAX - mm::kPageSize) {
    return Err{c.fail(DtErrorCode::kBadProperty, "a register range wraps the 64-bit address space")};
  }
  uint64_t lo = mm::align_down(base, mm::kPageSize);
  uint64_t hi = mm::align_up(end, mm::kPageSize);
  PassthroughPlan& p = *c.plan;
  // Absorb every range that overlaps or touches [lo, hi).
  size_t out = 0;
  for (size_t i = 0; i < p.range_count; ++i) {
    const mm::PhysRange r = p.ranges[i];
    if (r.base.value() <= hi && lo <= r.end().value()) {
      lo = lo < r.base.value() ? lo : r.base.value();
      hi = hi > r.end().value() ? hi : r.end().value();
    } else {
      p.ranges[out++] = r;
    }
  }
  p.range_count = out;
  if (p.range_count == kMaxPassthroughRanges) {
    return Err{
        c.fail(DtErrorCode::kTooMany, "the devices need more separate register ranges than lamina holds")};
  }
  size_t at = 0;
  while (at < p.range_count && p.ranges[at].base.value() < lo) ++at;
  for (size_t i = p.range_count; i > at; --i) p.ranges[i] = p.ranges[i - 1];
  p.ranges[at] = mm::PhysRange{mm::PhysAddr(lo), hi - lo};
  ++p.range_count;
  return Ok{};
}

// One 3-cell GIC specifier of the device.
Status<DtError> add_specifier(Context& c, const uint8_t* cells) {
  const uint32_t type = dt::read_cell(cells);
  const uint32_t number = dt::read_cell(cells + kCellBytes);
  const uint32_t flags = dt::read_cell(cells + 2 * kCellBytes);
  uint32_t intid = 0;
  if (!dt::gic_spec_to_intid(type, number, &intid) || intid < kFirstSpi) {
    return Err{c.fail(DtErrorCode::kBadProperty,
                      "the device has an interrupt that is not an SPI (a PPI is no "
                      "device's to give away)")};
  }
  const uint32_t trigger = flags & kTriggerMask;
  if (trigger != kTriggerEdgeRising && trigger != kTriggerLevelHigh) {
    return Err{c.fail(DtErrorCode::kBadProperty,
                      "the device's interrupt is neither rising-edge nor "
                      "high-level triggered")};
  }
  PassthroughPlan& p = *c.plan;
  const PassthroughSpi spi{intid, trigger == kTriggerEdgeRising};
  for (size_t i = 0; i < p.spi_count; ++i) {
    if (p.spis[i].intid == intid) {
      if (p.spis[i].edge != spi.edge) {
        return Err{c.fail(DtErrorCode::kBadProperty, "two devices describe one SPI with different triggers")};
      }
      return Ok{};
    }
  }
  if (p.spi_count == kMaxPassthroughSpis) {
    return Err{c.fail(DtErrorCode::kTooMany, "the devices have more SPIs than lamina forwards")};
  }
  p.spis[p.spi_count++] = spi;
  return Ok{};
}

// The parent must be the host's 3-cell GIC (an interrupt controller).
Status<DtError> check_gic_parent(Context& c, int parent) {
  if (parent == c.gic) return Ok{};  // every interrupt-map entry names it again
  if (!c.tree.has_property(parent, "interrupt-controller") ||
      c.tree.u32_or(parent, "#interrupt-cells", 0).value_or(0) != kGicInterruptCells) {
    return Err{c.fail(DtErrorCode::kBadProperty,
                      "the device's interrupt parent is not a GIC with 3-cell "
                      "specifiers")};
  }
  c.gic = parent;
  return Ok{};
}

Status<DtError> read_interrupts(Context& c, int node) {
  if (c.tree.has_property(node, "interrupts-extended")) {
    return Err{c.fail(DtErrorCode::kUnsupported, "lamina does not read interrupts-extended")};
  }
  dt::Property irqs;
  if (!c.tree.property(node, "interrupts", &irqs)) return Ok{};
  const auto parent = c.tree.interrupt_parent(node);
  if (!parent.ok())
    return Err{c.fail(DtErrorCode::kBadProperty, "the device's interrupt parent cannot be found")};
  TRY(check_gic_parent(c, parent.value()));
  constexpr size_t kSpecBytes = kGicInterruptCells * kCellBytes;
  if (irqs.size == 0 || irqs.size % kSpecBytes != 0) {
    return Err{c.fail(DtErrorCode::kBadProperty, "the device's interrupts are not whole 3-cell specifiers")};
  }
  for (size_t at = 0; at < irqs.size; at += kSpecBytes) TRY(add_specifier(c, irqs.data + at));
  return Ok{};
}

// A PCI host bridge's legacy INTx: every parent specifier of its
// interrupt-map (DT spec 2.4.3.1 "interrupt-map": child unit address,
// child interrupt specifier, interrupt-parent phandle, parent unit address,
// parent interrupt specifier).
Status<DtError> read_interrupt_map(Context& c, int node) {
  dt::Property map;
  if (!c.tree.property(node, "interrupt-map", &map)) return Ok{};
  const uint32_t child_addr = c.tree.u32_or(node, "#address-cells", 2).value_or(2);
  const uint32_t child_irq = c.tree.u32_or(node, "#interrupt-cells", 1).value_or(1);
  size_t at = 0;
  const size_t cells = map.size / kCellBytes;
  if (map.size % kCellBytes != 0) {
    return Err{c.fail(DtErrorCode::kBadProperty, "the interrupt-map is not a whole number of cells")};
  }
  while (at < cells) {
    const size_t phandle_at = at + child_addr + child_irq;
    if (phandle_at >= cells) {
      return Err{c.fail(DtErrorCode::kBadProperty, "an interrupt-map entry is truncated")};
    }
    // The index, not fdt_node_offset_by_phandle's walk of the whole blob:
    // QEMU virt's PCIe interrupt-map names the GIC 16 times.
    const int parent = c.tree.node_by_phandle(dt::read_cell(map.data + phandle_at * kCellBytes));
    if (parent < 0) return Err{c.fail(DtErrorCode::kBadProperty, "an interrupt-map entry names no node")};
    TRY(check_gic_parent(c, parent));
    // The parent's #address-cells, 0 when absent (Linux of_irq_parse_raw).
    const uint32_t parent_addr = c.tree.u32_or(parent, "#address-cells", 0).value_or(0);
    const size_t spec_at = phandle_at + 1 + parent_addr;
    if (spec_at + kGicInterruptCells > cells) {
      return Err{c.fail(DtErrorCode::kBadProperty, "an interrupt-map entry is truncated")};
    }
    TRY(add_specifier(c, map.data + spec_at * kCellBytes));
    at = spec_at + kGicInterruptCells;
  }
  return Ok{};
}

// A PCI host bridge's windows: each `ranges` entry is <child (3 cells),
// parent address (the root's #address-cells), size (the bridge's
// #size-cells)>, the parent address a CPU physical address at the root.
Status<DtError> read_pci_windows(Context& c, int node) {
  const int parent = TRY(c.tree.parent(node));
  if (parent != dt::kRootNode) {
    return Err{
        c.fail(DtErrorCode::kUnsupported, "lamina passes through PCI host bridges at the DT root only")};
  }
  const dt::CellCounts root = TRY(c.tree.child_cells(dt::kRootNode));
  const dt::CellCounts own = TRY(c.tree.child_cells(node));
  if (own.address != kPciAddressCells || root.address > dt::kMaxCells || own.size > dt::kMaxCells) {
    return Err{c.fail(DtErrorCode::kUnsupported,
                      "the PCI host bridge's ranges have cell counts lamina does not "
                      "read")};
  }
  dt::Property ranges;
  if (!c.tree.property(node, "ranges", &ranges)) return Ok{};
  const size_t entry = (own.address + root.address + own.size) * kCellBytes;
  if (ranges.size % entry != 0) {
    return Err{c.fail(DtErrorCode::kBadProperty, "the PCI host bridge's ranges are not whole entries")};
  }
  for (size_t at = 0; at < ranges.size; at += entry) {
    const uint8_t* e = ranges.data + at;
    const uint64_t pa = dt::read_cells(e + own.address * kCellBytes, root.address);
    const uint64_t size = dt::read_cells(e + (own.address + root.address) * kCellBytes, own.size);
    TRY(add_range(c, pa, size));
  }
  return Ok{};
}

// lamina's console: the node /chosen/stdout-path names or, without one, the
// first enabled PL011 (the rule of platform discovery), or -1.
int console_node(const DeviceTree& tree) {
  const int fallback = tree.first_enabled_compatible("arm,pl011");
  const int chosen = tree.find_path("/chosen");
  if (chosen < 0) return fallback < 0 ? -1 : fallback;
  const auto path = tree.string(chosen, "stdout-path", false);
  if (!path.ok() || path.value() == nullptr) return fallback < 0 ? -1 : fallback;
  const char* p = path.value();
  const char* colon = strchr(p, ':');
  const size_t len = colon != nullptr ? static_cast<size_t>(colon - p) : strlen(p);
  const auto node = tree.resolve_path(p, len, "stdout-path");
  return node.ok() ? node.value() : -1;
}

// A node lamina keeps for itself (or that is no device at all).
const char* lamina_owned(const DeviceTree& tree, int node, int console) {
  if (node == dt::kRootNode) return "the root is not a device";
  if (node == console) return "the device is lamina's console UART (/chosen/stdout-path)";
  if (tree.string_equals(node, "device_type", "memory"))
    return "memory is lamina's to share out, not a device";
  for (int n = node; n != dt::kRootNode;) {
    if (tree.has_property(n, "interrupt-controller") || tree.has_property(n, "msi-controller")) {
      return "interrupt controllers (the GIC, its ITS) are lamina's; guests get a virtual GIC";
    }
    int len = 0;
    const char* name = tree.name(n, &len);
    if (name != nullptr && tree.parent(n).value_or(-1) == dt::kRootNode &&
        (strcmp(name, "cpus") == 0 || strcmp(name, "chosen") == 0)) {
      return "/cpus and /chosen describe lamina's machine, not devices";
    }
    const auto up = tree.parent(n);
    if (!up.ok()) break;
    n = up.value();
  }
  return nullptr;
}

Status<DtError> read_device(Context& c, int node, int console) {
  if (const char* why = lamina_owned(c.tree, node, console))
    return Err{c.fail(DtErrorCode::kBadProperty, why)};
  if (c.tree.parent(node).value_or(-1) != dt::kRootNode) {
    // The guest DT gets a copy of the node at its root, with `reg` as is.
    return Err{c.fail(DtErrorCode::kUnsupported, "lamina passes through devices at the DT root only")};
  }
  if (!c.tree.has_property(node, "reg")) {
    return Err{c.fail(DtErrorCode::kBadProperty,
                      "the node has no reg: not a device lamina can map (a gpio-keys "
                      "node comes with its GPIO controller)")};
  }
  const dt::Reg reg = TRY(c.tree.reg(node));
  for (size_t i = 0; i < reg.count; ++i) {
    const mm::PhysRange r = TRY(c.tree.translate(node, reg.entry(i)));
    TRY(add_range(c, r.base.value(), r.size));
  }
  // The console's page is lamina's too, whichever node claims it.
  if (c.console_page.size != 0 && c.plan->owns_range(c.console_page)) {
    return Err{c.fail(DtErrorCode::kBadProperty, "the device shares a page with lamina's console UART")};
  }
  TRY(read_interrupts(c, node));
  if (c.tree.string_equals(node, "device_type", "pci")) {
    TRY(read_pci_windows(c, node));
    TRY(read_interrupt_map(c, node));
  }
  return Ok{};
}

bool ranges_overlap(const PassthroughPlan& a, const PassthroughPlan& b) {
  for (size_t i = 0; i < a.range_count; ++i)
    if (b.owns_range(a.ranges[i])) return true;
  return false;
}

}  // namespace

bool PassthroughPlan::owns_node(int node) const {
  for (size_t i = 0; i < node_count; ++i)
    if (nodes[i] == node) return true;
  return false;
}

bool PassthroughPlan::owns_range(mm::PhysRange r) const {
  for (size_t i = 0; i < range_count; ++i)
    if (ranges[i].overlaps(r)) return true;
  return false;
}

Status<DtError> read_passthrough(const DeviceTree& tree, int vm, PassthroughPlan* out) {
  *out = PassthroughPlan{};
  dt::Property prop;
  if (!tree.property(vm, kPassthroughProperty, &prop)) return Ok{};
  Context c{tree, {}, nullptr, out};
  tree.path(vm, c.vm_path, sizeof(c.vm_path));
  const auto* text = reinterpret_cast<const char*>(prop.data);
  if (prop.size == 0 || text[prop.size - 1] != '\0') {
    return Err{tree.error(DtErrorCode::kBadProperty, vm, kPassthroughProperty,
                          "expected a list of NUL-terminated host DT paths")};
  }
  const int console = console_node(tree);
  if (console >= 0) {
    if (const auto creg = tree.reg_range(console, 0); creg.ok())
      c.console_page = mm::PhysRange{creg.value().base.align_down(mm::kPageSize), mm::kPageSize};
  }
  for (size_t at = 0; at < prop.size;) {
    const char* path = text + at;
    at += strlen(path) + 1;
    c.device = path;
    if (path[0] != '/')
      return Err{c.fail(DtErrorCode::kBadProperty, "a device is named by its absolute path")};
    const int node = tree.find_path(path);
    if (node < 0) return Err{c.fail(DtErrorCode::kMissingNode, "no such node in the host device tree")};
    if (out->owns_node(node)) return Err{c.fail(DtErrorCode::kBadProperty, "the device is listed twice")};
    if (out->node_count == kMaxPassthroughDevices) {
      return Err{c.fail(DtErrorCode::kTooMany, "more devices than lamina passes through to one VM")};
    }
    out->nodes[out->node_count++] = node;
    TRY(read_device(c, node, console));
  }
  return Ok{};
}

Status<DtError> check_passthrough_exclusive(const PassthroughPlan* const* plans, const char* const* names,
                                            size_t count) {
  for (size_t b = 1; b < count; ++b) {
    for (size_t a = 0; a < b; ++a) {
      const PassthroughPlan& x = *plans[a];
      const PassthroughPlan& y = *plans[b];
      const char* shared = nullptr;
      for (size_t i = 0; i < y.node_count && shared == nullptr; ++i)
        if (x.owns_node(y.nodes[i])) shared = "a device is given to two VMs";
      if (shared == nullptr && ranges_overlap(x, y)) {
        shared =
            "devices of two VMs share a 4 KiB page (stage 2 maps whole pages: virtio-mmio transports, eight "
            "to a page, go to one VM together)";
      }
      for (size_t i = 0; i < y.spi_count && shared == nullptr; ++i)
        for (size_t j = 0; j < x.spi_count; ++j)
          if (x.spis[j].intid == y.spis[i].intid) shared = "devices of two VMs share an SPI";
      if (shared != nullptr)
        return Err{device_error(DtErrorCode::kBadProperty, names[b], names[a], shared, " and ")};
    }
  }
  return Ok{};
}

}  // namespace lamina::hyp
