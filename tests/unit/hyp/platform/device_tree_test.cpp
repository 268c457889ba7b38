// The typed libfdt layer under discover_platform(): cell decoding, paths,
// aliases, status/compatible checks, `reg` splitting, translation through
// `ranges` and interrupt-parent resolution.
#include "hyp/platform/device_tree.hpp"

#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>

#include "fakes/dtb_blob.hpp"

namespace lamina::hyp::dt {
namespace {

using test::Dtb;
using test::expect_dt_error;
using test::range;

DeviceTree open_ok(const Dtb& dtb) {
  auto tree = DeviceTree::open(dtb.data(), dtb.capacity());
  EXPECT_TRUE(tree.ok()) << (tree.ok() ? "" : tree.error().detail);
  return tree.value();
}

// Looks up a node in an already-opened tree (libfdt offsets).
int at(const DeviceTree& tree, const char* path) { return fdt_path_offset(tree.blob(), path); }

TEST(DeviceTreeCellsTest, ReadsBigEndianAtAnyAlignment) {
  alignas(8) const uint8_t bytes[] = {0xaa, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
  EXPECT_EQ(read_cell(bytes + 1), 0x12345678u);
  EXPECT_EQ(read_cells(bytes + 1, 0), 0u);
  EXPECT_EQ(read_cells(bytes + 1, 1), 0x12345678u);
  EXPECT_EQ(read_cells(bytes + 1, 2), 0x123456789abcdef0u);
}

TEST(DeviceTreeCellsTest, GicSpecifiersToIntids) {
  uint32_t intid = 0;
  EXPECT_TRUE(gic_spec_to_intid(0, 0, &intid));
  EXPECT_EQ(intid, 32u);
  EXPECT_TRUE(gic_spec_to_intid(0, 987, &intid));
  EXPECT_EQ(intid, 1019u);
  EXPECT_FALSE(gic_spec_to_intid(0, 988, &intid));  // 1020..1023 are special INTIDs
  EXPECT_TRUE(gic_spec_to_intid(1, 0, &intid));
  EXPECT_EQ(intid, 16u);
  EXPECT_TRUE(gic_spec_to_intid(1, 9, &intid));
  EXPECT_EQ(intid, 25u);  // the GIC maintenance interrupt on QEMU virt and the Pi 4
  EXPECT_TRUE(gic_spec_to_intid(1, 15, &intid));
  EXPECT_EQ(intid, 31u);
  EXPECT_FALSE(gic_spec_to_intid(1, 16, &intid));
  EXPECT_FALSE(gic_spec_to_intid(2, 0, &intid));  // GICv3 extended SPI
  EXPECT_FALSE(gic_spec_to_intid(3, 0, &intid));  // GICv3 extended PPI
}

TEST(DeviceTreeCellsTest, CopyStringTruncatesAndTerminates) {
  char buf[6];
  copy_string(buf, sizeof(buf), "abcdefgh", 8);
  EXPECT_STREQ(buf, "abcde");
  copy_string(buf, sizeof(buf), "ab\0cd", 5);
  EXPECT_STREQ(buf, "ab");
  copy_string(buf, sizeof(buf), "abcdef", 3);  // src_len bounds an unterminated source
  EXPECT_STREQ(buf, "abc");
  copy_string(buf, sizeof(buf), nullptr, 3);
  EXPECT_STREQ(buf, "");
  char untouched = 'x';
  copy_string(&untouched, 0, "abc", 3);
  EXPECT_EQ(untouched, 'x');
}

TEST(DeviceTreeTest, CellCountsAndDefaults) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  const CellCounts root = tree.child_cells(kRootNode).value();
  EXPECT_EQ(root.address, 2u);
  EXPECT_EQ(root.size, 2u);
  const CellCounts soc = tree.child_cells(at(tree, "/soc")).value();
  EXPECT_EQ(soc.address, 1u);
  EXPECT_EQ(soc.size, 1u);
  // Absent: the DT spec's defaults.
  const CellCounts chosen = tree.child_cells(at(tree, "/chosen")).value();
  EXPECT_EQ(chosen.address, 2u);
  EXPECT_EQ(chosen.size, 1u);
}

TEST(DeviceTreeTest, BadCellCounts) {
  Dtb dtb = Dtb::empty();
  const int bus = dtb.add(0, "bus");
  dtb.set(bus, "#address-cells", {5});
  const DeviceTree tree = open_ok(dtb);
  expect_dt_error(tree.child_cells(bus).error(), DtErrorCode::kBadProperty, "/bus", "#address-cells");
}

TEST(DeviceTreeTest, RegEntriesUseTheParentsCells) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  const Reg memory = tree.reg(at(tree, "/memory@80000000")).value();
  ASSERT_EQ(memory.count, 2u);
  EXPECT_EQ(memory.entry(0).address, 0x80000000u);
  EXPECT_EQ(memory.entry(0).size, 0x40000000u);
  EXPECT_EQ(memory.entry(1).address, 0xc0000000u);
  EXPECT_EQ(memory.entry(1).size, 0u);
  // /reserved-memory has #size-cells = 1 where the root has 2.
  const Reg shm = tree.reg(at(tree, "/reserved-memory/shm@90000000")).value();
  ASSERT_EQ(shm.count, 2u);
  EXPECT_EQ(shm.cells.size, 1u);
  EXPECT_EQ(shm.entry(1).address, 0x90010000u);
  EXPECT_EQ(shm.entry(1).size, 0x1000u);
}

TEST(DeviceTreeTest, TranslatesThroughEveryAncestor) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  EXPECT_EQ(tree.reg_range(at(tree, "/soc/bridge@1000000/serial@2000"), 0).value(),
            range(0x21002000, 0x1000));
  EXPECT_EQ(tree.reg_range(at(tree, "/soc/interrupt-controller@f000000"), 2).value(),
            range(0x2f300000, 0x100000));
  // Root children need no translation.
  EXPECT_EQ(tree.reg_range(at(tree, "/memory@100000000"), 0).value(), range(0x100000000, 0x20000000));

