// The guest device tree: build_guest_dtb() from scratch, patch_guest_dtb()
// on a user's DTB (tests/fixtures/guest_dtb/user.dts) and
// host_timer_interrupts() on QEMU and Raspberry Pi 4 host DTBs.
//
// Expected values come from the bindings and from QEMU virt's own tree
// (tests/fixtures/dtb/qemu-virt-*.dtb, dumped by QEMU 10.0.2), never from
// the code under test: every node and property of a built tree is listed
// here and checked byte for byte.
#include "hyp/vm/guest_dtb.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <gtest/gtest.h>
#include <initializer_list>
#include <libfdt.h>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fakes/dtb_blob.hpp"

namespace lamina::hyp {
namespace {

using test::Dtb;

// --- reading a tree back ------------------------------------------------------

// A property value as bytes; nullopt when the node or property is absent.
std::optional<std::string> prop(const void* fdt, const char* path, const char* name) {
  const int node = fdt_path_offset(fdt, path);
  if (node < 0) return std::nullopt;
  int len = 0;
  const void* value = fdt_getprop(fdt, node, name, &len);
  if (value == nullptr) return std::nullopt;
  return std::string(static_cast<const char*>(value), static_cast<size_t>(len));
}

// The bytes of a string list: each string followed by its NUL.
std::string strs(std::initializer_list<const char*> list) {
  std::string out;
  for (const char* s : list) {
    out += s;
    out.push_back('\0');
  }
  return out;
}

// The bytes of big-endian cells.
std::string cells(std::initializer_list<uint32_t> values) {
  std::string out;
  for (uint32_t v : values) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return out;
}

std::string u64_cells(uint64_t v) {
  return cells({static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)});
}

// Every node's path, in tree order.
std::vector<std::string> node_paths(const void* fdt) {
  std::vector<std::string> out;
  int depth = 0;
  for (int node = fdt_next_node(fdt, -1, &depth); node >= 0; node = fdt_next_node(fdt, node, &depth)) {
    char path[256];
    EXPECT_EQ(fdt_get_path(fdt, node, path, sizeof(path)), 0);
    out.emplace_back(path);
  }
  return out;
}

std::set<std::string> node_set(const void* fdt) {
  const std::vector<std::string> paths = node_paths(fdt);
  return {paths.begin(), paths.end()};
}

// name -> value of every property of the node at `path`.
std::map<std::string, std::string> props(const void* fdt, const char* path) {
  std::map<std::string, std::string> out;
  const int node = fdt_path_offset(fdt, path);
  EXPECT_GE(node, 0) << path;
  int offset = 0;
  fdt_for_each_property_offset(offset, fdt, node) {
    const char* name = nullptr;
    int len = 0;
    const void* value = fdt_getprop_by_offset(fdt, offset, &name, &len);
    out[name] = std::string(static_cast<const char*>(value), static_cast<size_t>(len));
  }
  return out;
}

// A zeroed, 8-byte aligned output buffer of exactly `bytes` bytes (rounded up to 8).
struct OutBuffer {
  explicit OutBuffer(size_t bytes) : words((bytes + 7) / 8, 0) {}
  void* data() { return words.data(); }
  [[nodiscard]] const void* data() const { return words.data(); }
  std::vector<uint64_t> words;
};

std::string describe(const GuestDtbError& e) {
  char buf[256];
  describe_guest_dtb_error(e, buf, sizeof(buf));
  return buf;
}

// The tree built for `spec` into a 64 KiB buffer; fails the test on error.
OutBuffer build_ok(const GuestDtbSpec& spec, size_t* size = nullptr) {
  OutBuffer out(65536);
  const auto r = build_guest_dtb(spec, out.data(), 65536);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error()));
  if (r.ok()) {
    EXPECT_EQ(r.value(), fdt_totalsize(out.data()));
    EXPECT_EQ(fdt_check_full(out.data(), r.value()), 0);
    if (size != nullptr) *size = r.value();
  }
  return out;
}

void expect_error(const GuestDtbError& e, GuestDtbErrorCode code, const char* what) {
  EXPECT_EQ(static_cast<int>(e.code), static_cast<int>(code)) << describe(e);
  EXPECT_STREQ(e.what, what) << describe(e);
  EXPECT_NE(e.detail, nullptr);
}

// issue 4's guest: 2 vCPUs, 256 MiB at 1 GiB, no GIC, an initrd, bootargs.
GuestDtbSpec basic_spec() {
  GuestDtbSpec spec;
  spec.ram_base = mm::IntermediatePhysAddr(0x40000000);
  spec.ram_size = 256ull << 20;
  spec.vcpus = 2;
  spec.bootargs = "console=ttyAMA0 earlycon";
  spec.initrd = mm::IntermediatePhysAddr(0x48000000);
  spec.initrd_size = 0x123456;
  spec.uart = mm::IntermediatePhysAddr(0x09000000);
  spec.uart_spi = 1;
  spec.timer = {{{1, 13, 4}, {1, 14, 4}, {1, 11, 4}, {1, 10, 4}}};
  return spec;
}

// --- build_guest_dtb ----------------------------------------------------------

