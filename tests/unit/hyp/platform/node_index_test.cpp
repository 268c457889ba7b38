// The node index behind DeviceTree: every indexed answer must be libfdt's
// own, node by node, on every fixture DTB, and a tree the index cannot hold
// must still be answered (by libfdt's walks).
#include "hyp/platform/node_index.hpp"

#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <set>
#include <string>
#include <vector>

#include "fakes/dtb_blob.hpp"
#include "hyp/platform/device_tree.hpp"

namespace lamina::hyp::dt {
namespace {

using test::Dtb;

constexpr const char* kFixtures[] = {
    "dtb/qemu-virt-gicv3-max-smp4-4g.dtb",
    "dtb/qemu-virt-gicv2-a57-smp1-1g.dtb",
    "dtb/qemu-virt-el1-gicv2-a57-smp2-1g.dtb",
    "dtb/qemu-virt-gicv3-a72-smp2-2g.dtb",
    "dtb/bcm2711-rpi-4-b.dtb",
    "dtb/qemu-raspi4b.dtb",
    "dtb/synthetic.dtb",
    "guest_dtb/user.dtb",
};

// device_type values the fixtures use, a prefix of one and one nobody uses.
constexpr const char* kDeviceTypes[] = {"memory", "cpu", "pci", "mem", "lamina,none"};

Dtb load_fixture(const std::string& relative) {
  // Dtb::load reads from fixtures/dtb; the guest DTB fixture lives beside it.
  return Dtb::load("../" + relative);
}

std::vector<int> libfdt_nodes(const void* fdt) {
  std::vector<int> nodes;
  for (int node = fdt_next_node(fdt, -1, nullptr); node >= 0; node = fdt_next_node(fdt, node, nullptr)) {
    nodes.push_back(node);
  }
  return nodes;
}

std::string libfdt_path(const void* fdt, int node) {
  char buf[1024];
  EXPECT_EQ(fdt_get_path(fdt, node, buf, sizeof(buf)), 0);
  return buf;
}

// The strings of the node's `compatible`, as libfdt's stringlist API sees them.
std::vector<std::string> compatibles(const void* fdt, int node) {
  std::vector<std::string> out;
  const int count = fdt_stringlist_count(fdt, node, "compatible");
  for (int i = 0; i < count; ++i) out.emplace_back(fdt_stringlist_get(fdt, node, "compatible", i, nullptr));
  return out;
}

bool libfdt_enabled(const void* fdt, int node) {
  int len = 0;
  const auto* status = static_cast<const char*>(fdt_getprop(fdt, node, "status", &len));
  if (status == nullptr) return true;
  const size_t n = strnlen(status, static_cast<size_t>(len));
  return (n == 4 && strncmp(status, "okay", 4) == 0) || (n == 2 && strncmp(status, "ok", 2) == 0);
}

int libfdt_first_enabled_compatible(const void* fdt, const char* compat) {
  for (int node = fdt_node_offset_by_compatible(fdt, -1, compat); node >= 0;
       node = fdt_node_offset_by_compatible(fdt, node, compat)) {
    if (libfdt_enabled(fdt, node)) return node;
  }
  return -FDT_ERR_NOTFOUND;
}

// Compares every DeviceTree query that the index answers with libfdt's
// answer, for every node of the blob.
void expect_libfdt_answers(const DeviceTree& tree, const std::string& what) {
  const void* fdt = tree.blob();
  const std::vector<int> nodes = libfdt_nodes(fdt);
  ASSERT_FALSE(nodes.empty()) << what;

  int previous = -1;
  std::set<std::string> all_compatibles;
  for (const int node : nodes) {
    SCOPED_TRACE(what + " " + libfdt_path(fdt, node));
    EXPECT_EQ(tree.next_node(previous), node);
    previous = node;

    const auto up = tree.parent(node);
    if (node == kRootNode) {
      ASSERT_FALSE(up.ok());
      EXPECT_EQ(up.error().code, DtErrorCode::kMalformed);
    } else {
      ASSERT_TRUE(up.ok());
      EXPECT_EQ(up.value(), fdt_parent_offset(fdt, node));
    }

    const std::string path = libfdt_path(fdt, node);
    char buf[1024];
    tree.path(node, buf, sizeof(buf));
    EXPECT_EQ(std::string(buf), path);
    EXPECT_EQ(tree.find_path(path.c_str()), fdt_path_offset(fdt, path.c_str()));
    // Every component without its unit address: libfdt takes the first
    // child whose name matches before the '@'.
    std::string short_path;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '@') {
        while (i < path.size() && path[i] != '/') ++i;
        if (i == path.size()) break;
      }
      short_path += path[i];
    }
    EXPECT_EQ(tree.find_path(short_path.c_str()), fdt_path_offset(fdt, short_path.c_str())) << short_path;
    const std::string doubled = "/" + path + "//";
    EXPECT_EQ(tree.find_path(doubled.c_str()), fdt_path_offset(fdt, doubled.c_str())) << doubled;
    const std::string missing = path + (path == "/" ? "" : "/") + "no-such-node";
    EXPECT_EQ(tree.find_path(missing.c_str()), fdt_path_offset(fdt, missing.c_str())) << missing;
    // The same through resolve_path (a path with a length, e.g. before ":options").
    const std::string with_options = path + ":115200n8";
    const auto resolved = tree.resolve_path(with_options.c_str(), path.size(), "stdout-path");
    ASSERT_TRUE(resolved.ok());
    EXPECT_EQ(resolved.value(), node);

