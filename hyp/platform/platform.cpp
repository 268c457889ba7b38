#include "hyp/platform/platform.hpp"

#include <cstring>
#include <libfdt.h>
#include <new>

#include "hyp/platform/device_tree.hpp"

namespace lamina::hyp {

namespace {

using dt::DeviceTree;
using dt::kCellBytes;

constexpr uint32_t kFirstSpiIntid = 32;  // IHI 0069 "INTIDs": SPIs are 32-1019

// MPIDR_EL1 affinity fields Aff3 [39:32], Aff2 [23:16], Aff1 [15:8] and
// Aff0 [7:0] (DDI 0487 K.a D24.2 "MPIDR_EL1, Multiprocessor Affinity
// Register"); a cpu node's reg holds exactly these bits
// (Documentation/devicetree/bindings/arm/cpus.yaml).
constexpr uint64_t kMpidrAffinityMask = 0xff00ffffffull;

constexpr const char* kGicV3Compatible = "arm,gic-v3";
constexpr const char* kGicV2Compatibles[] = {"arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a7-gic",
                                             "arm,cortex-a9-gic"};
constexpr const char* kTimerCompatibles[] = {"arm,armv8-timer", "arm,armv7-timer"};
constexpr const char* kPl011Compatible = "arm,pl011";

struct PsciCompatible {
  const char* compatible;
  bool standard_function_ids;
};
// Newest first: a node usually lists all three, and the newest says most.
constexpr PsciCompatible kPsciCompatibles[] = {
    {"arm,psci-1.0", true}, {"arm,psci-0.2", true}, {"arm,psci", false}};

// The architected timer's `interrupts`, in binding order
// (Documentation/devicetree/bindings/timer/arm,arch_timer.yaml): secure
// physical, non-secure physical, virtual, hypervisor physical, and optionally
// hypervisor virtual (not used by lamina).
constexpr size_t kTimerRequiredInterrupts = 4;
constexpr size_t kTimerMaxInterrupts = 5;

struct PsciNode {
  PsciDesc desc;
  int node = -1;
};

struct GicNode {
  GicDesc desc;
  int node = -1;
  uint32_t interrupt_cells = 0;
};

void read_model(const DeviceTree& tree, Platform* out) {
  dt::Property model;
  if (!tree.property(dt::kRootNode, "model", &model)) return;
  dt::copy_string(out->model, sizeof(out->model), reinterpret_cast<const char*>(model.data), model.size);
}

Status<DtError> read_memory(const DeviceTree& tree, Platform* out) {
  int first_memory = -1;
  for (int node = tree.next_of_device_type(-1, "memory"); node >= 0;
       node = tree.next_of_device_type(node, "memory")) {
    if (!tree.is_enabled(node)) continue;
    if (first_memory < 0) first_memory = node;
    const dt::Reg reg = TRY(tree.reg(node));
    for (size_t i = 0; i < reg.count; ++i) {
      const dt::RegEntry entry = reg.entry(i);
      if (entry.size == 0) continue;
      if (out->memory_count == kMaxMemoryBanks) {
        return Err{tree.error(DtErrorCode::kTooMany, node, "reg",
                              "more memory banks than lamina's table holds (kMaxMemoryBanks)")};
      }
      out->memory[out->memory_count++] = TRY(tree.translate(node, entry));
    }
  }
  if (first_memory < 0) {
    return Err{dt::make_error(DtErrorCode::kMissingNode, "/memory", nullptr,
                              "no enabled node has device_type = \"memory\"")};
  }
  if (out->memory_count == 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, first_memory, "reg",
                          "the memory nodes describe no RAM (every size is 0; the firmware "
                          "normally fills reg in)")};
  }
  return Ok{};
}

Status<DtError> add_reserved(Platform* out, mm::PhysRange range, bool no_map, bool from_memreserve,
                             const DtError& too_many) {
  if (out->reserved_count == kMaxReservedRegions) return Err{too_many};
  ReservedRegion& region = out->reserved[out->reserved_count++];
  region.range = range;
  region.no_map = no_map;
  region.from_memreserve = from_memreserve;
  return Ok{};
}