TEST(GuestDtbBuildTest, EveryNodeAndPropertyOfAGuestWithoutGic) {
  const OutBuffer out = build_ok(basic_spec());
  const void* fdt = out.data();

  EXPECT_EQ(node_paths(fdt),
            (std::vector<std::string>{"/", "/psci", "/memory@40000000", "/cpus", "/cpus/cpu@0", "/cpus/cpu@1",
                                      "/timer", "/apb-pclk", "/pl011@9000000", "/aliases", "/chosen"}));
  using Props = std::map<std::string, std::string>;
  // No GIC: no interrupt-parent.
  EXPECT_EQ(props(fdt, "/"), (Props{{"model", strs({"linux,dummy-virt"})},
                                    {"compatible", strs({"linux,dummy-virt"})},
                                    {"#address-cells", cells({2})},
                                    {"#size-cells", cells({2})}}));
  // DEN 0022 function IDs: CPU_SUSPEND/CPU_ON/MIGRATE SMC64, CPU_OFF SMC32.
  EXPECT_EQ(props(fdt, "/psci"), (Props{{"compatible", strs({"arm,psci-1.0", "arm,psci-0.2", "arm,psci"})},
                                        {"method", strs({"hvc"})},
                                        {"cpu_suspend", cells({0xc4000001})},
                                        {"cpu_off", cells({0x84000002})},
                                        {"cpu_on", cells({0xc4000003})},
                                        {"migrate", cells({0xc4000005})}}));
  EXPECT_EQ(props(fdt, "/memory@40000000"),
            (Props{{"device_type", strs({"memory"})}, {"reg", cells({0, 0x40000000, 0, 0x10000000})}}));
  EXPECT_EQ(props(fdt, "/cpus"), (Props{{"#address-cells", cells({1})}, {"#size-cells", cells({0})}}));
  for (uint32_t i = 0; i < 2; ++i) {
    const std::string path = "/cpus/cpu@" + std::to_string(i);
    EXPECT_EQ(props(fdt, path.c_str()), (Props{{"device_type", strs({"cpu"})},
                                               {"compatible", strs({"arm,armv8"})},
                                               {"reg", cells({i})},
                                               {"enable-method", strs({"psci"})}}))
        << path;
  }
  EXPECT_EQ(props(fdt, "/timer"), (Props{{"compatible", strs({"arm,armv8-timer", "arm,armv7-timer"})},
                                         {"interrupts", cells({1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4})},
                                         {"always-on", ""}}));
  EXPECT_EQ(props(fdt, "/apb-pclk"), (Props{{"compatible", strs({"fixed-clock"})},
                                            {"#clock-cells", cells({0})},
                                            {"clock-frequency", cells({24000000})},
                                            {"clock-output-names", strs({"clk24mhz"})},
                                            {"phandle", cells({0x8000})}}));
  EXPECT_EQ(props(fdt, "/pl011@9000000"), (Props{{"compatible", strs({"arm,pl011", "arm,primecell"})},
                                                 {"reg", cells({0, 0x09000000, 0, 0x1000})},
                                                 {"interrupts", cells({0, 1, 4})},
                                                 {"clocks", cells({0x8000, 0x8000})},
                                                 {"clock-names", strs({"uartclk", "apb_pclk"})}}));
  EXPECT_EQ(props(fdt, "/aliases"), (Props{{"serial0", strs({"/pl011@9000000"})}}));
  EXPECT_EQ(props(fdt, "/chosen"), (Props{{"stdout-path", strs({"/pl011@9000000"})},
                                          {"bootargs", strs({"console=ttyAMA0 earlycon"})},
                                          {"linux,initrd-start", u64_cells(0x48000000)},
                                          {"linux,initrd-end", u64_cells(0x48123456)}}));
  // No memory reservations.
  EXPECT_EQ(fdt_num_mem_rsv(fdt), 0);
}

TEST(GuestDtbBuildTest, WithoutBootargsOrInitrdChosenHasOnlyStdoutPath) {
  GuestDtbSpec spec = basic_spec();
  spec.bootargs = nullptr;
  spec.initrd_size = 0;
  const OutBuffer out = build_ok(spec);
  EXPECT_EQ(props(out.data(), "/chosen"),
            (std::map<std::string, std::string>{{"stdout-path", strs({"/pl011@9000000"})}}));
}