    EXPECT_EQ(tree.is_enabled(node), libfdt_enabled(fdt, node));
    for (const std::string& c : compatibles(fdt, node)) {
      EXPECT_TRUE(tree.is_compatible(node, c.c_str())) << c;
      all_compatibles.insert(c);
      // A prefix of a listed string is not listed.
      const std::string prefix = c.substr(0, c.size() - 1);
      EXPECT_EQ(tree.is_compatible(node, prefix.c_str()),
                fdt_node_check_compatible(fdt, node, prefix.c_str()) == 0)
          << prefix;
    }
    EXPECT_FALSE(tree.is_compatible(node, "lamina,no-such-device"));

    for (const char* type : kDeviceTypes) {
      EXPECT_EQ(
          tree.next_of_device_type(node, type),
          fdt_node_offset_by_prop_value(fdt, node, "device_type", type, static_cast<int>(strlen(type) + 1)))
          << type;
    }

    const uint32_t phandle = fdt_get_phandle(fdt, node);
    if (phandle != 0) {
      // interrupt_parent() follows phandles: a node pointing at this one
      // reaches it exactly when libfdt's lookup does.
      EXPECT_EQ(fdt_node_offset_by_phandle(fdt, phandle), node);
    }
  }
  EXPECT_EQ(tree.next_node(previous), -FDT_ERR_NOTFOUND);
  for (const char* type : kDeviceTypes) {
    EXPECT_EQ(tree.next_of_device_type(-1, type),
              fdt_node_offset_by_prop_value(fdt, -1, "device_type", type, static_cast<int>(strlen(type) + 1)))
        << what << " " << type;
  }

  all_compatibles.insert("lamina,no-such-device");
  for (const std::string& c : all_compatibles) {
    EXPECT_EQ(tree.first_enabled_compatible(c.c_str()), libfdt_first_enabled_compatible(fdt, c.c_str()))
        << what << " " << c;
  }
}

TEST(NodeIndexTest, EveryAnswerIsLibfdtsOnEveryFixture) {
  for (const char* name : kFixtures) {
    const Dtb dtb = load_fixture(name);
    auto tree = DeviceTree::open(dtb.data(), dtb.capacity());
    ASSERT_TRUE(tree.ok()) << name;
    EXPECT_TRUE(tree.value().indexed()) << name;
    expect_libfdt_answers(tree.value(), name);
  }
}

// The index on its own: phandle lookups (interrupt_parent's) and entries.
TEST(NodeIndexTest, PhandlesAndEntriesMatchLibfdt) {
  static NodeIndex index;  // big: not on the stack
  size_t fixtures_with_phandles = 0;
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const Dtb dtb = load_fixture(name);
    ASSERT_EQ(fdt_check_full(dtb.data(), dtb.capacity()), 0);
    ASSERT_TRUE(index.build(dtb.data()));
    const std::vector<int> nodes = libfdt_nodes(dtb.data());
    ASSERT_EQ(index.size(), nodes.size());
    std::set<uint32_t> phandles;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const IndexedNode& e = index.entry(i);
      EXPECT_EQ(e.offset, nodes[i]);
      EXPECT_EQ(index.find(nodes[i]), static_cast<int>(i));
      EXPECT_EQ(index.find(nodes[i] + 1), -1);  // inside a node, not a node
      EXPECT_EQ(e.phandle, fdt_get_phandle(dtb.data(), nodes[i]));
      if (e.phandle != 0) phandles.insert(e.phandle);
      // The subtree extent: every entry up to `end` descends from this one.
      for (int32_t d = static_cast<int32_t>(i) + 1; d < e.end; ++d) {
        int32_t up = index.entry(static_cast<size_t>(d)).parent;
        while (up > static_cast<int32_t>(i)) up = index.entry(static_cast<size_t>(up)).parent;
        EXPECT_EQ(up, static_cast<int32_t>(i));
      }
      if (static_cast<size_t>(e.end) < nodes.size()) {
        EXPECT_LE(index.entry(static_cast<size_t>(e.end)).parent, e.parent);
      }
    }
    if (!phandles.empty()) ++fixtures_with_phandles;
    for (uint32_t p : phandles) EXPECT_EQ(index.phandle_offset(p), fdt_node_offset_by_phandle(dtb.data(), p));
    for (uint32_t p : {0u, 0xffffffffu, 0x7fffu, 0xdeadu}) {
      if (phandles.count(p) != 0) continue;
      EXPECT_EQ(index.phandle_offset(p), fdt_node_offset_by_phandle(dtb.data(), p)) << p;
    }
    EXPECT_EQ(index.find(-1), -1);
    EXPECT_EQ(index.find(static_cast<int>(dtb.capacity())), -1);
  }
  EXPECT_GE(fixtures_with_phandles, 6u);
}