Status<DtError> read_reserved(const DeviceTree& tree, Platform* out) {
  const void* blob = tree.blob();
  const int count = fdt_num_mem_rsv(blob);
  if (count < 0) {
    return Err{dt::make_error(DtErrorCode::kMalformed, "memory reservation block", nullptr,
                              "the memory reservation block is unterminated", count)};
  }
  for (int i = 0; i < count; ++i) {
    uint64_t address = 0;
    uint64_t size = 0;
    const int err = fdt_get_mem_rsv(blob, i, &address, &size);
    if (err != 0) {
      return Err{dt::make_error(DtErrorCode::kMalformed, "memory reservation block", nullptr,
                                "a memory reservation entry cannot be read", err)};
    }
    if (size == 0) continue;
    if (address > UINT64_MAX - (size - 1)) {
      return Err{dt::make_error(DtErrorCode::kBadProperty, "memory reservation block", nullptr,
                                "a reservation wraps past the 64-bit address space")};
    }
    TRY(add_reserved(out, mm::PhysRange{mm::PhysAddr(address), size}, false, true,
                     dt::make_error(DtErrorCode::kTooMany, "memory reservation block", nullptr,
                                    "more reserved regions than lamina's table holds "
                                    "(kMaxReservedRegions)")));
  }

  // Documentation/devicetree/bindings/reserved-memory/reserved-memory.yaml:
  // children with `reg` are static reservations; children with only `size`
  // are allocated by the OS later and reserve nothing yet. /reserved-memory
  // must have an empty `ranges`, which translate() checks.
  const int reserved_memory = tree.find_path("/reserved-memory");
  if (reserved_memory < 0) return Ok{};
  int child = 0;
  fdt_for_each_subnode(child, blob, reserved_memory) {
    if (!tree.is_enabled(child) || !tree.has_property(child, "reg")) continue;
    const dt::Reg reg = TRY(tree.reg(child));
    const bool no_map = tree.has_property(child, "no-map");
    for (size_t i = 0; i < reg.count; ++i) {
      const dt::RegEntry entry = reg.entry(i);
      if (entry.size == 0) continue;
      const mm::PhysRange range = TRY(tree.translate(child, entry));
      TRY(add_reserved(out, range, no_map, false,
                       tree.error(DtErrorCode::kTooMany, child, "reg",
                                  "more reserved regions than lamina's table holds "
                                  "(kMaxReservedRegions)")));
    }
  }
  return Ok{};
}

Result<CpuDesc, DtError> read_cpu(const DeviceTree& tree, int node) {
  const dt::Reg reg = TRY(tree.reg(node));
  if (reg.count != 1) {
    return Err{tree.error(DtErrorCode::kBadProperty, node, "reg", "a cpu's reg must hold exactly one MPIDR")};
  }
  CpuDesc cpu;
  cpu.mpidr = reg.entry(0).address;
  if ((cpu.mpidr & ~kMpidrAffinityMask) != 0) {
    return Err{
        tree.error(DtErrorCode::kBadProperty, node, "reg", "reg has bits outside the MPIDR affinity fields")};
  }

  const char* method = TRY(tree.string(node, "enable-method", false));
  if (method == nullptr) return cpu;  // kNone: the boot CPU, typically
  if (strcmp(method, "psci") == 0) {
    cpu.enable_method = CpuEnableMethod::kPsci;
    return cpu;
  }
  if (strcmp(method, "spin-table") != 0) {
    return Err{tree.error(DtErrorCode::kUnsupported, node, "enable-method",
                          "lamina starts CPUs only with \"psci\" or \"spin-table\"")};
  }
  // Documentation/arch/arm64/booting.rst: cpu-release-addr is a 64-bit
  // value in two cells; one cell is accepted for old firmware.
  cpu.enable_method = CpuEnableMethod::kSpinTable;
  dt::Property release;
  if (!tree.property(node, "cpu-release-addr", &release)) {
    return Err{tree.error(DtErrorCode::kMissingProperty, node, "cpu-release-addr",
                          "spin-table CPUs need a release address")};
  }
  if (release.size != kCellBytes && release.size != 2 * kCellBytes) {
    return Err{tree.error(DtErrorCode::kBadProperty, node, "cpu-release-addr", "expected one or two cells")};
  }
  cpu.release_addr =
      mm::PhysAddr(dt::read_cells(release.data, static_cast<uint32_t>(release.size / kCellBytes)));
  return cpu;
}