  expect_dt_error(tree.reg_range(at(tree, "/soc/bridge@1000000/serial@2000"), 1).error(),
                  DtErrorCode::kBadProperty, "/soc/bridge@1000000/serial@2000", "reg");
}

TEST(DeviceTreeTest, UntranslatableAddresses) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  expect_dt_error(tree.reg_range(at(tree, "/isolated-bus/serial@3000"), 0).error(),
                  DtErrorCode::kUntranslatable, "/isolated-bus", "ranges");

  const DtError outside = tree.reg_range(at(tree, "/soc/bridge@1000000/unmapped@200000"), 0).error();
  EXPECT_EQ(outside.code, DtErrorCode::kUntranslatable);
  EXPECT_STREQ(outside.node, "/soc/bridge@1000000");
}

// A 64-bit bus (two address and size cells) mapped high, a window a region
// overruns, and a PCI-style three-cell bus.
TEST(DeviceTreeTest, WideBusesAndWindowEdges) {
  // fdt_add_subnode moves later nodes, so every step looks its node up by path.
  Dtb dtb = Dtb::empty();
  dtb.add(0, "pci");
  dtb.add(dtb.node("/pci"), "function@0");
  dtb.add(0, "bus@800000000");
  dtb.add(dtb.node("/bus@800000000"), "edge@ffffff00");
  dtb.add(dtb.node("/bus@800000000"), "dev@1000");

  dtb.set(dtb.node("/bus@800000000"), "#address-cells", {2});
  dtb.set(dtb.node("/bus@800000000"), "#size-cells", {2});
  // 4 GiB at 0x8_0000_0000.
  dtb.set(dtb.node("/bus@800000000"), "ranges", {0x0, 0x0, 0x8, 0x0, 0x1, 0x0});
  dtb.set(dtb.node("/bus@800000000/dev@1000"), "reg", {0x0, 0x1000, 0x0, 0x100});
  // Runs 0x100 past the window.
  dtb.set(dtb.node("/bus@800000000/edge@ffffff00"), "reg", {0x0, 0xffffff00, 0x0, 0x200});

  dtb.set(dtb.node("/pci"), "#address-cells", {3});
  dtb.set(dtb.node("/pci"), "#size-cells", {2});
  dtb.set(dtb.node("/pci"), "ranges", {0x02000000, 0x0, 0x0, 0x0, 0x10000000, 0x0, 0x10000000});
  dtb.set(dtb.node("/pci/function@0"), "reg", {0x0, 0x0, 0x0, 0x0, 0x0});

  const DeviceTree tree = open_ok(dtb);
  EXPECT_EQ(tree.reg_range(at(tree, "/bus@800000000/dev@1000"), 0).value(), range(0x800001000, 0x100));
  expect_dt_error(tree.reg_range(at(tree, "/bus@800000000/edge@ffffff00"), 0).error(),
                  DtErrorCode::kUntranslatable, "/bus@800000000", "ranges");
  expect_dt_error(tree.reg(at(tree, "/pci/function@0")).error(), DtErrorCode::kUnsupported, "/pci/function@0",
                  "reg");
}