// "phandle" wins over "linux,phandle", and a phandle of the wrong size
// counts as none, as fdt_get_phandle has it; the first `status` and
// `compatible` count.
TEST(NodeIndexTest, PropertyCornerCasesMatchLibfdt) {
  Dtb dtb = Dtb::empty();
  dtb.add(0, "both");
  dtb.add(0, "linux-only");
  dtb.add(0, "wide-phandle");
  dtb.add(0, "disabled");
  dtb.add(0, "ok");
  dtb.add(0, "empty-compatible");
  dtb.add(0, "unterminated");
  dtb.set(dtb.node("/both"), "linux,phandle", {7});
  dtb.set(dtb.node("/both"), "phandle", {8});
  dtb.set(dtb.node("/linux-only"), "linux,phandle", {9});
  dtb.set(dtb.node("/wide-phandle"), "phandle", {0, 10});
  dtb.set(dtb.node("/wide-phandle"), "linux,phandle", {11});
  ASSERT_EQ(fdt_setprop_string(dtb.data(), dtb.node("/disabled"), "status", "disabled"), 0);
  ASSERT_EQ(fdt_setprop_string(dtb.data(), dtb.node("/ok"), "status", "ok"), 0);
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/empty-compatible"), "compatible", nullptr, 0), 0);
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/unterminated"), "compatible", "abc", 3), 0);
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/unterminated"), "status", "okay", 4), 0);
  // device_type must be the string with its NUL and nothing more.
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/unterminated"), "device_type", "memory", 6), 0);
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/both"), "device_type", "memory\0cpu", 11), 0);
  ASSERT_EQ(fdt_setprop_string(dtb.data(), dtb.node("/ok"), "device_type", "memory"), 0);

  const auto tree = DeviceTree::open(dtb.data(), dtb.capacity());
  ASSERT_TRUE(tree.ok());
  ASSERT_TRUE(tree.value().indexed());
  expect_libfdt_answers(tree.value(), "corner cases");
  for (const char* c : {"", "abc", "ab"}) {
    EXPECT_EQ(tree.value().is_compatible(dtb.node("/unterminated"), c),
              fdt_node_check_compatible(dtb.data(), dtb.node("/unterminated"), c) == 0)
        << c;
    EXPECT_EQ(tree.value().is_compatible(dtb.node("/empty-compatible"), c),
              fdt_node_check_compatible(dtb.data(), dtb.node("/empty-compatible"), c) == 0)
        << c;
  }

  static NodeIndex index;
  ASSERT_TRUE(index.build(dtb.data()));
  for (uint32_t p : {7u, 8u, 9u, 10u, 11u}) {
    EXPECT_EQ(index.phandle_offset(p), fdt_node_offset_by_phandle(dtb.data(), p)) << p;
  }
}

// A tree with more nodes than one index holds is answered by libfdt's walks,
// with the same answers.
TEST(NodeIndexTest, TooManyNodesFallsBackToWalking) {
  Dtb dtb = Dtb::empty(1 << 20);
  for (size_t i = 0; i < kMaxIndexedNodes; ++i) {
    const std::string name = "node@" + std::to_string(i);
    const int node = dtb.add(0, name.c_str());
    dtb.set(node, "phandle", {static_cast<uint32_t>(i + 1)});
  }
  const auto tree = DeviceTree::open(dtb.data(), dtb.capacity());
  ASSERT_TRUE(tree.ok());
  EXPECT_FALSE(tree.value().indexed());  // the root too: one node over
  expect_libfdt_answers(tree.value(), "too many nodes");

  static NodeIndex index;
  EXPECT_FALSE(index.build(dtb.data()));
  EXPECT_TRUE(index.empty());
}