Status<DtError> read_cpus(const DeviceTree& tree, Platform* out) {
  const int cpus = tree.find_path("/cpus");
  if (cpus < 0) {
    return Err{
        dt::make_error(DtErrorCode::kMissingNode, "/cpus", nullptr, "the device tree has no /cpus node")};
  }
  const dt::CellCounts cells = TRY(tree.child_cells(cpus));
  if (cells.address != 1 && cells.address != 2) {
    return Err{tree.error(DtErrorCode::kBadProperty, cpus, "#address-cells",
                          "/cpus needs #address-cells of 1 or 2 (MPIDR affinity)")};
  }
  int node = 0;
  fdt_for_each_subnode(node, tree.blob(), cpus) {
    // cpu-map, caches and the like are not CPUs.
    if (!tree.string_equals(node, "device_type", "cpu") || !tree.is_enabled(node)) continue;
    if (out->cpu_count == kMaxDtCpus) {
      return Err{tree.error(DtErrorCode::kTooMany, cpus, nullptr,
                            "more CPUs than lamina's table holds (kMaxDtCpus)")};
    }
    const CpuDesc cpu = TRY(read_cpu(tree, node));
    for (size_t i = 0; i < out->cpu_count; ++i) {
      if (out->cpus[i].mpidr == cpu.mpidr) {
        return Err{tree.error(DtErrorCode::kBadProperty, node, "reg", "two CPUs have the same MPIDR")};
      }
    }
    out->cpus[out->cpu_count++] = cpu;
  }
  if (out->cpu_count == 0) {
    return Err{dt::make_error(DtErrorCode::kMissingNode, "/cpus", nullptr,
                              "/cpus has no enabled node with device_type = \"cpu\"")};
  }
  return Ok{};
}

// PSCI binding: Documentation/devicetree/bindings/arm/psci.yaml. Like Linux,
// a disabled node counts as absent.
Result<PsciNode, DtError> read_psci(const DeviceTree& tree) {
  PsciNode psci;
  for (const PsciCompatible& candidate : kPsciCompatibles) {
    psci.node = tree.first_enabled_compatible(candidate.compatible);
    if (psci.node >= 0) {
      psci.desc.standard_function_ids = candidate.standard_function_ids;
      break;
    }
  }
  if (psci.node < 0) return PsciNode{};

  const char* method = TRY(tree.string(psci.node, "method", true));
  if (strcmp(method, "smc") == 0) {
    psci.desc.conduit = PsciConduit::kSmc;
  } else if (strcmp(method, "hvc") == 0) {
    psci.desc.conduit = PsciConduit::kHvc;
  } else {
    return Err{tree.error(DtErrorCode::kBadProperty, psci.node, "method",
                          "the PSCI method must be \"smc\" or \"hvc\"")};
  }
  if (!psci.desc.standard_function_ids) {
    // PSCI 0.1 has no standard IDs; 0 means "CPU_ON not offered".
    psci.desc.cpu_on_function_id = TRY(tree.u32_or(psci.node, "cpu_on", 0));
  }
  return psci;
}

Result<mm::PhysRange, DtError> gic_frame(const DeviceTree& tree, const dt::Reg& reg, size_t index) {
  return tree.translate(reg.node, reg.entry(index));
}

