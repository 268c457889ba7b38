// Tests for hyp/vm/guest_dtb_passthrough: host device nodes copied into the
// generated guest DT, and a user's DT pruned to the VM's devices. Host trees
// are QEMU virt's own (tests/fixtures/dtb); expected cells are read off
// `dtc -O dts` of them by hand.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <libfdt.h>
#include <string>
#include <utility>
#include <vector>

#include "fakes/dtb_blob.hpp"
#include "hyp/vm/guest_dtb.hpp"
#include "unit/hyp/vm/guest_dtb_test_helpers.hpp"

namespace lamina::hyp {
namespace {

using test::Dtb;
using test_helpers::cells_of;
using test_helpers::has_prop;

constexpr const char* kGicV3Fixture = "qemu-virt-gicv3-max-smp4-4g.dtb";
constexpr const char* kGicV2Fixture = "qemu-virt-gicv2-a57-smp1-1g.dtb";
constexpr uint32_t kGuestGicPhandle = 0x8001;     // build_guest_dtb's
constexpr uint32_t kGuestClockPhandle = 0x8000;   // build_guest_dtb's apb-pclk
constexpr uint32_t kFirstCopiedPhandle = 0x9000;  // guest_dtb_passthrough.cpp

// A host tree (the fixture with a VM node) and the plan of `paths` in it.
struct Host {
  Dtb dtb;
  PassthroughPlan plan;
};

Host host_with(const char* fixture, const std::vector<std::string>& paths) {
  Host h{Dtb::load(fixture).editable(), {}};
  const int vm = h.dtb.add(h.dtb.node("/chosen"), "vm1");
  std::string value;
  for (const std::string& p : paths) value += p + std::string(1, '\0');
  EXPECT_EQ(fdt_setprop(h.dtb.data(), vm, kPassthroughProperty, value.data(), static_cast<int>(value.size())),
            0);
  const auto tree = dt::DeviceTree::open(h.dtb.data(), h.dtb.capacity());
  EXPECT_TRUE(tree.ok());
  const auto r = read_passthrough(tree.value(), tree.value().find_path("/chosen/vm1"), &h.plan);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : test::describe(r.error()));
  return h;
}

GuestDtbSpec spec_for(const Host& h, GicVersion gic = GicVersion::kV3) {
  GuestDtbSpec spec = test_helpers::spec_with_gic(1, gic, 0x20000);
  spec.host_fdt = h.dtb.data();
  spec.passthrough = &h.plan;
  return spec;
}

std::vector<uint8_t> build(const GuestDtbSpec& spec) {
  std::vector<uint8_t> out(1 << 18);
  const auto r = build_guest_dtb(spec, out.data(), out.size());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : [&] {
    char b[256];
    describe_guest_dtb_error(r.error(), b, sizeof(b));
    return std::string(b);
  }());
  if (r.ok()) {
    EXPECT_EQ(fdt_check_full(out.data(), r.value()), 0);
  }
  return out;
}

TEST(GuestDtbPassthrough, CopiesOwnedNodesWithTheirProperties) {
  // The RTC and a virtio transport arrive as QEMU wrote them; the RTC's
  // apb-pclk becomes the guest's own apb-pclk.
  const Host h = host_with(kGicV3Fixture, {"/pl031@9010000", "/virtio_mmio@a000000"});
  const auto out = build(spec_for(h));
  const void* fdt = out.data();
  EXPECT_EQ(cells_of(fdt, "/pl031@9010000", "reg"), (std::vector<uint32_t>{0, 0x9010000, 0, 0x1000}));
  EXPECT_EQ(cells_of(fdt, "/pl031@9010000", "interrupts"), (std::vector<uint32_t>{0, 2, 4}));
  EXPECT_EQ(cells_of(fdt, "/pl031@9010000", "clocks"), (std::vector<uint32_t>{kGuestClockPhandle}));
  EXPECT_EQ(cells_of(fdt, "/virtio_mmio@a000000", "interrupts"), (std::vector<uint32_t>{0, 16, 1}));
  EXPECT_TRUE(has_prop(fdt, "/virtio_mmio@a000000", "dma-coherent"));
  // Only what was given: the next transport and fw_cfg stay out.
  EXPECT_LT(fdt_path_offset(fdt, "/virtio_mmio@a000200"), 0);
  EXPECT_LT(fdt_path_offset(fdt, "/fw-cfg@9020000"), 0);
  EXPECT_LT(fdt_path_offset(fdt, "/gpio-keys"), 0);  // no PL061 given
}