TEST(GuestDtbBuildTest, OneCpuPerVcpuWithAff0AsReg) {
  GuestDtbSpec spec = basic_spec();
  spec.vcpus = 17;
  const OutBuffer out = build_ok(spec);
  for (uint32_t i = 0; i < 17; ++i) {
    char path[32];
    snprintf(path, sizeof(path), "/cpus/cpu@%x", i);  // unit address in hex: cpu@10 is vCPU 16
    EXPECT_EQ(prop(out.data(), path, "reg"), cells({i})) << path;
  }
  EXPECT_EQ(fdt_path_offset(out.data(), "/cpus/cpu@11"), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(fdt_path_offset(out.data(), "/cpus/cpu@17"), -FDT_ERR_NOTFOUND);
}

TEST(GuestDtbBuildTest, MovedUartAndSpiAndTestDevice) {
  GuestDtbSpec spec = basic_spec();
  spec.uart = mm::IntermediatePhysAddr(0x1c090000);
  spec.uart_spi = 37;
  spec.has_test_device = true;
  spec.test_device = mm::IntermediatePhysAddr(0x0b000000);
  const OutBuffer out = build_ok(spec);
  EXPECT_EQ(prop(out.data(), "/pl011@1c090000", "reg"), cells({0, 0x1c090000, 0, 0x1000}));
  EXPECT_EQ(prop(out.data(), "/pl011@1c090000", "interrupts"), cells({0, 37, 4}));
  EXPECT_EQ(prop(out.data(), "/chosen", "stdout-path"), strs({"/pl011@1c090000"}));
  EXPECT_EQ(prop(out.data(), "/aliases", "serial0"), strs({"/pl011@1c090000"}));
  EXPECT_EQ(props(out.data(), "/test-device@b000000"),
            (std::map<std::string, std::string>{{"compatible", strs({"lamina,test-device"})},
                                                {"reg", cells({0, 0x0b000000, 0, 0x1000})}}));
}

TEST(GuestDtbBuildTest, RamAboveFourGiB) {
  GuestDtbSpec spec = basic_spec();
  spec.ram_base = mm::IntermediatePhysAddr(0x8000000000);
  spec.ram_size = 0x140000000;  // 5 GiB
  spec.initrd = mm::IntermediatePhysAddr(0x8100000000);
  const OutBuffer out = build_ok(spec);
  EXPECT_EQ(prop(out.data(), "/memory@8000000000", "reg"), cells({0x80, 0, 1, 0x40000000}));
  EXPECT_EQ(prop(out.data(), "/chosen", "linux,initrd-start"), u64_cells(0x8100000000));
  EXPECT_EQ(prop(out.data(), "/chosen", "linux,initrd-end"), u64_cells(0x8100123456));
}

TEST(GuestDtbBuildTest, GicV2NodeIsTheInterruptParentAndPpiMasksFollowTheVcpus) {
  GuestDtbSpec spec = basic_spec();
  spec.vcpus = 3;
  // A 4-CPU GICv2 host: CPU mask 0xf (QEMU virt -smp 4, gic-version=2).
  spec.timer = {{{1, 13, 0xf04}, {1, 14, 0xf04}, {1, 11, 0xf04}, {1, 10, 0xf04}}};
  spec.gic.version = GicVersion::kV2;
  spec.gic.distributor = mm::IntermediatePhysAddr(0x08000000);
  spec.gic.distributor_size = 0x10000;
  spec.gic.cpu_interface = mm::IntermediatePhysAddr(0x08010000);
  spec.gic.cpu_interface_size = 0x10000;
  const OutBuffer out = build_ok(spec);
  EXPECT_EQ(props(out.data(), "/intc@8000000"),
            (std::map<std::string, std::string>{
                {"compatible", strs({"arm,cortex-a15-gic"})},
                {"reg", cells({0, 0x08000000, 0, 0x10000, 0, 0x08010000, 0, 0x10000})},
                {"#interrupt-cells", cells({3})},
                {"interrupt-controller", ""},
                {"phandle", cells({0x8001})}}));
  EXPECT_EQ(prop(out.data(), "/", "interrupt-parent"), cells({0x8001}));
  // 3 vCPUs: mask 0b111 in flags[15:8], trigger bits kept.
  EXPECT_EQ(prop(out.data(), "/timer", "interrupts"),
            cells({1, 13, 0x704, 1, 14, 0x704, 1, 11, 0x704, 1, 10, 0x704}));
  // SPIs carry no CPU mask.
  EXPECT_EQ(prop(out.data(), "/pl011@9000000", "interrupts"), cells({0, 1, 4}));
}

TEST(GuestDtbBuildTest, GicV3NodeAndTimerCellsCopiedVerbatim) {
  GuestDtbSpec spec = basic_spec();
  spec.timer = {{{1, 13, 8}, {1, 14, 8}, {1, 11, 8}, {1, 10, 8}}};  // level-low, as some hosts
  spec.gic.version = GicVersion::kV3;
  spec.gic.distributor = mm::IntermediatePhysAddr(0x08000000);
  spec.gic.distributor_size = 0x10000;
  spec.gic.redistributors = mm::IntermediatePhysAddr(0x080a0000);
  spec.gic.redistributors_size = 0x40000;
  const OutBuffer out = build_ok(spec);
  EXPECT_EQ(props(out.data(), "/intc@8000000"),
            (std::map<std::string, std::string>{
                {"compatible", strs({"arm,gic-v3"})},
                {"#redistributor-regions", cells({1})},
                {"reg", cells({0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, 0x40000})},
                {"#interrupt-cells", cells({3})},
                {"interrupt-controller", ""},
                {"phandle", cells({0x8001})}}));
  EXPECT_EQ(prop(out.data(), "/", "interrupt-parent"), cells({0x8001}));
  EXPECT_EQ(prop(out.data(), "/timer", "interrupts"), cells({1, 13, 8, 1, 14, 8, 1, 11, 8, 1, 10, 8}));
}

// The nodes lamina mirrors read exactly like QEMU virt's own (a GICv3, 2
// CPUs, 2 GiB dump), apart from what differs on purpose: PSCI method (QEMU
// gives EL2 software "smc"), the CPU compatible, phandle numbers and the
// GIC's maintenance interrupt and ITS (a guest has no EL2).
TEST(GuestDtbBuildTest, MirrorsQemuVirtsOwnTree) {
  const Dtb qemu = Dtb::load("qemu-virt-gicv3-a72-smp2-2g.dtb");
  GuestDtbSpec spec = basic_spec();
  spec.ram_size = 2ull << 30;
  spec.gic.version = GicVersion::kV3;
  spec.gic.distributor = mm::IntermediatePhysAddr(0x08000000);
  spec.gic.distributor_size = 0x10000;
  spec.gic.redistributors = mm::IntermediatePhysAddr(0x080a0000);
  spec.gic.redistributors_size = 0xf60000;
  const OutBuffer out = build_ok(spec);
  const void* ours = out.data();

  const struct {
    const char* path;
    const char* name;
  } same[] = {
      {"/", "model"},
      {"/", "compatible"},
      {"/", "#address-cells"},
      {"/", "#size-cells"},
      {"/psci", "compatible"},
      {"/psci", "cpu_suspend"},
      {"/psci", "cpu_off"},
      {"/psci", "cpu_on"},
      {"/psci", "migrate"},
      {"/memory@40000000", "device_type"},
      {"/memory@40000000", "reg"},
      {"/cpus", "#address-cells"},
      {"/cpus", "#size-cells"},
      {"/cpus/cpu@0", "device_type"},
      {"/cpus/cpu@0", "reg"},
      {"/cpus/cpu@0", "enable-method"},
      {"/cpus/cpu@1", "reg"},
      {"/timer", "compatible"},
      {"/timer", "interrupts"},
      {"/timer", "always-on"},
      {"/apb-pclk", "compatible"},
      {"/apb-pclk", "#clock-cells"},
      {"/apb-pclk", "clock-frequency"},
      {"/apb-pclk", "clock-output-names"},
      {"/apb-pclk", "phandle"},
      {"/pl011@9000000", "compatible"},
      {"/pl011@9000000", "reg"},
      {"/pl011@9000000", "interrupts"},
      {"/pl011@9000000", "clocks"},
      {"/pl011@9000000", "clock-names"},
      {"/intc@8000000", "compatible"},
      {"/intc@8000000", "reg"},
      {"/intc@8000000", "#redistributor-regions"},
      {"/intc@8000000", "#interrupt-cells"},
      {"/intc@8000000", "interrupt-controller"},
      {"/aliases", "serial0"},
      {"/chosen", "stdout-path"},
  };
  for (const auto& p : same) {
    const auto expected = prop(qemu.data(), p.path, p.name);
    ASSERT_TRUE(expected.has_value()) << "QEMU's tree has no " << p.path << " " << p.name;
    EXPECT_EQ(prop(ours, p.path, p.name), expected) << p.path << " " << p.name;
  }
  // Both roots point at their GIC.
  EXPECT_EQ(prop(ours, "/", "interrupt-parent"), prop(ours, "/intc@8000000", "phandle"));
  EXPECT_EQ(prop(qemu.data(), "/", "interrupt-parent"), prop(qemu.data(), "/intc@8000000", "phandle"));
}

// A VM on a GICv2 host gets the layout hyp/vm_boot.cpp gives it (the
// qemu_virt constants): QEMU virt's own GICv2 addresses (its dump with
// virtualization=on: GICD, GICC, then GICH and GICV, which a guest without
// EL2 does not get, like the maintenance interrupt and the v2m frame), with
// the register maps' real extents (GICD 4 KiB, GICC 8 KiB: GICC_DIR at
// 0x1000), the same compatible and specifier cells.
TEST(GuestDtbBuildTest, GicV2NodeFromTheQemuVirtLayoutMatchesQemusAddresses) {
  const Dtb qemu = Dtb::load("qemu-virt-gicv2-a57-smp1-1g.dtb");
  GuestDtbSpec spec = basic_spec();
  spec.vcpus = 2;
  spec.gic.version = GicVersion::kV2;
  spec.gic.distributor = qemu_virt::kGicdBase;
  spec.gic.distributor_size = qemu_virt::kGicdV2Size;
  spec.gic.cpu_interface = qemu_virt::kGiccBase;
  spec.gic.cpu_interface_size = qemu_virt::kGiccSize;
  const OutBuffer out = build_ok(spec);
  const void* ours = out.data();
  EXPECT_EQ(prop(ours, "/intc@8000000", "reg"), cells({0, 0x08000000, 0, 0x1000, 0, 0x08010000, 0, 0x2000}));
  for (const char* name : {"compatible", "#interrupt-cells", "interrupt-controller"})
    EXPECT_EQ(prop(ours, "/intc@8000000", name), prop(qemu.data(), "/intc@8000000", name)) << name;
  // QEMU's GICD and GICC (reg entries 0 and 1) are where the guest finds them.
  const auto qemu_reg = prop(qemu.data(), "/intc@8000000", "reg");
  ASSERT_TRUE(qemu_reg.has_value());
  ASSERT_GE(qemu_reg->size(), 32u);
  EXPECT_EQ(qemu_reg->substr(0, 8), cells({0, 0x08000000}));
  EXPECT_EQ(qemu_reg->substr(16, 8), cells({0, 0x08010000}));
  EXPECT_FALSE(prop(ours, "/intc@8000000", "interrupts").has_value()) << "no maintenance interrupt: no EL2";
  EXPECT_EQ(prop(ours, "/", "interrupt-parent"), prop(ours, "/intc@8000000", "phandle"));
}

TEST(GuestDtbBuildTest, OutputPassesFdtCheckFullInEveryShape) {
  for (GicVersion version : {GicVersion::kNone, GicVersion::kV2, GicVersion::kV3}) {
    for (uint32_t vcpus : {1u, 8u}) {
      GuestDtbSpec spec = basic_spec();
      spec.vcpus = vcpus;
      spec.has_test_device = vcpus == 8;
      spec.test_device = mm::IntermediatePhysAddr(0x0b000000);
      spec.gic.version = version;
      spec.gic.distributor = mm::IntermediatePhysAddr(0x08000000);
      spec.gic.distributor_size = 0x10000;
      spec.gic.cpu_interface = mm::IntermediatePhysAddr(0x08010000);
      spec.gic.cpu_interface_size = 0x2000;
      spec.gic.redistributors = mm::IntermediatePhysAddr(0x080a0000);
      spec.gic.redistributors_size = 0x20000 * vcpus;
      OutBuffer out(65536);
      const auto r = build_guest_dtb(spec, out.data(), 65536);
      ASSERT_TRUE(r.ok()) << describe(r.error());
      EXPECT_EQ(fdt_check_full(out.data(), r.value()), 0);
      // And it is what discovery-style readers expect: libfdt finds the nodes by path.
      EXPECT_GE(fdt_path_offset(out.data(), "/chosen"), 0);
    }
  }
}

TEST(GuestDtbBuildTest, EveryTooSmallBufferIsRefusedAndTheExactSizeWorks) {
  size_t needed = 0;
  build_ok(basic_spec(), &needed);
  ASSERT_GT(needed, 0u);
  // Heap buffers of exactly `size` bytes, so that ASan catches a write past
  // the end; operator new[] returns memory aligned for any scalar type.
  for (size_t size = 0; size < needed; ++size) {
    const std::unique_ptr<char[]> out(new char[size + (size == 0 ? 1 : 0)]);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(out.get()) % 8, 0u);
    const auto r = build_guest_dtb(basic_spec(), out.get(), size);
    ASSERT_FALSE(r.ok()) << size;
    EXPECT_EQ(static_cast<int>(r.error().code), static_cast<int>(GuestDtbErrorCode::kBufferTooSmall))
        << size << ": " << describe(r.error());
    EXPECT_EQ(r.error().libfdt_error, -FDT_ERR_NOSPACE);
  }
  const std::unique_ptr<char[]> exact(new char[needed]);
  const auto r = build_guest_dtb(basic_spec(), exact.get(), needed);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(r.value(), needed);
  EXPECT_EQ(fdt_check_full(exact.get(), needed), 0);
}