TEST(DeviceTreeTest, RangesWrappingPast64BitsIsBad) {
  Dtb dtb = Dtb::empty();
  dtb.add(0, "bus");
  dtb.add(dtb.node("/bus"), "dev@2000");
  dtb.set(dtb.node("/bus"), "#address-cells", {1});
  dtb.set(dtb.node("/bus"), "#size-cells", {1});
  dtb.set(dtb.node("/bus"), "ranges", {0x0, 0xffffffff, 0xfffff000, 0x10000});
  dtb.set(dtb.node("/bus/dev@2000"), "reg", {0x2000, 0x10});
  const DeviceTree tree = open_ok(dtb);
  expect_dt_error(tree.reg_range(at(tree, "/bus/dev@2000"), 0).error(), DtErrorCode::kBadProperty, "/bus",
                  "ranges");
}

// Deep nesting is followed up to kMaxDepth buses, then refused.
// parent() walks the blob once instead of calling fdt_parent_offset: for every
// node of real DTBs (and the synthetic one with its nested buses) it must give
// libfdt's answer, and the root has none.
TEST(DeviceTreeTest, ParentOfEveryNodeIsLibfdts) {
  for (const char* name : {"qemu-virt-gicv3-max-smp4-4g.dtb", "bcm2711-rpi-4-b.dtb", "synthetic.dtb"}) {
    const Dtb dtb = Dtb::load(name);
    const DeviceTree tree = open_ok(dtb);
    int nodes = 0;
    int depth = 0;
    for (int node = fdt_next_node(tree.blob(), -1, &depth); node >= 0; node = fdt_next_node(tree.blob(), node, &depth)) {
      ++nodes;
      const auto up = tree.parent(node);
      if (node == kRootNode) {
        ASSERT_FALSE(up.ok()) << name;
        EXPECT_EQ(up.error().code, DtErrorCode::kMalformed);
        continue;
      }
      ASSERT_TRUE(up.ok()) << name << " node at " << node;
      EXPECT_EQ(up.value(), fdt_parent_offset(tree.blob(), node)) << name << " node at " << node;
    }
    EXPECT_GT(nodes, 10) << name;
  }
}