void expect_pcie_rewritten(const char* fixture, GicVersion gic) {
  // msi-map is dropped (no ITS/GICv2m for guests), and interrupt-map names
  // the guest GIC with its #address-cells (0) instead of the host GIC's (2):
  // 16 entries of <3 child address, 1 pin, phandle, 3 specifier> cells.
  const Host h = host_with(fixture, {"/pcie@10000000"});
  const auto out = build(spec_for(h, gic));
  const void* fdt = out.data();
  EXPECT_FALSE(has_prop(fdt, "/pcie@10000000", "msi-map"));
  EXPECT_FALSE(has_prop(fdt, "/pcie@10000000", "msi-parent"));
  const std::vector<uint32_t> map = cells_of(fdt, "/pcie@10000000", "interrupt-map");
  ASSERT_EQ(map.size(), 16u * 8u);
  // Device 0 INTA -> SPI 3; device 1 (0x800) INTA -> SPI 4 (the swizzle).
  EXPECT_EQ(std::vector<uint32_t>(map.begin(), map.begin() + 8),
            (std::vector<uint32_t>{0, 0, 0, 1, kGuestGicPhandle, 0, 3, 4}));
  EXPECT_EQ(std::vector<uint32_t>(map.begin() + 32, map.begin() + 40),
            (std::vector<uint32_t>{0x800, 0, 0, 1, kGuestGicPhandle, 0, 4, 4}));
  const std::string gic_path = "/intc@8000000";
  EXPECT_EQ(cells_of(fdt, gic_path.c_str(), "#address-cells"), (std::vector<uint32_t>{0}));
  EXPECT_EQ(cells_of(fdt, "/pcie@10000000", "ranges").size(), 21u);  // unchanged: IPA = PA
}

TEST(GuestDtbPassthrough, PcieInterruptMapForGicV3) { expect_pcie_rewritten(kGicV3Fixture, GicVersion::kV3); }
TEST(GuestDtbPassthrough, PcieInterruptMapForGicV2) { expect_pcie_rewritten(kGicV2Fixture, GicVersion::kV2); }

TEST(GuestDtbPassthrough, GpioKeysFollowThePl061WithARenumberedPhandle) {
  const Host h = host_with(kGicV3Fixture, {"/pl061@9030000"});
  const auto out = build(spec_for(h));
  const void* fdt = out.data();
  EXPECT_EQ(cells_of(fdt, "/pl061@9030000", "phandle"), (std::vector<uint32_t>{kFirstCopiedPhandle}));
  EXPECT_EQ(cells_of(fdt, "/gpio-keys/poweroff", "gpios"),
            (std::vector<uint32_t>{kFirstCopiedPhandle, 3, 0}));
  EXPECT_EQ(cells_of(fdt, "/gpio-keys/poweroff", "linux,code"), (std::vector<uint32_t>{0x74}));
}

// The root's children scripts/lamina-qemu passes through with
// `--guest-passthrough all` (its PASSTHROUGH_COMPATIBLES), in tree order:
// on QEMU virt 32 virtio-mmio transports, the PL031, fw_cfg, the PL061 and
// the PCIe host bridge.
std::vector<std::string> every_device(const char* fixture) {
  const Dtb dtb = Dtb::load(fixture);
  std::vector<std::string> paths;
  int node = 0;
  fdt_for_each_subnode(node, dtb.data(), 0) {
    for (const char* compat :
         {"virtio,mmio", "arm,pl031", "qemu,fw-cfg-mmio", "arm,pl061", "pci-host-ecam-generic"}) {
      if (fdt_node_check_compatible(dtb.data(), node, compat) == 0) {
        paths.push_back(std::string("/") + fdt_get_name(dtb.data(), node, nullptr));
        break;
      }
    }
  }
  return paths;
}

TEST(GuestDtbPassthrough, EveryDeviceOfQemuVirtIsCopiedInTheOrderOfBefore) {
  // All 36 devices: each arrives once, the copies precede the guest's own
  // nodes in the reverse of the property's order (libfdt's read-write
  // insertion order, which the copy has always had), and gpio-keys comes
  // first, pointing at the copied PL061.
  const std::vector<std::string> paths = every_device(kGicV3Fixture);
  ASSERT_EQ(paths.size(), 36u);
  const Host h = host_with(kGicV3Fixture, paths);
  const auto out = build(spec_for(h));
  const void* fdt = out.data();
  std::vector<std::string> order;
  int node = 0;
  fdt_for_each_subnode(node, fdt, 0) order.emplace_back(fdt_get_name(fdt, node, nullptr));
  ASSERT_GE(order.size(), paths.size() + 1);
  EXPECT_EQ(order[0], "gpio-keys");
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ("/" + order[1 + i], paths[paths.size() - 1 - i]) << i;
  EXPECT_EQ(order[1 + paths.size()], "psci");
  EXPECT_EQ(cells_of(fdt, "/gpio-keys/poweroff", "gpios"),
            (std::vector<uint32_t>{kFirstCopiedPhandle, 3, 0}));
  EXPECT_EQ(cells_of(fdt, "/virtio_mmio@a003e00", "interrupts"), (std::vector<uint32_t>{0, 47, 1}));
}