TEST(GuestDtbBuildTest, BadBuffers) {
  const auto null = build_guest_dtb(basic_spec(), nullptr, 4096);
  ASSERT_FALSE(null.ok());
  expect_error(null.error(), GuestDtbErrorCode::kBadBuffer, "out");
  OutBuffer out(4096);
  const auto misaligned = build_guest_dtb(basic_spec(), static_cast<char*>(out.data()) + 4, 4000);
  ASSERT_FALSE(misaligned.ok());
  expect_error(misaligned.error(), GuestDtbErrorCode::kBadBuffer, "out");
}

TEST(GuestDtbBuildTest, InconsistentSpecsAreRefusedByField) {
  struct Case {
    const char* name;
    void (*edit)(GuestDtbSpec&);
    const char* what;
  };
  const Case cases[] = {
      {"no RAM", [](GuestDtbSpec& s) { s.ram_size = 0; }, "ram_size"},
      {"RAM size not 4K", [](GuestDtbSpec& s) { s.ram_size = 0x10000800; }, "ram_base"},
      {"RAM base not 4K", [](GuestDtbSpec& s) { s.ram_base = mm::IntermediatePhysAddr(0x40000100); },
       "ram_base"},
      {"RAM wraps",
       [](GuestDtbSpec& s) {
         s.ram_base = mm::IntermediatePhysAddr(0xfffffffffff00000);
         s.ram_size = 0x200000;
       },
       "ram_size"},
      {"no vCPU", [](GuestDtbSpec& s) { s.vcpus = 0; }, "vcpus"},
      {"257 vCPUs", [](GuestDtbSpec& s) { s.vcpus = 257; }, "vcpus"},
      {"initrd below RAM", [](GuestDtbSpec& s) { s.initrd = mm::IntermediatePhysAddr(0x3ffff000); },
       "initrd"},
      {"initrd past RAM", [](GuestDtbSpec& s) { s.initrd = mm::IntermediatePhysAddr(0x4ff00000); }, "initrd"},
      {"initrd wraps",
       [](GuestDtbSpec& s) {
         s.initrd = mm::IntermediatePhysAddr(0xfffffffffffff000);
         s.initrd_size = 0x2000;
       },
       "initrd"},
      {"UART unaligned", [](GuestDtbSpec& s) { s.uart = mm::IntermediatePhysAddr(0x09000800); }, "uart"},
      {"UART SPI 988", [](GuestDtbSpec& s) { s.uart_spi = 988; }, "uart_spi"},
      {"timer SPI",
       [](GuestDtbSpec& s) {
         s.timer[2] = {0, 11, 4};
       },
       "timer"},
      {"timer PPI 16",
       [](GuestDtbSpec& s) {
         s.timer[0] = {1, 16, 4};
       },
       "timer"},
      {"test device unaligned",
       [](GuestDtbSpec& s) {
         s.has_test_device = true;
         s.test_device = mm::IntermediatePhysAddr(0x0b000004);
       },
       "test_device"},
      {"GICv2 with 9 vCPUs",
       [](GuestDtbSpec& s) {
         s.vcpus = 9;
         s.gic = {GicVersion::kV2,
                  mm::IntermediatePhysAddr(0x08000000),
                  0x10000,
                  mm::IntermediatePhysAddr(0x08010000),
                  0x10000,
                  {},
                  0};
       },
       "vcpus"},
      {"GICv2 without CPU interface",
       [](GuestDtbSpec& s) {
         s.gic = {GicVersion::kV2, mm::IntermediatePhysAddr(0x08000000), 0x10000, {}, 0, {}, 0};
       },
       "gic"},
      {"GICv3 without redistributors",
       [](GuestDtbSpec& s) {
         s.gic = {GicVersion::kV3,
                  mm::IntermediatePhysAddr(0x08000000),
                  0x10000,
                  mm::IntermediatePhysAddr(0x08010000),
                  0x10000,
                  {},
                  0};
       },
       "gic"},
  };
  for (const Case& c : cases) {
    GuestDtbSpec spec = basic_spec();
    c.edit(spec);
    OutBuffer out(65536);
    const auto r = build_guest_dtb(spec, out.data(), 65536);
    ASSERT_FALSE(r.ok()) << c.name;
    expect_error(r.error(), GuestDtbErrorCode::kBadSpec, c.what);
  }
  // The limits themselves are fine.
  GuestDtbSpec spec = basic_spec();
  spec.vcpus = 256;
  spec.initrd = mm::IntermediatePhysAddr(0x50000000 - spec.initrd_size);  // ends exactly at the end of RAM
  spec.uart_spi = 987;
  OutBuffer out(65536);
  EXPECT_TRUE(build_guest_dtb(spec, out.data(), 65536).ok());
  EXPECT_EQ(prop(out.data(), "/cpus/cpu@ff", "reg"), cells({255}));
}

