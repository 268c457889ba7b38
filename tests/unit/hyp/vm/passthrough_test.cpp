// Tests for hyp/vm/passthrough and the `lamina,passthrough` property of the
// VM binding (docs/VM-BINDING.md), on QEMU virt's own DTBs
// (tests/fixtures/dtb, dumped by QEMU) with VM nodes added under /chosen.
// Expected addresses and SPIs are QEMU virt's, read off `dtc -O dts` of the
// fixtures by hand (hw/arm/virt.c memmap and irqmap).
#include "hyp/vm/passthrough.hpp"

#include <gtest/gtest.h>
#include <libfdt.h>
#include <string>
#include <vector>

#include "fakes/dtb_blob.hpp"
#include "hyp/vm/vm_description.hpp"

namespace lamina::hyp {
namespace {

using test::Dtb;
using test::expect_dt_error;
using test::range;

constexpr const char* kGicV3Fixture = "qemu-virt-gicv3-max-smp4-4g.dtb";
constexpr const char* kGicV2Fixture = "qemu-virt-gicv2-a57-smp1-1g.dtb";

// A stringlist property value ("a\0b\0").
std::string string_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += s;
    out.push_back('\0');
  }
  return out;
}

// The fixture with VM nodes /chosen/vm<i> (one per list), each complete
// enough for parse_vm_descriptions (memory, cpus, a kernel module at a
// distinct address) and with `lamina,passthrough` set to its list (no
// property for an empty list).
Dtb with_vms(const char* fixture, const std::vector<std::vector<std::string>>& lists) {
  Dtb dtb = Dtb::load(fixture).editable(65536);
  // libfdt adds a subnode before its siblings: add the last VM first.
  for (size_t i = lists.size(); i-- > 0;) {
    const int chosen = dtb.node("/chosen");
    const std::string name = "vm" + std::to_string(i + 1);
    const int vm = dtb.add(chosen, name.c_str());
    EXPECT_EQ(fdt_setprop_string(dtb.data(), vm, "compatible", "lamina,vm"), 0);
    dtb.set(vm, "#address-cells", {2});
    dtb.set(vm, "#size-cells", {2});
    dtb.set(vm, "memory", {0, 0x40000});
    dtb.set(vm, "cpus", {1});
    if (!lists[i].empty()) {
      const std::string value = string_list(lists[i]);
      EXPECT_EQ(
          fdt_setprop(dtb.data(), vm, kPassthroughProperty, value.data(), static_cast<int>(value.size())), 0);
    }
    const std::string vm_path = "/chosen/" + name;
    const int module = dtb.add(dtb.node(vm_path.c_str()), "module");
    const std::string compat = string_list({"multiboot,kernel", "multiboot,module"});
    EXPECT_EQ(fdt_setprop(dtb.data(), module, "compatible", compat.data(), static_cast<int>(compat.size())),
              0);
    dtb.set(dtb.node((vm_path + "/module").c_str()), "reg",
            {0, static_cast<uint32_t>(0x48200000 + i * 0x1000000), 0, 0x1000});
  }
  return dtb;
}

Result<PassthroughPlan, DtError> plan_of(const Dtb& dtb, const char* vm_path) {
  const auto tree = dt::DeviceTree::open(dtb.data(), dtb.capacity());
  EXPECT_TRUE(tree.ok());
  PassthroughPlan plan;
  const auto r = read_passthrough(tree.value(), tree.value().find_path(vm_path), &plan);
  if (!r.ok()) return Err{r.error()};
  return plan;
}

DtError plan_error(const std::vector<std::string>& list, const char* fixture = kGicV3Fixture) {
  const Dtb dtb = with_vms(fixture, {list});
  const auto r = plan_of(dtb, "/chosen/vm1");
  EXPECT_FALSE(r.ok());
  return r.ok() ? DtError{} : r.error();
}

TEST(Passthrough, NoPropertyIsAnEmptyPlan) {
  // A VM without lamina,passthrough owns no host device.
  const Dtb dtb = with_vms(kGicV3Fixture, {{}});
  const auto plan = plan_of(dtb, "/chosen/vm1");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan.value().empty());
  EXPECT_EQ(plan.value().range_count, 0u);
  EXPECT_EQ(plan.value().spi_count, 0u);
}

TEST(Passthrough, Pl031IsOnePageAndLevelSpi2) {
  // QEMU virt's RTC: reg 0x9010000+0x1000, interrupts <0 2 4> = INTID 34, level.
  const Dtb dtb = with_vms(kGicV3Fixture, {{"/pl031@9010000"}});
  const auto plan = plan_of(dtb, "/chosen/vm1");
  ASSERT_TRUE(plan.ok()) << test::describe(plan.error());
  ASSERT_EQ(plan.value().range_count, 1u);
  EXPECT_EQ(plan.value().ranges[0], range(0x9010000, 0x1000));
  ASSERT_EQ(plan.value().spi_count, 1u);
  EXPECT_EQ(plan.value().spis[0], (PassthroughSpi{34, false}));
}