// A blob no earlier open() has seen: a fixture with a property that makes
// its bytes unique in this process.
Dtb unique_blob(const char* fixture) {
  static uint32_t serial = 0;
  Dtb dtb = load_fixture(fixture).editable();
  dtb.set(0, "lamina,test-serial", {++serial});
  return dtb;
}

// A DeviceTree whose slot a later open() took over answers by walking.
TEST(NodeIndexTest, TreesOutlivedByTheirSlotStillAnswer) {
  const Dtb first = unique_blob("dtb/synthetic.dtb");
  const Dtb second = unique_blob("dtb/qemu-virt-gicv3-max-smp4-4g.dtb");
  const Dtb third = unique_blob("dtb/bcm2711-rpi-4-b.dtb");
  const auto a = DeviceTree::open(first.data(), first.capacity());
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a.value().indexed());
  // Two more blobs, each indexed anew: both slots are taken over.
  const auto b = DeviceTree::open(second.data(), second.capacity());
  const auto c = DeviceTree::open(third.data(), third.capacity());
  ASSERT_TRUE(b.ok() && c.ok());
  EXPECT_TRUE(b.value().indexed());
  EXPECT_TRUE(c.value().indexed());
  EXPECT_FALSE(a.value().indexed());
  expect_libfdt_answers(a.value(), "outlived");
  expect_libfdt_answers(b.value(), "second");
  expect_libfdt_answers(c.value(), "third");
}

// Opening the same unchanged blob again reuses its check and index; a blob
// changed in place, even with the same size, is checked and indexed again.
TEST(NodeIndexTest, ReopeningAChangedBlobChecksItAgain) {
  Dtb dtb = unique_blob("dtb/synthetic.dtb");
  const int uart = dtb.node("/soc/bridge@1000000/serial@2000");
  ASSERT_GE(uart, 0);
  {
    const auto tree = DeviceTree::open(dtb.data(), dtb.capacity());
    ASSERT_TRUE(tree.ok());
    EXPECT_TRUE(tree.value().indexed());
    EXPECT_TRUE(tree.value().is_enabled(uart));
    // Indexing it anew twice would take over both slots, tree's too.
    for (int i = 0; i < 2; ++i) {
      const auto again = DeviceTree::open(dtb.data(), dtb.capacity());
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(again.value().indexed());
    }
    EXPECT_TRUE(tree.value().indexed());  // reused, not taken over
  }
  // Same size, new status: "okay" -> "fail" is no longer enabled.
  ASSERT_EQ(fdt_setprop_string(dtb.data(), uart, "status", "okay"), 0);
  EXPECT_TRUE(DeviceTree::open(dtb.data(), dtb.capacity()).value().is_enabled(uart));
  int len = 0;
  auto* status = static_cast<char*>(fdt_getprop_w(dtb.data(), uart, "status", &len));
  ASSERT_EQ(len, 5);
  memcpy(status, "fail", 5);
  {
    const auto tree = DeviceTree::open(dtb.data(), dtb.capacity());
    ASSERT_TRUE(tree.ok());
    EXPECT_FALSE(tree.value().is_enabled(uart));
    expect_libfdt_answers(tree.value(), "changed status");
  }
  // A corrupted structure block is found again, with the same error as on a
  // first open.
  const auto before = DeviceTree::open(dtb.data(), dtb.capacity());
  ASSERT_TRUE(before.ok());
  auto* tag = reinterpret_cast<fdt32_t*>(dtb.bytes() + fdt_off_dt_struct(dtb.data()) + uart);
  *tag = cpu_to_fdt32(0x12345678);  // FDT_BEGIN_NODE of the UART becomes garbage
  const auto after = DeviceTree::open(dtb.data(), dtb.capacity());
  ASSERT_FALSE(after.ok());
  const Dtb copy = dtb.editable(0);  // never opened before
  const auto fresh = DeviceTree::open(copy.data(), copy.capacity());
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(after.error().code, DtErrorCode::kMalformed);
  EXPECT_EQ(fresh.error().code, DtErrorCode::kMalformed);
  EXPECT_STREQ(after.error().node, fresh.error().node);
  EXPECT_STREQ(after.error().detail, fresh.error().detail);
  EXPECT_EQ(after.error().libfdt_error, fresh.error().libfdt_error);
}

}  // namespace
}  // namespace lamina::hyp::dt