TEST(GuestDtbErrorTest, DescribeNamesEverything) {
  GuestDtbError e;
  e.code = GuestDtbErrorCode::kBadUserDtb;
  e.what = "user DTB";
  e.detail = "libfdt's full check rejected it";
  e.libfdt_error = -FDT_ERR_BADMAGIC;
  EXPECT_EQ(describe(e),
            "guest DTB: bad user DTB (user DTB): libfdt's full check rejected it [libfdt: FDT_ERR_BADMAGIC]");
  e = GuestDtbError{GuestDtbErrorCode::kBufferTooSmall, nullptr, nullptr, 0};
  EXPECT_EQ(describe(e), "guest DTB: output buffer too small");
  char tiny[12];
  e.code = GuestDtbErrorCode::kBadSpec;
  describe_guest_dtb_error(e, tiny, sizeof(tiny));
  EXPECT_EQ(strlen(tiny), sizeof(tiny) - 1);  // truncated, terminated
}

// --- patch_guest_dtb ----------------------------------------------------------

// tests/fixtures/guest_dtb/user.dtb (Dtb::load looks in tests/fixtures/dtb).
Dtb user_dtb() { return Dtb::load("../guest_dtb/user.dtb"); }

GuestDtbSpec patch_spec() {
  GuestDtbSpec spec;
  spec.ram_base = mm::IntermediatePhysAddr(0x40000000);
  spec.ram_size = 0x30000000;
  spec.bootargs = "lamina args";
  spec.initrd = mm::IntermediatePhysAddr(0x44000000);
  spec.initrd_size = 0x2000;
  return spec;
}