// Every node's every property, and names no node has, read through the
// index's own property walk: the same value and size as fdt_getprop.
void expect_properties_match_libfdt(const DeviceTree& tree, const char* name) {
  ASSERT_TRUE(tree.indexed()) << name;
  const void* fdt = tree.blob();
  int properties = 0;
  int depth = 0;
  for (int node = fdt_next_node(fdt, -1, &depth); node >= 0; node = fdt_next_node(fdt, node, &depth)) {
    int name_len = -1;
    int want_name_len = -2;
    const char* node_name = tree.name(node, &name_len);
    EXPECT_EQ(node_name, fdt_get_name(fdt, node, &want_name_len)) << name << " node " << node;
    EXPECT_EQ(name_len, want_name_len) << name << " node " << node;
    int offset = 0;
    int mine = tree.first_property(node);
    fdt_for_each_property_offset(offset, fdt, node) {
      const char* pname = nullptr;
      int len = 0;
      const void* value = fdt_getprop_by_offset(fdt, offset, &pname, &len);
      ASSERT_NE(value, nullptr);
      // The walk: the same offsets, names and values as libfdt's.
      ASSERT_EQ(mine, offset) << name << " node " << node;
      DeviceTree::NamedProperty named;
      int error = 0;
      ASSERT_TRUE(tree.property_at(mine, &named, &error)) << name << " node " << node;
      EXPECT_EQ(named.name, pname);
      EXPECT_EQ(named.value.data, value);
      EXPECT_EQ(named.value.size, static_cast<size_t>(len));
      mine = tree.next_property(mine);
      int want_len = 0;
      const void* want = fdt_getprop(fdt, node, pname, &want_len);  // the first of that name
      Property got;
      ASSERT_TRUE(tree.property(node, pname, &got)) << name << " node " << node << " " << pname;
      EXPECT_EQ(got.data, want) << name << " node " << node << " " << pname;
      EXPECT_EQ(got.size, static_cast<size_t>(want_len)) << name << " node " << node << " " << pname;
      ++properties;
    }
    EXPECT_EQ(mine, offset) << name << " node " << node;  // both -FDT_ERR_NOTFOUND
    for (const char* absent : {"", "reg-names-x", "interrupt", "#address-cellsx", "compatibl"}) {
      Property got;
      EXPECT_EQ(tree.property(node, absent, &got), fdt_getprop(fdt, node, absent, nullptr) != nullptr)
          << name << " node " << node << " '" << absent << "'";
    }
  }
  EXPECT_GT(properties, 50) << name;
}

TEST(DeviceTreeTest, PropertiesAreLibfdts) {
  for (const char* name : {"qemu-virt-gicv3-max-smp4-4g.dtb", "qemu-virt-gicv2-a57-smp1-1g.dtb",
                           "bcm2711-rpi-4-b.dtb", "synthetic.dtb"}) {
    const Dtb dtb = Dtb::load(name);
    expect_properties_match_libfdt(open_ok(dtb), name);
  }
}

// FDT_NOP tokens (left by fdt_nop_property, fdt_nop_node) sit among a
// node's properties and between nodes; a lookup steps over them and still
// stops at the node's first child.
TEST(DeviceTreeTest, PropertiesSkipNops) {
  Dtb dtb = Dtb::load("qemu-virt-gicv3-max-smp4-4g.dtb").editable();
  const int root = 0;
  ASSERT_EQ(fdt_nop_property(dtb.data(), root, "model"), 0);
  ASSERT_EQ(fdt_nop_property(dtb.data(), fdt_path_offset(dtb.data(), "/chosen"), "stdout-path"), 0);
  const DeviceTree tree = open_ok(dtb);
  Property p;
  EXPECT_FALSE(tree.property(root, "model", &p));
  EXPECT_TRUE(tree.property(root, "#address-cells", &p));
  EXPECT_FALSE(tree.property(root, "migrate", &p));  // /psci's, a child's property
  expect_properties_match_libfdt(tree, "with NOPs");
}

TEST(DeviceTreeTest, NestingDepthIsBounded) {
  for (int levels : {kMaxDepth - 2, kMaxDepth + 4}) {
    Dtb dtb = Dtb::empty(1 << 20);
    int parent = 0;
    for (int i = 0; i < levels; ++i) {
      parent = dtb.add(parent, "bus-level");
      dtb.set(parent, "#address-cells", {1});
      dtb.set(parent, "#size-cells", {1});
      dtb.set_empty(parent, "ranges");
    }
    const int dev = dtb.add(parent, "dev");
    dtb.set(dev, "reg", {0x1000, 0x10});
    const DeviceTree tree = open_ok(dtb);
    const auto result = tree.reg_range(dev, 0);
    if (levels < kMaxDepth) {
      ASSERT_TRUE(result.ok()) << levels;
      EXPECT_EQ(result.value(), range(0x1000, 0x10));
    } else {
      ASSERT_FALSE(result.ok()) << levels;
      EXPECT_EQ(result.error().code, DtErrorCode::kUnsupported);
      // The path is too long for DtError::node: it keeps the leaf name.
      EXPECT_STREQ(result.error().node, ".../dev");
    }
  }
}