// GIC bindings: Documentation/devicetree/bindings/interrupt-controller/
// arm,gic.yaml (v2: GICD, GICC, then optional GICH, GICV) and arm,gic-v3.yaml
// (GICD, #redistributor-regions GICR regions, then optional GICC, GICH, GICV).
Result<GicNode, DtError> read_gic(const DeviceTree& tree) {
  GicNode gic;
  gic.node = tree.first_enabled_compatible(kGicV3Compatible);
  if (gic.node >= 0) {
    gic.desc.version = GicVersion::kV3;
  } else {
    for (const char* compatible : kGicV2Compatibles) {
      gic.node = tree.first_enabled_compatible(compatible);
      if (gic.node >= 0) {
        gic.desc.version = GicVersion::kV2;
        break;
      }
    }
  }
  if (gic.node < 0) {
    return Err{dt::make_error(DtErrorCode::kMissingNode, "interrupt-controller", nullptr,
                              "no enabled node compatible with arm,gic-v3, arm,gic-400, "
                              "arm,cortex-a15-gic, arm,cortex-a7-gic or arm,cortex-a9-gic")};
  }
  GicDesc& desc = gic.desc;
  const dt::Reg reg = TRY(tree.reg(gic.node));
  size_t next = 0;
  desc.distributor = TRY(gic_frame(tree, reg, next++));
  if (desc.version == GicVersion::kV2) {
    if (reg.count < 2) {
      return Err{tree.error(DtErrorCode::kBadProperty, gic.node, "reg",
                            "a GICv2 needs at least GICD and GICC in reg")};
    }
  } else {
    const uint32_t regions = TRY(tree.u32_or(gic.node, "#redistributor-regions", 1));
    if (regions == 0) {
      return Err{tree.error(DtErrorCode::kBadProperty, gic.node, "#redistributor-regions",
                            "a GICv3 needs at least one redistributor region")};
    }
    if (regions > kMaxRedistributorRegions) {
      return Err{tree.error(DtErrorCode::kTooMany, gic.node, "#redistributor-regions",
                            "more redistributor regions than lamina's table holds "
                            "(kMaxRedistributorRegions)")};
    }
    if (reg.count < 1 + size_t{regions}) {
      return Err{tree.error(DtErrorCode::kBadProperty, gic.node, "reg",
                            "reg has fewer entries than GICD plus #redistributor-regions")};
    }
    for (uint32_t i = 0; i < regions; ++i) {
      desc.redistributors[i] = TRY(gic_frame(tree, reg, next++));
    }
    desc.redistributor_region_count = regions;
  }
  if (next < reg.count) desc.cpu_interface = TRY(gic_frame(tree, reg, next++));
  if (next < reg.count) desc.hyp_interface = TRY(gic_frame(tree, reg, next++));
  if (next < reg.count) desc.vcpu_interface = TRY(gic_frame(tree, reg, next++));

  // 3 cells <type number flags>; GICv3 may add a 4th (PPI partition).
  gic.interrupt_cells = TRY(tree.u32(gic.node, "#interrupt-cells"));
  const uint32_t max_cells = desc.version == GicVersion::kV3 ? 4 : 3;
  if (gic.interrupt_cells < 3 || gic.interrupt_cells > max_cells) {
    return Err{tree.error(DtErrorCode::kUnsupported, gic.node, "#interrupt-cells",
                          "lamina understands 3-cell GIC interrupt specifiers (4 on GICv3)")};
  }

  // The maintenance interrupt is signalled by the GIC to itself.
  dt::Property interrupts;
  if (tree.property(gic.node, "interrupts", &interrupts)) {
    const size_t stride = gic.interrupt_cells * kCellBytes;
    uint32_t intid = 0;
    if (interrupts.size < stride || interrupts.size % stride != 0) {
      return Err{tree.error(DtErrorCode::kBadProperty, gic.node, "interrupts",
                            "expected whole GIC interrupt specifiers")};
    }
    if (!dt::gic_spec_to_intid(dt::read_cell(interrupts.data), dt::read_cell(interrupts.data + kCellBytes),
                               &intid)) {
      return Err{tree.error(DtErrorCode::kBadProperty, gic.node, "interrupts",
                            "the maintenance interrupt is not a valid SPI or PPI")};
    }
    desc.has_maintenance_interrupt = true;
    desc.maintenance_intid = intid;
  }
  return gic;
}