OutBuffer patch_ok(const Dtb& user, const GuestDtbSpec& spec, size_t* size = nullptr) {
  OutBuffer out(65536);
  const auto r = patch_guest_dtb(user.data(), user.capacity(), spec, out.data(), 65536);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error()));
  if (r.ok()) {
    EXPECT_EQ(r.value(), fdt_totalsize(out.data()));
    EXPECT_EQ(fdt_check_full(out.data(), r.value()), 0);
    if (size != nullptr) *size = r.value();
  }
  return out;
}

TEST(GuestDtbPatchTest, ChangesOnlyMemoryChosenAndPsci) {
  const Dtb user = user_dtb();
  // The VM owns the page of the user's custom device (unowned devices are
  // removed: guest_dtb_passthrough_test.cpp).
  PassthroughPlan owns_acme;
  owns_acme.ranges[0] = mm::PhysRange{mm::PhysAddr(0x0a000000), 0x1000};
  owns_acme.range_count = 1;
  GuestDtbSpec spec = patch_spec();
  spec.passthrough = &owns_acme;
  const OutBuffer out = patch_ok(user, spec);
  const void* fdt = out.data();
  using Props = std::map<std::string, std::string>;

  // Both user memory nodes are gone; one node describes the VM's RAM.
  // (Node order is libfdt's: fdt_add_subnode puts a new node first.)
  std::set<std::string> expected_nodes = node_set(user.data());
  expected_nodes.erase("/memory@100000000");
  EXPECT_EQ(node_set(fdt), expected_nodes);
  EXPECT_EQ(props(fdt, "/memory@40000000"),
            (Props{{"device_type", strs({"memory"})}, {"reg", cells({0, 0x40000000, 0, 0x30000000})}}));

  EXPECT_EQ(props(fdt, "/chosen"), (Props{{"stdout-path", strs({"/serial@9000000"})},
                                          {"bootargs", strs({"lamina args"})},
                                          {"linux,initrd-start", u64_cells(0x44000000)},
                                          {"linux,initrd-end", u64_cells(0x44002000)}}));
  // PSCI 1.0/0.2: only the conduit changes (no legacy ID properties added).
  EXPECT_EQ(props(fdt, "/psci"),
            (Props{{"compatible", strs({"arm,psci-1.0", "arm,psci-0.2"})}, {"method", strs({"hvc"})}}));

  // Everything else is the user's, byte for byte.
  for (const char* path : {"/", "/cpus", "/cpus/cpu@0", "/serial@9000000", "/acme-device@a000000"}) {
    EXPECT_EQ(props(fdt, path), props(user.data(), path)) << path;
  }
  ASSERT_EQ(fdt_num_mem_rsv(fdt), 1);
  uint64_t address = 0, size = 0;
  ASSERT_EQ(fdt_get_mem_rsv(fdt, 0, &address, &size), 0);
  EXPECT_EQ(address, 0x47f00000u);
  EXPECT_EQ(size, 0x1000u);
}