TEST(DeviceTreeTest, StatusAndCompatible) {
  Dtb dtb = Dtb::load("synthetic.dtb").editable();
  const int serial = dtb.node("/soc/bridge@1000000/serial@2000");
  ASSERT_EQ(fdt_setprop_string(dtb.data(), serial, "status", "ok"), 0);
  const int cpu = dtb.node("/cpus/cpu@100");
  ASSERT_EQ(fdt_setprop_string(dtb.data(), cpu, "status", "fail"), 0);
  const DeviceTree tree = open_ok(dtb);
  EXPECT_TRUE(tree.is_enabled(at(tree, "/soc")));                             // no status
  EXPECT_TRUE(tree.is_enabled(at(tree, "/soc/bridge@1000000/serial@2000")));  // "ok"
  EXPECT_FALSE(tree.is_enabled(at(tree, "/soc/serial@1000")));                // "disabled"
  EXPECT_FALSE(tree.is_enabled(at(tree, "/cpus/cpu@100")));                   // "fail"
  EXPECT_TRUE(tree.is_compatible(at(tree, "/soc/serial@1000"), "arm,primecell"));
  EXPECT_FALSE(tree.is_compatible(at(tree, "/soc/serial@1000"), "arm,pl01"));
  EXPECT_EQ(tree.first_enabled_compatible("arm,pl011"), at(tree, "/soc/bridge@1000000/serial@2000"));
  EXPECT_LT(tree.first_enabled_compatible("no,such-device"), 0);
  EXPECT_TRUE(tree.string_equals(at(tree, "/cpus/cpu@0"), "device_type", "cpu"));
  EXPECT_FALSE(tree.string_equals(at(tree, "/cpus/cpu@0"), "device_type", "cp"));
  EXPECT_FALSE(tree.string_equals(at(tree, "/cpus/cpu-map"), "device_type", "cpu"));
}

TEST(DeviceTreeTest, ResolvesAliasesAndPaths) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  const auto resolve = [&](const char* text) { return tree.resolve_path(text, strlen(text), "test"); };
  EXPECT_EQ(resolve("/soc").value(), at(tree, "/soc"));
  EXPECT_EQ(resolve("bus").value(), at(tree, "/soc/bridge@1000000"));
  EXPECT_EQ(resolve("bus/serial@2000").value(), at(tree, "/soc/bridge@1000000/serial@2000"));
  EXPECT_EQ(resolve("uart-disabled").value(), at(tree, "/soc/serial@1000"));
  // `len` cuts the string (e.g. before ":options").
  EXPECT_EQ(tree.resolve_path("/socks", 4, "test").value(), at(tree, "/soc"));

  expect_dt_error(resolve("bus/serial@9999").error(), DtErrorCode::kMissingNode,
                  "/soc/bridge@1000000/serial@9999", "test");
  const DtError no_alias = resolve("nothing/here").error();
  EXPECT_EQ(no_alias.code, DtErrorCode::kMissingNode);
  EXPECT_STREQ(no_alias.node, "nothing/here");
}

TEST(DeviceTreeTest, StringAndCellProperties) {
  Dtb dtb = Dtb::load("synthetic.dtb").editable();
  const int psci = dtb.node("/psci");
  ASSERT_EQ(fdt_setprop(dtb.data(), psci, "unterminated", "hvc", 3), 0);
  const DeviceTree tree = open_ok(dtb);
  const int node = at(tree, "/psci");
  EXPECT_STREQ(tree.string(node, "method", true).value(), "hvc");
  EXPECT_EQ(tree.string(node, "absent", false).value(), nullptr);
  EXPECT_EQ(tree.string(node, "absent", true).error().code, DtErrorCode::kMissingProperty);
  EXPECT_EQ(tree.string(node, "unterminated", true).error().code, DtErrorCode::kBadProperty);
  EXPECT_EQ(tree.u32(node, "cpu_on").value(), 0x95c10001u);
  EXPECT_EQ(tree.u32_or(node, "absent", 7).value(), 7u);
  EXPECT_EQ(tree.u32(node, "compatible").error().code, DtErrorCode::kBadProperty);  // 9 bytes
}