Result<TimerDesc, DtError> read_timer(const DeviceTree& tree, const GicNode& gic) {
  int node = -1;
  for (const char* compatible : kTimerCompatibles) {
    node = tree.first_enabled_compatible(compatible);
    if (node >= 0) break;
  }
  if (node < 0) {
    return Err{dt::make_error(DtErrorCode::kMissingNode, "timer", nullptr,
                              "no enabled node compatible with arm,armv8-timer or "
                              "arm,armv7-timer")};
  }

  const int controller = TRY(tree.interrupt_parent(node));
  const uint32_t cells = TRY(tree.u32(controller, "#interrupt-cells"));
  if (cells != dt::kGicInterruptCells && !(cells == 4 && gic.desc.version == GicVersion::kV3)) {
    return Err{tree.error(DtErrorCode::kUnsupported, node, "interrupts",
                          "the timer's interrupt parent does not take 3-cell GIC specifiers")};
  }
  if (controller != gic.node) {
    return Err{tree.error(DtErrorCode::kUnsupported, node, "interrupt-parent",
                          "the timer's interrupts go to a controller other than the GIC")};
  }

  dt::Property interrupts;
  if (!tree.property(node, "interrupts", &interrupts)) {
    return Err{
        tree.error(DtErrorCode::kMissingProperty, node, "interrupts", "the timer needs its four PPIs")};
  }
  const size_t stride = cells * kCellBytes;
  const size_t count = interrupts.size / stride;
  if (interrupts.size % stride != 0 || count < kTimerRequiredInterrupts || count > kTimerMaxInterrupts) {
    return Err{tree.error(DtErrorCode::kBadProperty, node, "interrupts",
                          "expected 4 or 5 timer interrupt specifiers")};
  }
  uint32_t intids[kTimerRequiredInterrupts] = {};
  for (size_t i = 0; i < kTimerRequiredInterrupts; ++i) {
    const uint8_t* spec = interrupts.data + i * stride;
    if (!dt::gic_spec_to_intid(dt::read_cell(spec), dt::read_cell(spec + kCellBytes), &intids[i])) {
      return Err{tree.error(DtErrorCode::kBadProperty, node, "interrupts",
                            "a timer interrupt is not a valid SPI or PPI")};
    }
  }
  TimerDesc timer;
  timer.present = true;
  timer.secure_phys_intid = intids[0];
  timer.nonsecure_phys_intid = intids[1];
  timer.virt_intid = intids[2];
  timer.hyp_phys_intid = intids[3];
  return timer;
}

// /chosen/stdout-path (DT spec 3.6 "/chosen Node"): a path or alias,
// optionally followed by ":options" (e.g. "serial0:115200n8").
struct ConsoleNode {
  UartDesc desc;
  int node = -1;
};

Result<ConsoleNode, DtError> read_console_node(const DeviceTree& tree) {
  const int chosen = tree.find_path("/chosen");
  const char* property = nullptr;
  dt::Property value;
  if (chosen >= 0) {
    if (tree.property(chosen, "stdout-path", &value)) {
      property = "stdout-path";
    } else if (tree.property(chosen, "linux,stdout-path", &value)) {
      property = "linux,stdout-path";
    }
  }

  int node = -1;
  if (property != nullptr) {
    const auto* text = reinterpret_cast<const char*>(value.data);
    size_t len = strnlen(text, value.size);
    if (len == 0 || len == value.size) {
      return Err{tree.error(DtErrorCode::kBadProperty, chosen, property,
                            "expected a non-empty NUL-terminated path")};
    }
    const auto* colon = static_cast<const char*>(memchr(text, ':', len));
    if (colon != nullptr) len = static_cast<size_t>(colon - text);
    node = TRY(tree.resolve_path(text, len, property));
  } else {
    node = tree.first_enabled_compatible(kPl011Compatible);
    if (node < 0) {
      return Err{dt::make_error(DtErrorCode::kMissingNode, "/chosen", "stdout-path",
                                "no stdout-path, and no enabled arm,pl011 to fall back on")};
    }
  }

  UartDesc uart;
  tree.path(node, uart.path, sizeof(uart.path));
  if (!tree.is_compatible(node, kPl011Compatible)) {
    return Err{tree.error(DtErrorCode::kUnsupported, node, "compatible",
                          "the console is not an arm,pl011, the only UART lamina drives")};
  }
  uart.regs = TRY(tree.reg_range(node, 0));
  uart.kind = UartKind::kPl011;
  return ConsoleNode{uart, node};
}