TEST(GuestDtbPatchTest, KeepsUserBootargsAndDropsStaleInitrd) {
  GuestDtbSpec spec = patch_spec();
  spec.bootargs = nullptr;
  spec.initrd_size = 0;
  const OutBuffer out = patch_ok(user_dtb(), spec);
  EXPECT_EQ(props(out.data(), "/chosen"),
            (std::map<std::string, std::string>{{"stdout-path", strs({"/serial@9000000"})},
                                                {"bootargs", strs({"user args"})}}));
}

TEST(GuestDtbPatchTest, CreatesChosenAndPsciWhenAbsentAndUsesTheRootCells) {
  // A minimal 32-bit tree: 1 address cell, 1 size cell, no /chosen, no PSCI.
  Dtb user = Dtb::empty(4096);
  user.set(0, "#address-cells", {1});
  user.set(0, "#size-cells", {1});
  const int memory = user.add(0, "memory@80000000");
  ASSERT_EQ(fdt_setprop_string(user.data(), memory, "device_type", "memory"), 0);
  user.set(memory, "reg", {0x80000000, 0x1000000});
  ASSERT_EQ(fdt_pack(user.data()), 0);

  GuestDtbSpec spec = patch_spec();
  spec.ram_size = 0x10000000;
  const OutBuffer out = patch_ok(user, spec);
  using Props = std::map<std::string, std::string>;
  EXPECT_EQ(node_set(out.data()), (std::set<std::string>{"/", "/memory@40000000", "/chosen", "/psci"}));
  EXPECT_EQ(props(out.data(), "/memory@40000000"),
            (Props{{"device_type", strs({"memory"})}, {"reg", cells({0x40000000, 0x10000000})}}));
  EXPECT_EQ(props(out.data(), "/chosen"), (Props{{"bootargs", strs({"lamina args"})},
                                                 {"linux,initrd-start", u64_cells(0x44000000)},
                                                 {"linux,initrd-end", u64_cells(0x44002000)}}));
  EXPECT_EQ(props(out.data(), "/psci"),
            (Props{{"compatible", strs({"arm,psci-1.0", "arm,psci-0.2", "arm,psci"})},
                   {"method", strs({"hvc"})},
                   {"cpu_suspend", cells({0xc4000001})},
                   {"cpu_off", cells({0x84000002})},
                   {"cpu_on", cells({0xc4000003})},
                   {"migrate", cells({0xc4000005})}}));

  // 1 address cell cannot hold RAM above 4 GiB.
  spec.ram_base = mm::IntermediatePhysAddr(0x100000000);
  spec.initrd_size = 0;
  OutBuffer big(65536);
  const auto r = patch_guest_dtb(user.data(), user.capacity(), spec, big.data(), 65536);
  ASSERT_FALSE(r.ok());
  expect_error(r.error(), GuestDtbErrorCode::kBadUserDtb, "/");
}

TEST(GuestDtbPatchTest, PsciZeroPointOneGetsLaminasFunctionIds) {
  Dtb user = Dtb::empty(4096);
  const int psci = user.add(0, "psci");
  ASSERT_EQ(fdt_setprop_string(user.data(), psci, "compatible", "arm,psci"), 0);
  ASSERT_EQ(fdt_setprop_string(user.data(), psci, "method", "smc"), 0);
  user.set(psci, "cpu_on", {0x95c1ba5f});  // a firmware-specific ID
  ASSERT_EQ(fdt_pack(user.data()), 0);
  const OutBuffer out = patch_ok(user, patch_spec());
  EXPECT_EQ(props(out.data(), "/psci"),
            (std::map<std::string, std::string>{{"compatible", strs({"arm,psci"})},
                                                {"method", strs({"hvc"})},
                                                {"cpu_on", cells({0xc4000003})},
                                                {"cpu_suspend", cells({0xc4000001})},
                                                {"cpu_off", cells({0x84000002})},
                                                {"migrate", cells({0xc4000005})}}));
}