TEST(Passthrough, VirtioTransportsShareAndMergePages) {
  // Eight 0x200-byte transports per page: two in one page and one in the
  // next make one merged two-page range; their SPIs 16..18 are edge (flags 1).
  const Dtb dtb =
      with_vms(kGicV3Fixture, {{"/virtio_mmio@a000000", "/virtio_mmio@a000200", "/virtio_mmio@a001000"}});
  const auto plan = plan_of(dtb, "/chosen/vm1");
  ASSERT_TRUE(plan.ok()) << test::describe(plan.error());
  ASSERT_EQ(plan.value().range_count, 1u);
  EXPECT_EQ(plan.value().ranges[0], range(0xa000000, 0x2000));
  ASSERT_EQ(plan.value().spi_count, 3u);
  EXPECT_EQ(plan.value().spis[0], (PassthroughSpi{48, true}));
  EXPECT_EQ(plan.value().spis[1], (PassthroughSpi{49, true}));
  EXPECT_EQ(plan.value().spis[2], (PassthroughSpi{56, true}));
}

TEST(Passthrough, FwCfgHasAPageAndNoInterrupt) {
  const Dtb dtb = with_vms(kGicV3Fixture, {{"/fw-cfg@9020000"}});
  const auto plan = plan_of(dtb, "/chosen/vm1");
  ASSERT_TRUE(plan.ok()) << test::describe(plan.error());
  ASSERT_EQ(plan.value().range_count, 1u);
  EXPECT_EQ(plan.value().ranges[0], range(0x9020000, 0x1000));  // reg size 0x18, page-rounded
  EXPECT_EQ(plan.value().spi_count, 0u);
}

void expect_pcie_plan(const char* fixture) {
  // ECAM 0x40_1000_0000+256 MiB; ranges: I/O 0x3eff0000+64 KiB, 32-bit MMIO
  // 0x10000000+0x2eff0000 (adjacent to the I/O window: merged), 64-bit MMIO
  // 0x80_0000_0000+512 GiB; INTx through interrupt-map = SPIs 3..6 (INTIDs
  // 35..38), level. With GICv3 the map's parent has #address-cells 2, with
  // GICv2 too (its v2m child): the parser must skip those cells either way.
  const Dtb dtb = with_vms(fixture, {{"/pcie@10000000"}});
  const auto plan = plan_of(dtb, "/chosen/vm1");
  ASSERT_TRUE(plan.ok()) << test::describe(plan.error());
  ASSERT_EQ(plan.value().range_count, 3u);
  EXPECT_EQ(plan.value().ranges[0], range(0x10000000, 0x2eff0000 + 0x10000));
  EXPECT_EQ(plan.value().ranges[1], range(0x4010000000, 0x10000000));
  EXPECT_EQ(plan.value().ranges[2], range(0x8000000000, 0x8000000000));
  ASSERT_EQ(plan.value().spi_count, 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    bool found = false;
    for (size_t j = 0; j < plan.value().spi_count; ++j)
      found |= plan.value().spis[j] == PassthroughSpi{35 + i, false};
    EXPECT_TRUE(found) << "INTID " << 35 + i;
  }
}

TEST(Passthrough, PcieHostBridgeGicV3) { expect_pcie_plan(kGicV3Fixture); }
TEST(Passthrough, PcieHostBridgeGicV2) { expect_pcie_plan(kGicV2Fixture); }

TEST(Passthrough, RefusesLaminasOwnDevices) {
  // The console UART, the GIC, the ITS inside it, memory and /cpus are
  // lamina's; the message names the VM and the device path.
  expect_dt_error(plan_error({"/pl011@9000000"}), DtErrorCode::kBadProperty, "/chosen/vm1: /pl011@9000000",
                  kPassthroughProperty);
  expect_dt_error(plan_error({"/intc@8000000"}), DtErrorCode::kBadProperty, "/chosen/vm1: /intc@8000000",
                  kPassthroughProperty);
  expect_dt_error(plan_error({"/intc@8000000/its@8080000"}), DtErrorCode::kBadProperty,
                  "/chosen/vm1: /intc@8000000/its@8080000", kPassthroughProperty);
  expect_dt_error(plan_error({"/memory@40000000"}), DtErrorCode::kBadProperty,
                  "/chosen/vm1: /memory@40000000", kPassthroughProperty);
  expect_dt_error(plan_error({"/cpus"}), DtErrorCode::kBadProperty, "/chosen/vm1: /cpus",
                  kPassthroughProperty);
}

