#include "hyp/vm/guest_dtb.hpp"

#include <climits>
#include <cstring>
#include <initializer_list>
#include <libfdt.h>
#include <string_view>

#include "hyp/lib/format.hpp"
#include "hyp/lib/psci_abi.hpp"
#include "hyp/platform/device_tree.hpp"
#include "hyp/vm/guest_dtb_error.hpp"

namespace lamina::hyp {

namespace {

using dt::kGicInterruptCells;

// Cell layout of the trees lamina writes: 64-bit addresses and sizes at the
// root, as QEMU virt; CPUs are addressed by one cell (MPIDR Aff0) with no
// size (DT spec 3.7 "/cpus Node Properties").
constexpr uint32_t kRootAddressCells = 2;
constexpr uint32_t kRootSizeCells = 2;
constexpr uint32_t kCpusAddressCells = 1;
constexpr uint32_t kCpusSizeCells = 0;
// Enough for every address/size pair lamina writes (GICv2/v3: two entries).
constexpr size_t kMaxRegEntries = 2;
// libfdt accepts up to four cells for an address or size (FDT_MAX_NCELLS).
constexpr int kMaxCellsPerValue = 4;

// Phandles as QEMU numbers them (from 0x8000), so a tree dumped from lamina
// and one dumped from QEMU read alike.
constexpr uint32_t kPhandleApbPclk = 0x8000;
constexpr uint32_t kPhandleGic = 0x8001;

// SPI numbers 0..987 are INTIDs 32..1019 (GIC IHI 0069 2.2 "INTIDs").
constexpr uint32_t kSpiNumbers = 988;
// PPI numbers 0..15 are INTIDs 16..31.
constexpr uint32_t kPpiNumbers = 16;
// GICv2 PPI specifier flags[15:8]: the CPU interfaces the PPI is wired to
// (arm,gic.yaml, "#interrupt-cells").
constexpr uint32_t kGicV2PpiCpuMaskShift = 8;
constexpr uint32_t kGicV2PpiCpuMask = 0xffu << kGicV2PpiCpuMaskShift;

// String lists: sizeof includes the NUL of the last string, which the
// property value needs (DT spec 2.2.4 "<stringlist>").
constexpr char kRootCompatible[] = "linux,dummy-virt";
constexpr char kPsciCompatible[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";
constexpr char kCpuCompatible[] = "arm,armv8";
constexpr char kTimerCompatible[] = "arm,armv8-timer\0arm,armv7-timer";
constexpr char kFixedClockCompatible[] = "fixed-clock";
constexpr char kApbPclkOutputName[] = "clk24mhz";
constexpr char kPl011Compatible[] = "arm,pl011\0arm,primecell";
constexpr char kPl011ClockNames[] = "uartclk\0apb_pclk";
constexpr char kGicV2Compatible[] = "arm,cortex-a15-gic";
constexpr char kGicV3Compatible[] = "arm,gic-v3";
constexpr char kTestDeviceCompatible[] = "lamina,test-device";
constexpr char kPsciMethodHvc[] = "hvc";
constexpr char kMemoryDeviceType[] = "memory";

// The "arm,psci" (PSCI 0.1) binding takes its function IDs from properties
// (Documentation/devicetree/bindings/arm/psci.yaml). QEMU lists them next to
// the 0.2/1.0 compatibles; lamina does the same, with the IDs its PSCI
// server implements (SMC64 where both exist, as QEMU).
struct PsciIdProperty {
  const char* name;
  uint32_t function_id;
};
constexpr PsciIdProperty kPsciIdProperties[] = {
    {"cpu_suspend", psci::kCpuSuspend64},
    {"cpu_off", psci::kCpuOff},
    {"cpu_on", psci::kCpuOn64},
    {"migrate", psci::kMigrate64},
};
// Compatibles whose function IDs are the standard ones (DEN 0022), in the
// order the PSCI node is looked for in a user's tree.
constexpr const char* kPsciStandardCompatibles[] = {"arm,psci-1.0", "arm,psci-0.2"};
constexpr char kPsciLegacyCompatible[] = "arm,psci";

constexpr int libfdt_size(size_t size) { return size > INT_MAX ? INT_MAX : static_cast<int>(size); }

constexpr uint32_t high_cell(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
constexpr uint32_t low_cell(uint64_t v) { return static_cast<uint32_t>(v); }

GuestDtbError make_error(GuestDtbErrorCode code, const char* what, const char* detail, int libfdt_error = 0) {
  return guest_dtb_detail::error(code, what, detail, libfdt_error);
}

GuestDtbError bad_spec(const char* what, const char* detail) {
  return make_error(GuestDtbErrorCode::kBadSpec, what, detail);
}

// A libfdt failure while writing `what`: running out of room is the
// caller's buffer; anything else is a lamina bug or a hostile user tree.
GuestDtbError write_error(int err, const char* what, GuestDtbErrorCode otherwise) {
  if (err == -FDT_ERR_NOSPACE) {
    return make_error(GuestDtbErrorCode::kBufferTooSmall, what, "the output buffer is too small", err);
  }
  return make_error(otherwise, what, "libfdt refused to write it", err);
}

// A node name with a unit address: "<base>@<address in lower-case hex,
// without 0x or leading zeros>" (DT spec 2.2.1 "Node Names").
class UnitName {
 public:
  UnitName(const char* base, uint64_t address, bool absolute = false) {
    if (absolute) put('/');
    while (*base != '\0') put(*base++);
    put('@');
    char digits[16];
    size_t n = 0;
    do {
      digits[n++] = "0123456789abcdef"[address & 0xf];
      address >>= 4;
    } while (address != 0);
    while (n != 0) put(digits[--n]);
  }
  [[nodiscard]] const char* c_str() const { return text_; }

 private:
  // Truncates rather than overflows; every name lamina makes fits.
  void put(char c) {
    if (len_ + 1 < sizeof(text_)) text_[len_++] = c;
  }

  // "/test-device@" + 16 digits fits.
  char text_[40] = {};
  size_t len_ = 0;
};

// The length of a string property's value (with its NUL) as libfdt wants
// it; libfdt's fdt_property_string/fdt_setprop_string macros narrow
// strlen() to int silently.
int string_property_size(const char* value) { return libfdt_size(strlen(value) + 1); }

// Big-endian cells for a property value.
template <size_t N>
class Cells {
 public:
  void push(uint32_t v) {
    if (count_ < N) raw_[count_++] = cpu_to_fdt32(v);
  }
  void push64(uint64_t v) {
    push(high_cell(v));
    push(low_cell(v));
  }
  [[nodiscard]] const void* data() const { return raw_; }
  [[nodiscard]] int bytes() const { return static_cast<int>(count_ * sizeof(fdt32_t)); }

 private:
  fdt32_t raw_[N] = {};
  size_t count_ = 0;
};

struct IpaRange {
  mm::IntermediatePhysAddr base;
  uint64_t size;
};

// libfdt's sequential-write API with the first error kept: once a call
// fails nothing more is written, and finish() reports that error with the
// node it happened in.
class TreeWriter {
 public:
  explicit TreeWriter(void* fdt) : fdt_(fdt) {}

  void begin(const char* name) {
    if (err_ != 0) return;
    node_ = name[0] == '\0' ? "/" : name;
    step(fdt_begin_node(fdt_, name));
  }
  void end() { step(fdt_end_node(fdt_)); }

  void bytes(const char* name, const void* value, int len) { step(fdt_property(fdt_, name, value, len)); }
  template <size_t N>
  void strings(const char* name, const char (&list)[N]) {
    bytes(name, list, static_cast<int>(N));
  }
  void string(const char* name, const char* value) { bytes(name, value, string_property_size(value)); }
  void empty(const char* name) {
    void* unused = nullptr;
    step(fdt_property_placeholder(fdt_, name, 0, &unused));
  }
  void u32(const char* name, uint32_t value) { step(fdt_property_u32(fdt_, name, value)); }
  void u64(const char* name, uint64_t value) { step(fdt_property_u64(fdt_, name, value)); }
  template <size_t N>
  void cells(const char* name, const Cells<N>& value) {
    bytes(name, value.data(), value.bytes());
  }
  // `reg` with the root's 2 address + 2 size cells.
  void reg(std::initializer_list<IpaRange> entries) {
    Cells<kMaxRegEntries*(kRootAddressCells + kRootSizeCells)> value;
    for (const IpaRange& r : entries) {
      value.push64(r.base.value());
      value.push64(r.size);
    }
    cells("reg", value);
  }

  [[nodiscard]] Result<Ok, GuestDtbError> status() const {
    if (err_ == 0) return Ok{};
    return Err{write_error(err_, node_, GuestDtbErrorCode::kLibfdt)};
  }

 private:
  void step(int err) {
    if (err_ == 0 && err < 0) err_ = err;
  }

  void* fdt_;
  int err_ = 0;
  const char* node_ = "header";
};

// --- validation -----------------------------------------------------------

Result<Ok, GuestDtbError> check_buffer(const void* out) {
  if (out == nullptr) {
    return Err{make_error(GuestDtbErrorCode::kBadBuffer, "out", "the output buffer is null")};
  }
  // libfdt refuses blobs that are not 8-byte aligned (FDT_ERR_ALIGNMENT),
  // and so does Documentation/arch/arm64/booting.rst for the blob in x0.
  if (reinterpret_cast<uintptr_t>(out) % 8 != 0) {
    return Err{make_error(GuestDtbErrorCode::kBadBuffer, "out", "the output buffer is not 8-byte aligned")};
  }
  return Ok{};
}

// RAM and initrd: the part of the spec both build and patch use.
Result<Ok, GuestDtbError> validate_memory(const GuestDtbSpec& spec) {
  uint64_t ram_end = 0;
  if (spec.ram_size == 0) return Err{bad_spec("ram_size", "the guest has no RAM")};
  if (!spec.ram_base.is_aligned(mm::kPageSize) || !mm::is_aligned(spec.ram_size, mm::kPageSize)) {
    return Err{bad_spec("ram_base", "guest RAM must start and end on a 4 KiB boundary")};
  }
  if (!mm::checked_add(spec.ram_base.value(), spec.ram_size, &ram_end)) {
    return Err{bad_spec("ram_size", "guest RAM wraps around the 64-bit address space")};
  }
  if (spec.initrd_size != 0) {
    uint64_t initrd_end = 0;
    if (!mm::checked_add(spec.initrd.value(), spec.initrd_size, &initrd_end) || spec.initrd < spec.ram_base ||
        initrd_end > ram_end) {
      return Err{bad_spec("initrd", "the initrd is not inside guest RAM")};
    }
  }
  return Ok{};
}

Result<Ok, GuestDtbError> validate_gic(const GuestDtbSpec& spec) {
  const GuestGicSpec& gic = spec.gic;
  switch (gic.version) {
    case GicVersion::kNone:
      return Ok{};
    case GicVersion::kV2:
      if (spec.vcpus > kGuestDtbMaxVcpusGicV2) {
        return Err{bad_spec("vcpus", "a GICv2 has at most 8 CPU interfaces")};
      }
      if (gic.distributor_size == 0 || gic.cpu_interface_size == 0) {
        return Err{bad_spec("gic", "a GICv2 needs its distributor and CPU interface frames")};
      }
      return Ok{};
    case GicVersion::kV3:
      if (gic.distributor_size == 0 || gic.redistributors_size == 0) {
        return Err{bad_spec("gic", "a GICv3 needs its distributor and redistributor frames")};
      }
      return Ok{};
  }
  return Err{bad_spec("gic", "unknown GIC version")};
}

Result<Ok, GuestDtbError> validate(const GuestDtbSpec& spec) {
  TRY(validate_memory(spec));
  if (spec.vcpus == 0 || spec.vcpus > kGuestDtbMaxVcpus) {
    return Err{bad_spec("vcpus", "a guest has 1 to 256 vCPUs (MPIDR Aff0)")};
  }
  if (!spec.uart.is_aligned(kGuestPl011Size)) {
    return Err{bad_spec("uart", "the PL011 frame must be 4 KiB aligned")};
  }
  if (spec.uart_spi >= kSpiNumbers) return Err{bad_spec("uart_spi", "SPI numbers are 0 to 987")};
  for (const GicInterruptSpecifier& irq : spec.timer) {
    // The architected timer's interrupts are PPIs (arm,arch_timer.yaml).
    if (irq.type != kGicSpecifierPpi || irq.number >= kPpiNumbers) {
      return Err{bad_spec("timer", "every timer interrupt must be a PPI (type 1, number 0 to 15)")};
    }
  }
  if (spec.has_test_device && !spec.test_device.is_aligned(kGuestTestDeviceSize)) {
    return Err{bad_spec("test_device", "the test device must be 4 KiB aligned")};
  }
  TRY(validate_gic(spec));
  return Ok{};
}

// --- build ------------------------------------------------------------------

void write_psci(TreeWriter& w) {
  w.begin("psci");
  w.strings("compatible", kPsciCompatible);
  w.strings("method", kPsciMethodHvc);
  for (const PsciIdProperty& p : kPsciIdProperties) w.u32(p.name, p.function_id);
  w.end();
}

void write_cpus(TreeWriter& w, uint32_t vcpus) {
  w.begin("cpus");
  w.u32("#address-cells", kCpusAddressCells);
  w.u32("#size-cells", kCpusSizeCells);
  for (uint32_t i = 0; i < vcpus; ++i) {
    const UnitName name("cpu", i);
    w.begin(name.c_str());
    w.string("device_type", "cpu");
    w.strings("compatible", kCpuCompatible);
    w.u32("reg", i);
    w.string("enable-method", "psci");
    w.end();
  }
  w.end();
}

void write_timer(TreeWriter& w, const GuestDtbSpec& spec) {
  Cells<kTimerInterrupts * kGicInterruptCells> interrupts;
  for (const GicInterruptSpecifier& irq : spec.timer) {
    uint32_t flags = irq.flags;
    if (spec.gic.version == GicVersion::kV2) {
      // The guest's PPIs reach its vCPUs' interfaces, not the host's CPUs.
      flags = (flags & ~kGicV2PpiCpuMask) | (((1u << spec.vcpus) - 1) << kGicV2PpiCpuMaskShift);
    }
    interrupts.push(irq.type);
    interrupts.push(irq.number);
    interrupts.push(flags);
  }
  w.begin("timer");
  w.strings("compatible", kTimerCompatible);
  w.cells("interrupts", interrupts);
  // The counter keeps running in every power state lamina offers.
  w.empty("always-on");
  w.end();
}

void write_uart(TreeWriter& w, const GuestDtbSpec& spec, const char* name) {
  Cells<kGicInterruptCells> interrupts;
  interrupts.push(kGicSpecifierSpi);
  interrupts.push(spec.uart_spi);
  interrupts.push(kGicSpecifierLevelHigh);
  Cells<2> clocks;
  clocks.push(kPhandleApbPclk);  // uartclk
  clocks.push(kPhandleApbPclk);  // apb_pclk
  w.begin(name);
  w.strings("compatible", kPl011Compatible);
  w.reg({{spec.uart, kGuestPl011Size}});
  w.cells("interrupts", interrupts);
  w.cells("clocks", clocks);
  w.strings("clock-names", kPl011ClockNames);
  w.end();
}

void write_gic(TreeWriter& w, const GuestGicSpec& gic, bool passthrough) {
  const UnitName name("intc", gic.distributor.value());
  w.begin(name.c_str());
  // Said explicitly for the copied interrupt-maps, which carry the parent's
  // unit address in this many cells (DT spec 2.4.3.1 "interrupt-map").
  if (passthrough) w.u32("#address-cells", 0);
  if (gic.version == GicVersion::kV2) {
    w.strings("compatible", kGicV2Compatible);
    w.reg({{gic.distributor, gic.distributor_size}, {gic.cpu_interface, gic.cpu_interface_size}});
  } else {
    w.strings("compatible", kGicV3Compatible);
    w.u32("#redistributor-regions", 1);
    w.reg({{gic.distributor, gic.distributor_size}, {gic.redistributors, gic.redistributors_size}});
  }
  w.u32("#interrupt-cells", kGicInterruptCells);
  w.empty("interrupt-controller");
  w.u32("phandle", kPhandleGic);
  w.end();
}

}  // namespace

Result<size_t, GuestDtbError> build_guest_dtb(const GuestDtbSpec& spec, void* out, size_t out_size) {
  TRY(check_buffer(out));
  TRY(validate(spec));

  int err = fdt_create(out, libfdt_size(out_size));
  if (err == 0) err = fdt_finish_reservemap(out);
  if (err != 0) return Err{write_error(err, "header", GuestDtbErrorCode::kLibfdt)};

  const UnitName uart_name("pl011", spec.uart.value());
  const UnitName uart_path("pl011", spec.uart.value(), /*absolute=*/true);

  TreeWriter w(out);
  w.begin("");
  if (spec.gic.version != GicVersion::kNone) w.u32("interrupt-parent", kPhandleGic);
  w.strings("model", kRootCompatible);
  w.strings("compatible", kRootCompatible);
  w.u32("#address-cells", kRootAddressCells);
  w.u32("#size-cells", kRootSizeCells);
  TRY(w.status());
  TRY(write_passthrough_nodes(spec, out, kPhandleGic, kPhandleApbPclk));

  write_psci(w);

  const UnitName memory_name("memory", spec.ram_base.value());
  w.begin(memory_name.c_str());
  w.strings("device_type", kMemoryDeviceType);
  w.reg({{spec.ram_base, spec.ram_size}});
  w.end();

  write_cpus(w, spec.vcpus);
  write_timer(w, spec);

  w.begin("apb-pclk");
  w.strings("compatible", kFixedClockCompatible);
  w.u32("#clock-cells", 0);
  w.u32("clock-frequency", qemu_virt::kApbPclkHz);
  w.strings("clock-output-names", kApbPclkOutputName);
  w.u32("phandle", kPhandleApbPclk);
  w.end();

  write_uart(w, spec, uart_name.c_str());
  const bool passthrough = spec.passthrough != nullptr && !spec.passthrough->empty();
  if (spec.gic.version != GicVersion::kNone) write_gic(w, spec.gic, passthrough);

  if (spec.has_test_device) {
    const UnitName name("test-device", spec.test_device.value());
    w.begin(name.c_str());
    w.strings("compatible", kTestDeviceCompatible);
    w.reg({{spec.test_device, kGuestTestDeviceSize}});
    w.end();
  }

  w.begin("aliases");
  w.string("serial0", uart_path.c_str());
  w.end();

  w.begin("chosen");
  w.string("stdout-path", uart_path.c_str());
  if (spec.bootargs != nullptr) w.string("bootargs", spec.bootargs);
  if (spec.initrd_size != 0) {
    // 64-bit values, as QEMU writes them with 2 root address cells; Linux
    // reads either width (drivers/of/fdt.c early_init_dt_check_for_initrd).
    w.u64("linux,initrd-start", spec.initrd.value());
    w.u64("linux,initrd-end", spec.initrd.value() + spec.initrd_size);
  }
  w.end();

  w.end();  // root
  TRY(w.status());

  err = fdt_finish(out);
  if (err != 0) return Err{write_error(err, "end of tree", GuestDtbErrorCode::kLibfdt)};
  return static_cast<size_t>(fdt_totalsize(out));
}

// --- patch ------------------------------------------------------------------

namespace {

// Encodes `value` in `cells` big-endian cells (1..4); false if it does not fit.
bool encode_cells(uint64_t value, int cells, Cells<2 * kMaxCellsPerValue>* out) {
  if (cells < 1 || cells > kMaxCellsPerValue) return false;
  if (cells == 1 && value > UINT32_MAX) return false;
  for (int i = cells; i > 2; --i) out->push(0);
  if (cells >= 2) out->push(high_cell(value));
  out->push(low_cell(value));
  return true;
}

Result<Ok, GuestDtbError> replace_memory(void* fdt, const GuestDtbSpec& spec) {
  // Deleting a node moves every later one, so look again from the start
  // each time; each pass removes a node, so the loop ends.
  for (;;) {
    const int node =
        fdt_node_offset_by_prop_value(fdt, -1, "device_type", kMemoryDeviceType, sizeof(kMemoryDeviceType));
    if (node == -FDT_ERR_NOTFOUND) break;
    if (node < 0) return Err{write_error(node, "memory node", GuestDtbErrorCode::kBadUserDtb)};
    if (node == dt::kRootNode) {
      return Err{make_error(GuestDtbErrorCode::kBadUserDtb, "/", "the root node has device_type \"memory\"")};
    }
    const int err = fdt_del_node(fdt, node);
    if (err != 0) return Err{write_error(err, "memory node", GuestDtbErrorCode::kBadUserDtb)};
  }

  const int address_cells = fdt_address_cells(fdt, dt::kRootNode);
  const int size_cells = fdt_size_cells(fdt, dt::kRootNode);
  Cells<2 * kMaxCellsPerValue> reg;
  if (address_cells < 0 || size_cells < 0 || !encode_cells(spec.ram_base.value(), address_cells, &reg) ||
      !encode_cells(spec.ram_size, size_cells, &reg)) {
    return Err{make_error(GuestDtbErrorCode::kBadUserDtb, "/",
                          "the root's #address-cells/#size-cells cannot describe the guest's RAM")};
  }
  const UnitName name("memory", spec.ram_base.value());
  const int node = fdt_add_subnode(fdt, dt::kRootNode, name.c_str());
  if (node < 0) return Err{write_error(node, "memory node", GuestDtbErrorCode::kBadUserDtb)};
  int err = fdt_setprop(fdt, node, "device_type", kMemoryDeviceType, sizeof(kMemoryDeviceType));
  if (err == 0) err = fdt_setprop(fdt, node, "reg", reg.data(), reg.bytes());
  if (err != 0) return Err{write_error(err, "memory node", GuestDtbErrorCode::kLibfdt)};
  return Ok{};
}

// A node at the root named `name`, created if absent.
Result<int, GuestDtbError> root_child(void* fdt, const char* name, const char* what) {
  int node = fdt_subnode_offset(fdt, dt::kRootNode, name);
  if (node == -FDT_ERR_NOTFOUND) node = fdt_add_subnode(fdt, dt::kRootNode, name);
  if (node < 0) return Err{write_error(node, what, GuestDtbErrorCode::kBadUserDtb)};
  return node;
}

Result<Ok, GuestDtbError> patch_chosen(void* fdt, const GuestDtbSpec& spec) {
  const int chosen = TRY(root_child(fdt, "chosen", "/chosen"));
  int err = 0;
  if (spec.bootargs != nullptr)
    err = fdt_setprop(fdt, chosen, "bootargs", spec.bootargs, string_property_size(spec.bootargs));
  if (err == 0 && spec.initrd_size != 0) {
    err = fdt_setprop_u64(fdt, chosen, "linux,initrd-start", spec.initrd.value());
    if (err == 0)
      err = fdt_setprop_u64(fdt, chosen, "linux,initrd-end", spec.initrd.value() + spec.initrd_size);
  } else if (err == 0) {
    // The user's values point at nothing lamina placed.
    for (const char* name : {"linux,initrd-start", "linux,initrd-end"}) {
      const int del = fdt_delprop(fdt, chosen, name);
      if (del != 0 && del != -FDT_ERR_NOTFOUND) err = del;
    }
  }
  if (err != 0) return Err{write_error(err, "/chosen", GuestDtbErrorCode::kLibfdt)};
  return Ok{};
}

Result<Ok, GuestDtbError> patch_psci(void* fdt) {
  int node = -FDT_ERR_NOTFOUND;
  bool standard_ids = false;
  for (const char* compat : kPsciStandardCompatibles) {
    node = fdt_node_offset_by_compatible(fdt, -1, compat);
    if (node >= 0) {
      standard_ids = true;
      break;
    }
  }
  if (node < 0) node = fdt_node_offset_by_compatible(fdt, -1, kPsciLegacyCompatible);
  bool created = false;
  if (node < 0) {
    node = fdt_subnode_offset(fdt, dt::kRootNode, "psci");
    if (node == -FDT_ERR_NOTFOUND) {
      node = TRY(root_child(fdt, "psci", "/psci"));
      created = true;
    }
  }
  if (node < 0) return Err{write_error(node, "/psci", GuestDtbErrorCode::kBadUserDtb)};

  int err = 0;
  if (created) err = fdt_setprop(fdt, node, "compatible", kPsciCompatible, sizeof(kPsciCompatible));
  // lamina serves PSCI over HVC (it traps SMC too, but a guest of a
  // hypervisor calls its PSCI with HVC: psci.yaml, "method").
  if (err == 0) err = fdt_setprop(fdt, node, "method", kPsciMethodHvc, sizeof(kPsciMethodHvc));
  // A PSCI 0.1 guest calls the IDs in these properties: they must be the
  // ones lamina answers. With 0.2+ they are unused; existing ones are still
  // corrected so that the tree does not contradict itself.
  for (const PsciIdProperty& p : kPsciIdProperties) {
    if (err != 0) break;
    if (created || !standard_ids || fdt_getprop(fdt, node, p.name, nullptr) != nullptr) {
      err = fdt_setprop_u32(fdt, node, p.name, p.function_id);
    }
  }
  if (err != 0) return Err{write_error(err, "/psci", GuestDtbErrorCode::kLibfdt)};
  return Ok{};
}

bool overlaps(const void* a, size_t a_size, const void* b, size_t b_size) {
  const auto a0 = reinterpret_cast<uintptr_t>(a);
  const auto b0 = reinterpret_cast<uintptr_t>(b);
  return a_size != 0 && b_size != 0 && a0 < b0 + b_size && b0 < a0 + a_size;
}

}  // namespace

Result<size_t, GuestDtbError> patch_guest_dtb(const void* user_dtb, size_t user_size,
                                              const GuestDtbSpec& spec, void* out, size_t out_size) {
  TRY(check_buffer(out));
  TRY(validate_memory(spec));
  if (user_dtb == nullptr) {
    return Err{make_error(GuestDtbErrorCode::kBadUserDtb, "user DTB", "the user DTB pointer is null")};
  }
  if (overlaps(user_dtb, user_size, out, out_size)) {
    return Err{make_error(GuestDtbErrorCode::kBadBuffer, "out", "the output buffer overlaps the user DTB")};
  }
  // The whole structure block is checked before anything reads it: the
  // blob comes from whoever wrote the VM description.
  int err = fdt_check_full(user_dtb, user_size);
  if (err != 0) {
    return Err{
        make_error(GuestDtbErrorCode::kBadUserDtb, "user DTB", "libfdt's full check rejected it", err)};
  }
  err = fdt_open_into(user_dtb, out, libfdt_size(out_size));
  if (err != 0) return Err{write_error(err, "user DTB", GuestDtbErrorCode::kBadUserDtb)};

  TRY(replace_memory(out, spec));
  TRY(patch_chosen(out, spec));
  TRY(patch_psci(out));
  TRY(prune_user_devices(spec, out));
  TRY(patch_user_cpus(spec, out));
  TRY(patch_user_gic(spec, out));

  err = fdt_pack(out);
  if (err != 0) return Err{write_error(err, "user DTB", GuestDtbErrorCode::kLibfdt)};
  return static_cast<size_t>(fdt_totalsize(out));
}

// --- the host's timer ---------------------------------------------------------

Result<TimerInterrupts, GuestDtbError> host_timer_interrupts(const void* host_fdt) {
  const auto tree = dt::DeviceTree::open(host_fdt, kMaxDtbSize);
  if (!tree.ok()) {
    return Err{make_error(GuestDtbErrorCode::kBadHostDtb, "host DTB", "the host DTB is not valid",
                          tree.error().libfdt_error)};
  }
  const dt::DeviceTree& dt = tree.value();
  int node = dt.first_enabled_compatible("arm,armv8-timer");
  if (node < 0) node = dt.first_enabled_compatible("arm,armv7-timer");
  if (node < 0) {
    return Err{make_error(GuestDtbErrorCode::kBadHostDtb, "timer",
                          "no enabled arm,armv8-timer or arm,armv7-timer node")};
  }
  const auto parent = dt.interrupt_parent(node);
  if (!parent.ok() || dt.u32_or(parent.value(), "#interrupt-cells", 0).value_or(0) != kGicInterruptCells) {
    return Err{make_error(GuestDtbErrorCode::kBadHostDtb, "timer",
                          "the timer's interrupt parent does not take 3-cell GIC specifiers")};
  }
  dt::Property interrupts;
  constexpr size_t kSpecifierBytes = kGicInterruptCells * sizeof(fdt32_t);
  // The binding allows a fifth interrupt (the EL2 virtual timer).
  if (!dt.property(node, "interrupts", &interrupts) ||
      (interrupts.size != kTimerInterrupts * kSpecifierBytes &&
       interrupts.size != (kTimerInterrupts + 1) * kSpecifierBytes)) {
    return Err{
        make_error(GuestDtbErrorCode::kBadHostDtb, "timer", "expected 4 or 5 timer interrupt specifiers")};
  }
  TimerInterrupts out{};
  for (size_t i = 0; i < kTimerInterrupts; ++i) {
    const uint8_t* p = interrupts.data + i * kSpecifierBytes;
    out[i] = {dt::read_cell(p), dt::read_cell(p + 4), dt::read_cell(p + 8)};
  }
  return out;
}

// --- errors -------------------------------------------------------------------

const char* guest_dtb_error_code_name(GuestDtbErrorCode code) {
  switch (code) {
    case GuestDtbErrorCode::kBadBuffer:
      return "bad output buffer";
    case GuestDtbErrorCode::kBufferTooSmall:
      return "output buffer too small";
    case GuestDtbErrorCode::kBadSpec:
      return "bad VM description";
    case GuestDtbErrorCode::kBadUserDtb:
      return "bad user DTB";
    case GuestDtbErrorCode::kBadHostDtb:
      return "bad host DTB";
    case GuestDtbErrorCode::kLibfdt:
      return "libfdt error";
  }
  return "unknown error";
}

void describe_guest_dtb_error(const GuestDtbError& e, char* buf, size_t buf_size) {
  fmt::Buffer out(buf, buf_size);
  out.put(std::string_view("guest DTB: "));
  out.put(std::string_view(guest_dtb_error_code_name(e.code)));
  if (e.what != nullptr) {
    out.put(std::string_view(" ("));
    out.put(std::string_view(e.what));
    out.put(')');
  }
  if (e.detail != nullptr) {
    out.put(std::string_view(": "));
    out.put(std::string_view(e.detail));
  }
  if (e.libfdt_error != 0) {
    out.put(std::string_view(" [libfdt: "));
    out.put(std::string_view(fdt_strerror(e.libfdt_error)));
    out.put(']');
  }
}

}  // namespace lamina::hyp