TEST(GuestDtbPatchTest, BadUserDtbsNameWhatLibfdtSaid) {
  const Dtb good = user_dtb();
  OutBuffer out(65536);
  // The error for a user DTB of `size` bytes at `blob` (the test fails if it is accepted).
  const auto patch_error = [&](const void* blob, size_t size) {
    const auto r = patch_guest_dtb(blob, size, patch_spec(), out.data(), 65536);
    EXPECT_FALSE(r.ok());
    return r.ok() ? GuestDtbError{} : r.error();
  };

  Dtb bad_magic = good;
  bad_magic.bytes()[0] ^= 0xff;
  GuestDtbError e = patch_error(bad_magic.data(), bad_magic.capacity());
  expect_error(e, GuestDtbErrorCode::kBadUserDtb, "user DTB");
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADMAGIC);
  EXPECT_NE(describe(e).find("[libfdt: FDT_ERR_BADMAGIC]"), std::string::npos) << describe(e);

  // Fewer bytes than the header's totalsize.
  e = patch_error(good.data(), good.total_size() - 1);
  expect_error(e, GuestDtbErrorCode::kBadUserDtb, "user DTB");
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_TRUNCATED);

  // A corrupt structure block: the root's FDT_BEGIN_NODE token overwritten.
  Dtb corrupt = good;
  const uint32_t struct_offset = fdt_off_dt_struct(corrupt.data());
  corrupt.bytes()[struct_offset + 3] = 0x7;
  e = patch_error(corrupt.data(), corrupt.capacity());
  expect_error(e, GuestDtbErrorCode::kBadUserDtb, "user DTB");
  EXPECT_LT(e.libfdt_error, 0);

  e = patch_error(nullptr, 4096);
  expect_error(e, GuestDtbErrorCode::kBadUserDtb, "user DTB");

  // A root node claiming to be memory is refused rather than deleted.
  Dtb root_memory = good.editable();
  ASSERT_EQ(fdt_setprop_string(root_memory.data(), 0, "device_type", "memory"), 0);
  e = patch_error(root_memory.data(), root_memory.capacity());
  expect_error(e, GuestDtbErrorCode::kBadUserDtb, "/");
}

TEST(GuestDtbPatchTest, TooSmallAndOverlappingBuffers) {
  const Dtb user = user_dtb();
  size_t needed = 0;
  patch_ok(user, patch_spec(), &needed);
  for (size_t size : {size_t{0}, size_t{64}, size_t{512}, needed - 8}) {
    OutBuffer out(size == 0 ? 8 : size);
    const auto r = patch_guest_dtb(user.data(), user.capacity(), patch_spec(), out.data(), size);
    ASSERT_FALSE(r.ok()) << size;
    EXPECT_EQ(static_cast<int>(r.error().code), static_cast<int>(GuestDtbErrorCode::kBufferTooSmall))
        << size << ": " << describe(r.error());
  }
  Dtb same = user.editable();
  const auto r = patch_guest_dtb(same.data(), same.capacity(), patch_spec(), same.bytes() + 64, 4096);
  ASSERT_FALSE(r.ok());
  expect_error(r.error(), GuestDtbErrorCode::kBadBuffer, "out");
}

TEST(GuestDtbPatchTest, SpecRamAndInitrdAreValidated) {
  GuestDtbSpec spec = patch_spec();
  spec.initrd = mm::IntermediatePhysAddr(0x80000000);
  OutBuffer out(65536);
  const Dtb user = user_dtb();
  const auto r = patch_guest_dtb(user.data(), user.capacity(), spec, out.data(), 65536);
  ASSERT_FALSE(r.ok());
  expect_error(r.error(), GuestDtbErrorCode::kBadSpec, "initrd");
}

// --- host_timer_interrupts ---------------------------------------------------

TEST(GuestDtbHostTimerTest, CopiesTheHostsCells) {
  // Decompiled fixtures: GICv2 with 1 CPU -> flags 0x104; GICv3 -> 0x4;
  // the Pi 4's GIC-400 with 4 CPUs, level-low -> 0xf08.
  const struct {
    const char* fixture;
    uint32_t flags;
  } cases[] = {
      {"qemu-virt-gicv2-a57-smp1-1g.dtb", 0x104},
      {"qemu-virt-gicv3-a72-smp2-2g.dtb", 0x4},
      {"bcm2711-rpi-4-b.dtb", 0xf08},
  };
  for (const auto& c : cases) {
    const Dtb host = Dtb::load(c.fixture);
    const auto r = host_timer_interrupts(host.data());
    ASSERT_TRUE(r.ok()) << c.fixture << ": " << describe(r.error());
    const TimerInterrupts expected = {
        {{1, 13, c.flags}, {1, 14, c.flags}, {1, 11, c.flags}, {1, 10, c.flags}}};
    EXPECT_EQ(r.value(), expected) << c.fixture;
  }
}

TEST(GuestDtbHostTimerTest, RefusesUnusableTimers) {
  const Dtb qemu = Dtb::load("qemu-virt-gicv3-a72-smp2-2g.dtb");
  {  // No timer node.
    Dtb dtb = qemu.editable();
    ASSERT_EQ(fdt_del_node(dtb.data(), dtb.node("/timer")), 0);
    const auto r = host_timer_interrupts(dtb.data());
    ASSERT_FALSE(r.ok());
    expect_error(r.error(), GuestDtbErrorCode::kBadHostDtb, "timer");
  }
  {  // Three specifiers.
    Dtb dtb = qemu.editable();
    dtb.set(dtb.node("/timer"), "interrupts", {1, 13, 4, 1, 14, 4, 1, 11, 4});
    const auto r = host_timer_interrupts(dtb.data());
    ASSERT_FALSE(r.ok());
    expect_error(r.error(), GuestDtbErrorCode::kBadHostDtb, "timer");
  }
  {  // A fifth (EL2 virtual timer) is allowed and not passed on.
    Dtb dtb = qemu.editable();
    dtb.set(dtb.node("/timer"), "interrupts", {1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4, 1, 12, 4});
    const auto r = host_timer_interrupts(dtb.data());
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_EQ(r.value(), kQemuVirtTimerInterrupts);
  }
  {  // Not a device tree.
    Dtb garbage(4096);
    const auto r = host_timer_interrupts(garbage.data());
    ASSERT_FALSE(r.ok());
    expect_error(r.error(), GuestDtbErrorCode::kBadHostDtb, "host DTB");
  }
}

}  // namespace
}  // namespace lamina::hyp