TEST(DeviceTreeTest, InterruptParents) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  const int gic = at(tree, "/soc/interrupt-controller@f000000");
  // Inherited from the root's interrupt-parent.
  EXPECT_EQ(tree.interrupt_parent(at(tree, "/soc/timer")).value(), gic);
  EXPECT_EQ(tree.interrupt_parent(at(tree, "/soc/bridge@1000000/serial@2000")).value(), gic);
  // The GIC's own parent (through the root) is itself.
  EXPECT_EQ(tree.interrupt_parent(gic).value(), gic);
}

TEST(DeviceTreeTest, NodeByPhandleAgreesWithLibfdt) {
  // The index answers what fdt_node_offset_by_phandle's walk answers, for
  // the root's interrupt-parent, a phandle no node has, and 0 and ~0.
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  ASSERT_TRUE(tree.indexed());
  int len = 0;
  const auto* ip = static_cast<const fdt32_t*>(fdt_getprop(dtb.data(), 0, "interrupt-parent", &len));
  ASSERT_NE(ip, nullptr);
  const uint32_t gic = fdt32_to_cpu(*ip);
  EXPECT_EQ(tree.node_by_phandle(gic), at(tree, "/soc/interrupt-controller@f000000"));
  EXPECT_EQ(tree.node_by_phandle(gic), fdt_node_offset_by_phandle(dtb.data(), gic));
  EXPECT_EQ(tree.node_by_phandle(0x7777), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(tree.node_by_phandle(0), fdt_node_offset_by_phandle(dtb.data(), 0));
  EXPECT_EQ(tree.node_by_phandle(UINT32_MAX), fdt_node_offset_by_phandle(dtb.data(), UINT32_MAX));
}

TEST(DeviceTreeTest, InterruptParentCycleIsBounded) {
  // Two nodes naming each other, neither an interrupt controller.
  Dtb dtb = Dtb::empty();
  dtb.add(0, "b");
  dtb.add(0, "a");
  dtb.set(dtb.node("/a"), "phandle", {1});
  dtb.set(dtb.node("/b"), "phandle", {2});
  dtb.set(dtb.node("/a"), "interrupt-parent", {2});
  dtb.set(dtb.node("/b"), "interrupt-parent", {1});
  const DeviceTree tree = open_ok(dtb);
  expect_dt_error(tree.interrupt_parent(at(tree, "/a")).error(), DtErrorCode::kBadProperty, "/a",
                  "interrupt-parent");
}

TEST(DeviceTreeTest, PathsFitTheBuffer) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const DeviceTree tree = open_ok(dtb);
  const int serial = at(tree, "/soc/bridge@1000000/serial@2000");
  char buf[kMaxDtPath];
  tree.path(serial, buf, sizeof(buf));
  EXPECT_STREQ(buf, "/soc/bridge@1000000/serial@2000");
  char small[12];
  tree.path(serial, small, sizeof(small));
  EXPECT_STREQ(small, ".../serial@");  // leaf name, truncated
  char none = 'x';
  tree.path(serial, &none, 0);
  EXPECT_EQ(none, 'x');
}

TEST(DeviceTreeTest, OpenRejectsBadBlobs) {
  EXPECT_EQ(DeviceTree::open(nullptr, kMaxDtbSize).error().code, DtErrorCode::kNoBlob);
  Dtb dtb = Dtb::load("synthetic.dtb");
  EXPECT_EQ(DeviceTree::open(dtb.data(), 100).error().code, DtErrorCode::kTooLarge);
  fdt_set_magic(dtb.data(), 0);
  EXPECT_EQ(DeviceTree::open(dtb.data(), kMaxDtbSize).error().code, DtErrorCode::kBadHeader);
}

}  // namespace
}  // namespace lamina::hyp::dt