Result<UartDesc, DtError> read_console(const DeviceTree& tree) {
  const ConsoleNode console = TRY(read_console_node(tree));
  return console.desc;
}

// The console UART's interrupt (its first `interrupts` specifier), if it
// goes to the GIC as an SPI. Binding: interrupt-controller/arm,gic.yaml and
// arm,gic-v3.yaml, <type number flags> with flags[3:0] 1 = edge rising, 4 =
// level high (interrupt-controller/irq.h). Absent, routed elsewhere or a
// PPI: no interrupt (lamina polls). A malformed specifier is an error.
Status<DtError> read_console_interrupt(const DeviceTree& tree, const GicNode& gic, const ConsoleNode& console,
                                       UartDesc* uart) {
  dt::Property interrupts;
  if (!tree.property(console.node, "interrupts", &interrupts)) return Ok{};
  const int controller = TRY(tree.interrupt_parent(console.node));
  if (controller != gic.node) return Ok{};
  const size_t stride = gic.interrupt_cells * kCellBytes;
  if (interrupts.size < stride || interrupts.size % stride != 0) {
    return Err{tree.error(DtErrorCode::kBadProperty, console.node, "interrupts",
                          "expected whole GIC interrupt specifiers")};
  }
  uint32_t intid = 0;
  if (!dt::gic_spec_to_intid(dt::read_cell(interrupts.data), dt::read_cell(interrupts.data + kCellBytes), &intid)) {
    return Err{tree.error(DtErrorCode::kBadProperty, console.node, "interrupts",
                          "the console's interrupt is not a valid SPI or PPI")};
  }
  if (intid < kFirstSpiIntid) return Ok{};
  constexpr uint32_t kEdgeTriggerMask = 0x3;  // IRQ_TYPE_EDGE_RISING | IRQ_TYPE_EDGE_FALLING
  uart->has_interrupt = true;
  uart->intid = intid;
  uart->edge = (dt::read_cell(interrupts.data + 2 * kCellBytes) & kEdgeTriggerMask) != 0;
  return Ok{};
}

const char* read_bootargs(const DeviceTree& tree) {
  const int chosen = tree.find_path("/chosen");
  dt::Property bootargs;
  if (chosen < 0 || !tree.property(chosen, "bootargs", &bootargs)) return nullptr;
  const auto* text = reinterpret_cast<const char*>(bootargs.data);
  if (bootargs.size == 0 || strnlen(text, bootargs.size) == bootargs.size) return nullptr;
  return text;
}

bool any_cpu_uses(const Platform& platform, CpuEnableMethod method) {
  for (size_t i = 0; i < platform.cpu_count; ++i) {
    if (platform.cpus[i].enable_method == method) return true;
  }
  return false;
}

// Bounded string building without snprintf (not available at EL2).
class TextWriter {
 public:
  TextWriter(char* buf, size_t size) : buf_(buf), size_(size) {
    if (size_ != 0) buf_[0] = '\0';
  }
  void put(const char* text, size_t max_len = SIZE_MAX) {
    if (size_ == 0 || text == nullptr) return;
    const size_t room = size_ - 1 - used_;
    size_t len = strnlen(text, max_len < room + 1 ? max_len : room + 1);
    if (len > room) len = room;
    memcpy(buf_ + used_, text, len);
    used_ += len;
    buf_[used_] = '\0';
  }