TEST(GuestDtbPassthrough, DevicesNeedAGuestGic) {
  const Host h = host_with(kGicV3Fixture, {"/pl031@9010000"});
  GuestDtbSpec spec = spec_for(h);
  spec.gic = GuestGicSpec{};
  std::vector<uint8_t> out(1 << 18);
  const auto r = build_guest_dtb(spec, out.data(), out.size());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, GuestDtbErrorCode::kBadSpec);
}

TEST(GuestDtbPassthrough, NoPlanBuildsTheSameTreeAsBefore) {
  // Without devices the tree is exactly build_guest_dtb's own.
  const Host h = host_with(kGicV3Fixture, {"/pl031@9010000"});
  GuestDtbSpec with = spec_for(h);
  GuestDtbSpec without = with;
  PassthroughPlan empty;
  without.passthrough = &empty;
  const auto a = build(without);
  without.passthrough = nullptr;
  const auto b = build(without);
  ASSERT_EQ(fdt_totalsize(a.data()), fdt_totalsize(b.data()));
  EXPECT_EQ(memcmp(a.data(), b.data(), fdt_totalsize(a.data())), 0);
  EXPECT_LT(fdt_path_offset(a.data(), "/pl031@9010000"), 0);
}

TEST(GuestDtbPassthrough, UserTreeKeepsOwnedDevicesOnly) {
  // QEMU's own GICv3 tree as a user DTB for a VM that owns the RTC: the ITS,
  // every msi-map, and the devices it does not own (virtio, PCIe, fw_cfg,
  // PL061 and its gpio-keys, flash) are gone; the RTC, the UART at the
  // virtual PL011's address, the GIC and the non-device nodes stay.
  const Host h = host_with(kGicV3Fixture, {"/pl031@9010000"});
  const Dtb user = Dtb::load(kGicV3Fixture);
  GuestDtbSpec spec = spec_for(h);
  spec.ram_base = mm::IntermediatePhysAddr(0x40000000);
  std::vector<uint8_t> out(1 << 18);
  const auto r = patch_guest_dtb(user.data(), user.capacity(), spec, out.data(), out.size());
  ASSERT_TRUE(r.ok());
  const void* fdt = out.data();
  EXPECT_EQ(fdt_check_full(fdt, r.value()), 0);
  for (const char* gone :
       {"/intc@8000000/its@8080000", "/pcie@10000000", "/virtio_mmio@a000000", "/virtio_mmio@a003e00",
        "/fw-cfg@9020000", "/pl061@9030000", "/gpio-keys", "/flash@0"}) {
    EXPECT_LT(fdt_path_offset(fdt, gone), 0) << gone;
  }
  for (const char* kept : {"/pl031@9010000", "/pl011@9000000", "/intc@8000000", "/timer", "/apb-pclk",
                           "/cpus", "/psci", "/chosen"}) {
    EXPECT_GE(fdt_path_offset(fdt, kept), 0) << kept;
  }
  EXPECT_LT(fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3-its"), 0);
}

TEST(GuestDtbPassthrough, UserTreeKeepsPcieWhenOwnedButWithoutMsi) {
  const Host h = host_with(kGicV2Fixture, {"/pcie@10000000"});
  const Dtb user = Dtb::load(kGicV2Fixture);
  std::vector<uint8_t> out(1 << 18);
  const auto r =
      patch_guest_dtb(user.data(), user.capacity(), spec_for(h, GicVersion::kV2), out.data(), out.size());
  ASSERT_TRUE(r.ok());
  EXPECT_GE(fdt_path_offset(out.data(), "/pcie@10000000"), 0);
  EXPECT_FALSE(has_prop(out.data(), "/pcie@10000000", "msi-map"));
  EXPECT_LT(fdt_node_offset_by_compatible(out.data(), -1, "arm,gic-v2m-frame"), 0);
}

// Every device of `--guest-passthrough all` (every_device), copied into a
// guest DT that must be byte for byte the one recorded in
// tests/fixtures/guest_dtb/passthrough-all-*.dtb: what lamina wrote at
// 52a3acb, before reading the plan and copying the nodes were made faster,
// so that a speed-up cannot change what guests see.
TEST(GuestDtbPassthrough, EveryQemuDeviceGivesTheRecordedGuestDtb) {
  const std::pair<const char*, const char*> cases[] = {
      {kGicV3Fixture, "passthrough-all-gicv3-max.dtb"},
      {kGicV2Fixture, "passthrough-all-gicv2-a57.dtb"},
  };
  for (const auto& [fixture, recorded] : cases) {
    const std::vector<std::string> paths = every_device(fixture);
    EXPECT_EQ(paths.size(), 36u) << fixture;
    const Host h = host_with(fixture, paths);
    const auto out = build(spec_for(h));
    const std::string path = std::string(LAMINA_FIXTURES_DIR) + "/guest_dtb/" + recorded;
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing fixture " << path;
    const std::vector<uint8_t> want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(want.size(), fdt_totalsize(out.data())) << recorded;
    EXPECT_EQ(memcmp(out.data(), want.data(), want.size()), 0) << recorded;
  }
}

}  // namespace
}  // namespace lamina::hyp