TEST(Passthrough, WithoutStdoutPathTheFirstPl011IsLaminas) {
  // Platform discovery's rule: no stdout-path, the first enabled PL011.
  Dtb dtb = with_vms(kGicV3Fixture, {{"/pl011@9000000"}});
  ASSERT_EQ(fdt_delprop(dtb.data(), dtb.node("/chosen"), "stdout-path"), 0);
  const auto r = plan_of(dtb, "/chosen/vm1");
  ASSERT_FALSE(r.ok());
  expect_dt_error(r.error(), DtErrorCode::kBadProperty, "/chosen/vm1: /pl011@9000000", kPassthroughProperty);
}

TEST(Passthrough, RefusesMissingRelativeDuplicateAndRegless) {
  expect_dt_error(plan_error({"/pl031@9999000"}), DtErrorCode::kMissingNode, "/chosen/vm1: /pl031@9999000",
                  kPassthroughProperty);
  expect_dt_error(plan_error({"pl031@9010000"}), DtErrorCode::kBadProperty, "/chosen/vm1: pl031@9010000",
                  kPassthroughProperty);
  expect_dt_error(plan_error({"/pl031@9010000", "/pl031@9010000"}), DtErrorCode::kBadProperty,
                  "/chosen/vm1: /pl031@9010000", kPassthroughProperty);
  expect_dt_error(plan_error({"/gpio-keys"}), DtErrorCode::kBadProperty, "/chosen/vm1: /gpio-keys",
                  kPassthroughProperty);
}

TEST(Passthrough, RefusesAPpi) {
  // /pmu has interrupts <1 7 4>: a PPI, which no VM may own.
  Dtb dtb = with_vms(kGicV3Fixture, {{"/pmu"}});
  // Give /pmu a reg so that the interrupt check is what refuses it.
  dtb.set(dtb.node("/pmu"), "reg", {0, 0x9050000, 0, 0x1000});
  const auto r = plan_of(dtb, "/chosen/vm1");
  ASSERT_FALSE(r.ok());
  expect_dt_error(r.error(), DtErrorCode::kBadProperty, "/chosen/vm1: /pmu", kPassthroughProperty);
}

TEST(Passthrough, RefusesALowLevelTrigger) {
  Dtb dtb = with_vms(kGicV3Fixture, {{"/pl031@9010000"}});
  dtb.set(dtb.node("/pl031@9010000"), "interrupts", {0, 2, 8});
  const auto r = plan_of(dtb, "/chosen/vm1");
  ASSERT_FALSE(r.ok());
  expect_dt_error(r.error(), DtErrorCode::kBadProperty, "/chosen/vm1: /pl031@9010000", kPassthroughProperty);
}

TEST(Passthrough, BindingParsesThePlanIntoTheDescription) {
  const Dtb dtb = with_vms(kGicV3Fixture, {{"/pl031@9010000", "/pl061@9030000"}, {"/fw-cfg@9020000"}});
  VmDescriptions out;
  const auto r = parse_vm_descriptions(dtb.data(), &out);
  ASSERT_TRUE(r.ok()) << test::describe(r.error());
  ASSERT_EQ(out.count, 2u);
  EXPECT_EQ(out.vms[0].passthrough.node_count, 2u);
  EXPECT_EQ(out.vms[0].passthrough.spi_count, 2u);  // SPIs 2 and 7
  EXPECT_EQ(out.vms[1].passthrough.node_count, 1u);
}

TEST(Passthrough, BindingRefusesADeviceGivenToTwoVms) {
  const Dtb dtb = with_vms(kGicV3Fixture, {{"/pl031@9010000"}, {"/pl031@9010000"}});
  VmDescriptions out;
  const auto r = parse_vm_descriptions(dtb.data(), &out);
  ASSERT_FALSE(r.ok());
  expect_dt_error(r.error(), DtErrorCode::kBadProperty, "/chosen/vm2 and /chosen/vm1", kPassthroughProperty);
  EXPECT_EQ(out.count, 0u);
}

TEST(Passthrough, BindingRefusesSplittingAPageOfVirtioTransports) {
  // a000000 and a000e00 are in the same 4 KiB page.
  const Dtb dtb = with_vms(kGicV3Fixture, {{"/virtio_mmio@a000000"}, {"/virtio_mmio@a000e00"}});
  VmDescriptions out;
  const auto r = parse_vm_descriptions(dtb.data(), &out);
  ASSERT_FALSE(r.ok());
  expect_dt_error(r.error(), DtErrorCode::kBadProperty, "/chosen/vm2 and /chosen/vm1", kPassthroughProperty);
  EXPECT_NE(std::string(r.error().detail).find("page"), std::string::npos);
}

TEST(Passthrough, BindingAcceptsTransportsInDifferentPages) {
  const Dtb dtb = with_vms(kGicV3Fixture, {{"/virtio_mmio@a000000"}, {"/virtio_mmio@a001000"}});
  VmDescriptions out;
  const auto r = parse_vm_descriptions(dtb.data(), &out);
  EXPECT_TRUE(r.ok()) << test::describe(r.error());
}

}  // namespace
}  // namespace lamina::hyp