 private:
  char* buf_;
  size_t size_;
  size_t used_ = 0;
};

}  // namespace

const char* dt_error_code_name(DtErrorCode code) {
  switch (code) {
    case DtErrorCode::kNoBlob:
      return "no blob";
    case DtErrorCode::kBadHeader:
      return "bad header";
    case DtErrorCode::kTooLarge:
      return "too large";
    case DtErrorCode::kMalformed:
      return "malformed structure";
    case DtErrorCode::kMissingNode:
      return "missing node";
    case DtErrorCode::kMissingProperty:
      return "missing property";
    case DtErrorCode::kBadProperty:
      return "bad property";
    case DtErrorCode::kUntranslatable:
      return "untranslatable address";
    case DtErrorCode::kTooMany:
      return "too many entries";
    case DtErrorCode::kUnsupported:
      return "unsupported";
  }
  return "unknown error";
}

void describe_dt_error(const DtError& e, char* buf, size_t buf_size) {
  TextWriter out(buf, buf_size);
  out.put("device tree: ");
  out.put(dt_error_code_name(e.code));
  const bool has_node = e.node[0] != '\0';
  if (has_node || e.property != nullptr) {
    out.put(" (");
    if (has_node) out.put(e.node, sizeof(e.node));
    if (has_node && e.property != nullptr) out.put(", ");
    if (e.property != nullptr) out.put(e.property);
    out.put(")");
  }
  if (e.detail != nullptr) {
    out.put(": ");
    out.put(e.detail);
  }
  if (e.libfdt_error != 0) {
    out.put(" [libfdt: ");
    out.put(fdt_strerror(e.libfdt_error));
    out.put("]");
  }
}

Result<uint64_t, DtError> check_dtb_header(const void* fdt, uint64_t max_size) {
  return dt::check_header(fdt, max_size);
}

Result<Ok, DtError> discover_platform(const void* fdt, mm::PhysAddr fdt_pa, Platform* out) {
  if (out == nullptr) {
    return Err{dt::make_error(DtErrorCode::kNoBlob, "blob", nullptr, "no Platform to fill")};
  }
  const DeviceTree tree = TRY(DeviceTree::open(fdt, kMaxDtbSize));
  new (out) Platform{};
  out->dtb = mm::PhysRange{fdt_pa, tree.total_size()};

  read_model(tree, out);
  TRY(read_memory(tree, out));
  TRY(read_reserved(tree, out));
  TRY(read_cpus(tree, out));

  const PsciNode psci = TRY(read_psci(tree));
  out->psci = psci.desc;
  if (any_cpu_uses(*out, CpuEnableMethod::kPsci)) {
    if (psci.node < 0) {
      return Err{dt::make_error(DtErrorCode::kMissingNode, "/psci", nullptr,
                                "a CPU has enable-method \"psci\" but there is no PSCI node")};
    }
    if (!psci.desc.standard_function_ids && psci.desc.cpu_on_function_id == 0) {
      return Err{tree.error(DtErrorCode::kMissingProperty, psci.node, "cpu_on",
                            "PSCI 0.1 needs cpu_on for CPUs with enable-method \"psci\"")};
    }
  }

  const GicNode gic = TRY(read_gic(tree));
  out->gic = gic.desc;
  out->timer = TRY(read_timer(tree, gic));
  const ConsoleNode console = TRY(read_console_node(tree));
  out->uart = console.desc;
  TRY(read_console_interrupt(tree, gic, console, &out->uart));
  out->bootargs = read_bootargs(tree);
  return Ok{};
}

Result<UartDesc, DtError> find_console_uart(const void* fdt) {
  const DeviceTree tree = TRY(DeviceTree::open(fdt, kMaxDtbSize));
  return read_console(tree);
}

Result<PsciDesc, DtError> find_psci(const void* fdt) {
  const DeviceTree tree = TRY(DeviceTree::open(fdt, kMaxDtbSize));
  const PsciNode psci = TRY(read_psci(tree));
  return psci.desc;
}

}  // namespace lamina::hyp
