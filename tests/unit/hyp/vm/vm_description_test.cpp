// Tests for hyp/vm/vm_description: the "lamina,vm" binding in /chosen
// (docs/VM-BINDING.md).
//
// Trees are written as DTS and compiled with dtc at test time, so each test
// reads like the binding; the few trees dtc refuses to write (duplicate node
// names, unterminated strings in places dtc checks) are edited with libfdt.
// Expected values are the numbers in the DTS, converted by hand (KiB to
// bytes, cells to 64-bit values), never taken from the parser.
#include "hyp/vm/vm_description.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <libfdt.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "fakes/dtb_blob.hpp"
#include "hyp/platform/platform.hpp"

namespace lamina::hyp {
namespace {

using test::describe;
using test::Dtb;
using test::expect_dt_error;

constexpr uint64_t kMiB = 1024 * 1024;

// Compiles DTS source with dtc (device-tree-compiler, installed by
// scripts/setup.sh) into an 8-byte-aligned blob.
Dtb compile(const std::string& dts) {
  char in_path[] = "/tmp/lamina-vm-XXXXXX";
  const int fd = mkstemp(in_path);
  EXPECT_GE(fd, 0);
  if (fd < 0) return Dtb(8);
  EXPECT_EQ(write(fd, dts.data(), dts.size()), static_cast<ssize_t>(dts.size()));
  close(fd);
  const std::string out_path = std::string(in_path) + ".dtb";
  const std::string command = "dtc -q -I dts -O dtb -o " + out_path + " " + in_path + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << "cannot run dtc";
  if (pipe != nullptr) {
    char buf[256];
    while (fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
    EXPECT_EQ(pclose(pipe), 0) << "dtc failed:\n" << output << "\n" << dts;
  }
  std::ifstream file(out_path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  unlink(in_path);
  unlink(out_path.c_str());
  Dtb dtb(bytes.size() + 8);
  if (!bytes.empty()) memcpy(dtb.data(), bytes.data(), bytes.size());
  return dtb;
}

// A tree whose /chosen holds `chosen_body`, then `chosen_merge` merged into
// /chosen by a second definition of the root (dtc merges repeated
// definitions of a node; a property defined again replaces the first one,
// /delete-property/ removes one).
Dtb tree(const std::string& chosen_body, const std::string& chosen_merge = "") {
  return compile("/dts-v1/;\n/ {\n #address-cells = <2>;\n #size-cells = <2>;\n chosen {\n" + chosen_body +
                 "\n };\n};\n/ {\n chosen {\n" + chosen_merge + "\n };\n};\n");
}

constexpr const char* kKernel =
    "module@48200000 { compatible = \"multiboot,kernel\", \"multiboot,module\";"
    " reg = <0x0 0x48200000 0x0 0x123456>; };";

// A VM node named `name` with `body` (properties and modules) inside.
std::string vm(const std::string& name, const std::string& body) {
  return name + " { compatible = \"lamina,vm\";\n" + body + "\n};\n";
}

// The properties of a minimal valid VM, without its modules.
constexpr const char* kProps = "#address-cells = <2>; #size-cells = <2>; memory = <0x0 0x40000>; cpus = <2>;";

// A minimal valid VM with `extra` (new properties or child nodes) inside.
std::string basic_vm(const std::string& extra = "", const std::string& name = "vm1") {
  return vm(name, std::string(kProps) + "\n" + kKernel + "\n" + extra);
}

// The minimal valid VM "vm1" with `merge` merged into it: its properties
// replace the defaults.
Dtb vm1_with(const std::string& merge) { return tree(basic_vm(), "vm1 {\n" + merge + "\n};\n"); }

VmDescriptions parse_ok(const Dtb& dtb) {
  VmDescriptions out;
  const auto r = parse_vm_descriptions(dtb.data(), &out);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error()));
  return out;
}

DtError parse_error(const Dtb& dtb) {
  VmDescriptions out;
  out.count = 99;
  const auto r = parse_vm_descriptions(dtb.data(), &out);
  EXPECT_FALSE(r.ok()) << "parsed unexpectedly";
  EXPECT_EQ(out.count, 0u) << "a failed parse must leave no VMs";
  return r.ok() ? DtError{} : r.error();
}

void expect_error(const std::string& chosen_body, DtErrorCode code, const char* node, const char* property) {
  SCOPED_TRACE(chosen_body);
  expect_dt_error(parse_error(tree(chosen_body)), code, node, property);
}

void expect_vm1_error(const std::string& merge, DtErrorCode code, const char* node, const char* property) {
  SCOPED_TRACE(merge);
  expect_dt_error(parse_error(vm1_with(merge)), code, node, property);
}

mm::PhysRange range(uint64_t base, uint64_t size) { return mm::PhysRange{mm::PhysAddr(base), size}; }

// --- the documented example ---------------------------------------------------------

Dtb example() {
  std::ifstream in(std::string(LAMINA_FIXTURES_DIR) + "/vm/example.dts");
  EXPECT_TRUE(in.good()) << "missing tests/fixtures/vm/example.dts";
  return compile(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
}

TEST(VmDescription, DocumentedExample) {
  const Dtb dtb = example();
  const VmDescriptions d = parse_ok(dtb);
  ASSERT_EQ(d.count, 2u);  // vm3 is disabled

  const VmDescription& a = d.vms[0];
  EXPECT_STREQ(a.name, "vm1");
  EXPECT_STREQ(a.path, "/chosen/vm1");
  EXPECT_EQ(a.memory_bytes, 0x40000u * 1024);  // 256 MiB
  EXPECT_EQ(a.memory_bytes, 256 * kMiB);
  EXPECT_EQ(a.vcpus, 2u);
  EXPECT_EQ(a.kernel, range(0x48200000, 0x123456));
  EXPECT_EQ(a.ramdisk, range(0x4a000000, 0x200000));
  EXPECT_TRUE(a.has_ramdisk());
  EXPECT_FALSE(a.has_dtb());
  EXPECT_EQ(a.dtb.size, 0u);
  EXPECT_STREQ(a.bootargs, "console=ttyAMA0 earlycon");  // the VM node's, not the module's
  EXPECT_EQ(a.ipa_bits, 40u);
  EXPECT_FALSE(a.map_eagerly);
  EXPECT_TRUE(a.has_test_device);
  EXPECT_EQ(a.test_device.value(), 0x0a800000u);

  const VmDescription& b = d.vms[1];
  EXPECT_STREQ(b.name, "vm2");
  EXPECT_STREQ(b.path, "/chosen/vm2");
  EXPECT_EQ(b.memory_bytes, 64 * kMiB);
  EXPECT_EQ(b.vcpus, 1u);
  EXPECT_EQ(b.kernel, range(0x4c000000, 0x1000));
  EXPECT_FALSE(b.has_ramdisk());
  EXPECT_EQ(b.dtb, range(0x4c100000, 0x2000));
  EXPECT_STREQ(b.bootargs, "console=ttyAMA0");  // from the kernel module
  EXPECT_EQ(b.ipa_bits, 0u);
  EXPECT_TRUE(b.map_eagerly);
  EXPECT_FALSE(b.has_test_device);

  // The bootargs point into the blob itself (no copies).
  const auto* blob = static_cast<const char*>(dtb.data());
  EXPECT_GE(a.bootargs, blob);
  EXPECT_LT(a.bootargs, blob + dtb.total_size());
}

TEST(VmDescription, ModuleRangesOfTheExample) {
  const VmModuleRanges r = vm_module_ranges(parse_ok(example()));
  ASSERT_EQ(r.count, 4u);
  EXPECT_EQ(r.ranges[0], range(0x48200000, 0x123456));
  EXPECT_EQ(r.ranges[1], range(0x4a000000, 0x200000));
  EXPECT_EQ(r.ranges[2], range(0x4c000000, 0x1000));
  EXPECT_EQ(r.ranges[3], range(0x4c100000, 0x2000));
  EXPECT_EQ(vm_module_ranges(VmDescriptions{}).count, 0u);
}

TEST(VmDescription, WorksBesideARealQemuTree) {
  // QEMU's own /chosen (bootargs, stdout-path, ...) plus one VM added with
  // libfdt, the way scripts/lamina-qemu patches the dumped DTB.
  Dtb dtb = Dtb::load("qemu-virt-gicv3-a72-smp2-2g.dtb").editable();
  const int vm1 = dtb.add(dtb.node("/chosen"), "guest");
  ASSERT_EQ(fdt_setprop_string(dtb.data(), vm1, "compatible", "lamina,vm"), 0);
  dtb.set(vm1, "#address-cells", {2});
  dtb.set(vm1, "#size-cells", {2});
  dtb.set(vm1, "memory", {0x0, 0x80000});
  dtb.set(vm1, "cpus", {1});
  const int kernel = dtb.add(dtb.node("/chosen/guest"), "module@60000000");
  const char compat[] = "multiboot,kernel\0multiboot,module";
  ASSERT_EQ(fdt_setprop(dtb.data(), kernel, "compatible", compat, sizeof(compat)), 0);
  dtb.set(kernel, "reg", {0x0, 0x60000000, 0x0, 0x2000000});

  const VmDescriptions d = parse_ok(dtb);
  ASSERT_EQ(d.count, 1u);
  EXPECT_STREQ(d.vms[0].name, "guest");
  EXPECT_EQ(d.vms[0].memory_bytes, 512 * kMiB);
  EXPECT_EQ(d.vms[0].kernel, range(0x60000000, 0x2000000));
  EXPECT_EQ(d.vms[0].bootargs, nullptr);  // /chosen's own bootargs are lamina's, not the guest's

  Platform platform;
  EXPECT_TRUE(discover_platform(dtb.data(), mm::PhysAddr(0x48000000), &platform).ok());
}

// --- valid variations -------------------------------------------------------------------

TEST(VmDescription, NoVms) {
  // No /chosen at all, an empty /chosen, and a /chosen whose children are
  // not lamina VMs (a Xen domU, a plain node): all mean zero VMs.
  EXPECT_EQ(parse_ok(compile("/dts-v1/;\n/ { };")).count, 0u);
  EXPECT_EQ(parse_ok(tree("")).count, 0u);
  EXPECT_EQ(parse_ok(tree("domU1 { compatible = \"xen,domain\"; memory = <0 0x20000>; };"
                          "other { compatible = \"vendor,thing\", \"lamina,vmx\"; };"))
                .count,
            0u);
}

TEST(VmDescription, OneCellMemoryAndCells) {
  const VmDescriptions d = parse_ok(tree(vm("vm1",
                                            "#address-cells = <1>; #size-cells = <1>;"
                                            "memory = <0x20000>; cpus = <1>;"
                                            "lamina,test-device = <0x0a801000>;"
                                            "module@48200000 { compatible = \"multiboot,kernel\";"
                                            " reg = <0x48200000 0x1000>; };")));
  ASSERT_EQ(d.count, 1u);
  EXPECT_EQ(d.vms[0].memory_bytes, 128 * kMiB);
  EXPECT_EQ(d.vms[0].kernel, range(0x48200000, 0x1000));
  EXPECT_EQ(d.vms[0].test_device.value(), 0x0a801000u);
}

TEST(VmDescription, DefaultCellsAreTwoAndOne) {
  // Without #address-cells/#size-cells the DT defaults apply: 2 and 1.
  const VmDescriptions d = parse_ok(tree(vm("vm1",
                                            "memory = <0x0 0x40000>; cpus = <1>;"
                                            "module@1 { compatible = \"multiboot,kernel\";"
                                            " reg = <0x1 0x00000000 0x1000>; };")));
  ASSERT_EQ(d.count, 1u);
  EXPECT_EQ(d.vms[0].kernel, range(0x1'0000'0000, 0x1000));
}

TEST(VmDescription, Limits) {
  // 1..8 vCPUs, IPA 32..48 bits, names up to 31 characters, memory up to
  // what 64 bits hold in bytes.
  EXPECT_EQ(parse_ok(vm1_with("cpus = <1>;")).vms[0].vcpus, 1u);
  EXPECT_EQ(parse_ok(vm1_with("cpus = <8>;")).vms[0].vcpus, 8u);
  EXPECT_EQ(parse_ok(vm1_with("lamina,ipa-bits = <32>;")).vms[0].ipa_bits, 32u);
  EXPECT_EQ(parse_ok(vm1_with("lamina,ipa-bits = <48>;")).vms[0].ipa_bits, 48u);
  const std::string name31(31, 'v');
  EXPECT_STREQ(parse_ok(tree(basic_vm("", name31))).vms[0].name, name31.c_str());
  // (2^54 - 4) KiB = 2^64 - 4 KiB bytes: the largest size that fits 64 bits.
  EXPECT_EQ(parse_ok(vm1_with("memory = <0x003fffff 0xfffffffc>;")).vms[0].memory_bytes,
            0xffff'ffff'ffff'f000ULL);
  // A module may end one page below 2^64 (ending at 2^64 is refused: ModuleRegErrors).
  EXPECT_EQ(parse_ok(tree(vm("vm1", std::string(kProps) + "module@0 { compatible = \"multiboot,kernel\";"
                                                          " reg = <0xffffffff 0xffffe000 0x0 0x1000>; };")))
                .vms[0]
                .kernel,
            range(0xffff'ffff'ffff'e000ULL, 0x1000));
}

TEST(VmDescription, UnitAddressStaysInTheName) {
  const VmDescriptions d = parse_ok(tree(basic_vm("", "vm@1")));
  EXPECT_STREQ(d.vms[0].name, "vm@1");
  EXPECT_STREQ(d.vms[0].path, "/chosen/vm@1");
}

TEST(VmDescription, BootargsPrecedence) {
  const std::string module_args =
      "module@48200000 { compatible = \"multiboot,kernel\"; reg = <0x0 0x48200000 0x0 0x1000>;"
      " bootargs = \"from module\"; };";
  // Only the module's.
  EXPECT_STREQ(parse_ok(tree(vm("vm1", std::string(kProps) + module_args))).vms[0].bootargs, "from module");
  // The VM node's wins.
  EXPECT_STREQ(parse_ok(tree(vm("vm1", std::string(kProps) + "bootargs = \"from vm\";" + module_args)))
                   .vms[0]
                   .bootargs,
               "from vm");
  // An empty VM bootargs is an explicit "no arguments" and still wins.
  EXPECT_STREQ(
      parse_ok(tree(vm("vm1", std::string(kProps) + "bootargs = \"\";" + module_args))).vms[0].bootargs, "");
  // None at all.
  EXPECT_EQ(parse_ok(tree(basic_vm())).vms[0].bootargs, nullptr);
}

TEST(VmDescription, FourVmsInTreeOrderAndDisabledOnesSkipped) {
  std::string body;
  for (int i = 1; i <= 4; ++i) {
    const std::string n = std::to_string(i);
    body += vm("vm" + n, std::string(kProps) + "module@" + n +
                             " { compatible = \"multiboot,kernel\"; reg = <0x0 0x" + n +
                             "0000000 0x0 0x1000>; };");
  }
  // A disabled fifth VM does not count against the limit.
  body += vm("vm5", "status = \"disabled\";");
  const VmDescriptions d = parse_ok(tree(body));
  ASSERT_EQ(d.count, 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(d.vms[i].name, "vm" + std::to_string(i + 1));
    EXPECT_EQ(d.vms[i].kernel.base.value(), (i + 1) * 0x1000'0000);
  }
  // status = "okay" is enabled.
  EXPECT_EQ(parse_ok(vm1_with("status = \"okay\";")).count, 1u);
}

TEST(VmDescription, ChildrenWithoutMultibootCompatibleAreIgnored) {
  const VmDescriptions d =
      parse_ok(tree(basic_vm("extension { compatible = \"vendor,future\"; reg = <0 0 0 0>; };"
                             "plain { };")));
  EXPECT_EQ(d.count, 1u);
}

TEST(VmDescription, KindAndModuleCompatibleInAnyOrder) {
  const VmDescriptions d = parse_ok(tree(
      vm("vm1",
         std::string(kProps) +
             "k { compatible = \"multiboot,module\", \"multiboot,kernel\"; reg = <0x0 0x1000 0x0 0x1000>; };"
             "r { compatible = \"multiboot,ramdisk\"; reg = <0x0 0x2000 0x0 0x1000>; };"
             "d { compatible = \"vendor,x\", \"multiboot,device-tree\"; reg = <0x0 0x3000 0x0 0x10>; };")));
  EXPECT_EQ(d.vms[0].kernel, range(0x1000, 0x1000));
  EXPECT_EQ(d.vms[0].ramdisk, range(0x2000, 0x1000));
  EXPECT_EQ(d.vms[0].dtb, range(0x3000, 0x10));
}

TEST(VmDescription, TouchingModulesDoNotOverlap) {
  const VmDescriptions d = parse_ok(
      tree(vm("vm1", std::string(kProps) + kKernel +
                         "r { compatible = \"multiboot,ramdisk\"; reg = <0x0 0x48323456 0x0 0x10>; };") +
           vm("vm2", std::string(kProps) +
                         "k { compatible = \"multiboot,kernel\"; reg = <0x0 0x48323466 0x0 0x10>; };")));
  EXPECT_EQ(d.count, 2u);
}

// --- errors: each names the node and the property ------------------------------------------

TEST(VmDescription, MemoryErrors) {
  expect_vm1_error("/delete-property/ memory;", DtErrorCode::kMissingProperty, "/chosen/vm1", "memory");
  expect_vm1_error("memory = <0x0 0x0 0x40000>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
  expect_vm1_error("memory = [00 04];", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
  expect_vm1_error("memory = <0x0 0x0>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
  expect_vm1_error("memory = <0>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
  expect_vm1_error("memory = <6>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");  // 6 KiB
  expect_vm1_error("memory = <0x40002>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
  // 2^54 KiB = 2^64 bytes.
  expect_vm1_error("memory = <0x00400000 0x0>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
  expect_vm1_error("memory = <0xffffffff 0xfffffffc>;", DtErrorCode::kBadProperty, "/chosen/vm1", "memory");
}

TEST(VmDescription, CpusErrors) {
  expect_vm1_error("/delete-property/ cpus;", DtErrorCode::kMissingProperty, "/chosen/vm1", "cpus");
  expect_vm1_error("cpus = <0>;", DtErrorCode::kBadProperty, "/chosen/vm1", "cpus");
  expect_vm1_error("cpus = <9>;", DtErrorCode::kBadProperty, "/chosen/vm1", "cpus");
  expect_vm1_error("cpus = <0 2>;", DtErrorCode::kBadProperty, "/chosen/vm1", "cpus");
}

TEST(VmDescription, CellErrors) {
  expect_vm1_error("#address-cells = <3>;", DtErrorCode::kBadProperty, "/chosen/vm1", "#address-cells");
  expect_vm1_error("#address-cells = <0>;", DtErrorCode::kBadProperty, "/chosen/vm1", "#address-cells");
  expect_vm1_error("#address-cells = <5>;", DtErrorCode::kBadProperty, "/chosen/vm1", "#address-cells");
  expect_vm1_error("#size-cells = <0>;", DtErrorCode::kBadProperty, "/chosen/vm1", "#size-cells");
  expect_vm1_error("#size-cells = <3>;", DtErrorCode::kBadProperty, "/chosen/vm1", "#size-cells");
}

TEST(VmDescription, KernelModuleErrors) {
  expect_error(vm("vm1", kProps), DtErrorCode::kMissingNode, "/chosen/vm1", nullptr);
  // A ramdisk alone is not a kernel.
  expect_error(
      vm("vm1", std::string(kProps) + "r { compatible = \"multiboot,ramdisk\"; reg = <0 0x1000 0 0x10>; };"),
      DtErrorCode::kMissingNode, "/chosen/vm1", nullptr);
  expect_vm1_error("module@2 { compatible = \"multiboot,kernel\"; reg = <0x0 0x50000000 0x0 0x1000>; };",
                   DtErrorCode::kTooMany, "/chosen/vm1/module@2", "compatible");
  const char* ramdisk = "r1 { compatible = \"multiboot,ramdisk\"; reg = <0x0 0x50000000 0x0 0x1000>; };";
  expect_error(basic_vm(std::string(ramdisk) +
                        "r2 { compatible = \"multiboot,ramdisk\"; reg = <0x0 0x51000000 0x0 0x1000>; };"),
               DtErrorCode::kTooMany, "/chosen/vm1/r2", "compatible");
  expect_error(basic_vm("d1 { compatible = \"multiboot,device-tree\"; reg = <0x0 0x50000000 0x0 0x1000>; };"
                        "d2 { compatible = \"multiboot,device-tree\"; reg = <0x0 0x51000000 0x0 0x1000>; };"),
               DtErrorCode::kTooMany, "/chosen/vm1/d2", "compatible");
}

TEST(VmDescription, ModuleCompatibleErrors) {
  expect_vm1_error(
      "x { compatible = \"multiboot,xsm-policy\", \"multiboot,module\"; reg = <0 0x1000 0 1>; };",
      DtErrorCode::kUnsupported, "/chosen/vm1/x", "compatible");
  expect_vm1_error("x { compatible = \"multiboot,module\"; reg = <0 0x1000 0 1>; };",
                   DtErrorCode::kBadProperty, "/chosen/vm1/x", "compatible");
  expect_vm1_error(
      "x { compatible = \"multiboot,ramdisk\", \"multiboot,device-tree\"; reg = <0 0x1000 0 1>; };",
      DtErrorCode::kBadProperty, "/chosen/vm1/x", "compatible");
  // A compatible whose last string is not terminated.
  expect_vm1_error("x { compatible = \"multiboot,ramdisk\", [6d 75 6c]; reg = <0 0x1000 0 1>; };",
                   DtErrorCode::kBadProperty, "/chosen/vm1/x", "compatible");
  // The same kind twice is fine.
  EXPECT_EQ(parse_ok(tree(basic_vm("x { compatible = \"multiboot,ramdisk\", \"multiboot,ramdisk\";"
                                   " reg = <0 0x1000 0 1>; };")))
                .vms[0]
                .ramdisk,
            range(0x1000, 1));
}

TEST(VmDescription, ModuleRegErrors) {
  const auto module = [](const std::string& reg) {
    return vm("vm1", std::string(kProps) + "k { compatible = \"multiboot,kernel\"; " + reg + " };");
  };
  expect_error(module(""), DtErrorCode::kMissingProperty, "/chosen/vm1/k", "reg");
  expect_error(module("reg = <0x0 0x48000000 0x0>;"), DtErrorCode::kBadProperty, "/chosen/vm1/k", "reg");
  expect_error(module("reg = <0x0 0x48000000 0x0 0x1000 0x0 0x49000000 0x0 0x1000>;"),
               DtErrorCode::kBadProperty, "/chosen/vm1/k", "reg");
  expect_error(module("reg = <0x0 0x48000000 0x0 0x0>;"), DtErrorCode::kBadProperty, "/chosen/vm1/k", "reg");
  // Ends at exactly 2^64: its end is not representable.
  expect_error(module("reg = <0xffffffff 0xfffff000 0x0 0x1000>;"), DtErrorCode::kBadProperty,
               "/chosen/vm1/k", "reg");
  expect_error(module("reg = <0xffffffff 0xfffff000 0xffffffff 0xffffffff>;"), DtErrorCode::kBadProperty,
               "/chosen/vm1/k", "reg");
}

TEST(VmDescription, OverlappingModules) {
  // Within one VM: the ramdisk starts inside the kernel.
  expect_vm1_error("r { compatible = \"multiboot,ramdisk\"; reg = <0x0 0x48323455 0x0 0x10>; };",
                   DtErrorCode::kBadProperty, "/chosen/vm1/r", "reg");
  // Across VMs: vm2's kernel covers vm1's.
  expect_error(basic_vm() + vm("vm2", std::string(kProps) +
                                          "k { compatible = \"multiboot,kernel\"; reg = <0x0 0x48000000 0x0 "
                                          "0x1000000>; };"),
               DtErrorCode::kBadProperty, "/chosen/vm2/k", "reg");
}

TEST(VmDescription, OptionalPropertyErrors) {
  expect_vm1_error("bootargs = [61 62];", DtErrorCode::kBadProperty, "/chosen/vm1", "bootargs");
  expect_vm1_error("bootargs = \"a\", \"b\";", DtErrorCode::kBadProperty, "/chosen/vm1", "bootargs");
  expect_vm1_error("r { compatible = \"multiboot,ramdisk\"; reg = <0 0x1000 0 1>; bootargs = \"x\"; };",
                   DtErrorCode::kBadProperty, "/chosen/vm1/r", "bootargs");
  expect_vm1_error("lamina,ipa-bits = <31>;", DtErrorCode::kBadProperty, "/chosen/vm1", "lamina,ipa-bits");
  expect_vm1_error("lamina,ipa-bits = <49>;", DtErrorCode::kBadProperty, "/chosen/vm1", "lamina,ipa-bits");
  expect_vm1_error("lamina,ipa-bits = <52>;", DtErrorCode::kBadProperty, "/chosen/vm1", "lamina,ipa-bits");
  expect_vm1_error("lamina,ipa-bits = <0 40>;", DtErrorCode::kBadProperty, "/chosen/vm1", "lamina,ipa-bits");
  expect_vm1_error("lamina,map-eagerly = <1>;", DtErrorCode::kBadProperty, "/chosen/vm1",
                   "lamina,map-eagerly");
  expect_vm1_error("lamina,test-device = <0x0 0x0a800800>;", DtErrorCode::kBadProperty, "/chosen/vm1",
                   "lamina,test-device");
  expect_vm1_error("lamina,test-device = <0x0a800000>;", DtErrorCode::kBadProperty, "/chosen/vm1",
                   "lamina,test-device");  // one cell, but #address-cells is 2
  // Beyond a 32-bit IPA space; just inside it is fine.
  expect_vm1_error("lamina,ipa-bits = <32>; lamina,test-device = <0x1 0x0>;", DtErrorCode::kBadProperty,
                   "/chosen/vm1", "lamina,test-device");
  EXPECT_EQ(parse_ok(vm1_with("lamina,ipa-bits = <32>; lamina,test-device = <0x0 0xfffff000>;"))
                .vms[0]
                .test_device.value(),
            0xfffff000u);
}

TEST(VmDescription, TooManyVms) {
  std::string body;
  for (int i = 1; i <= 5; ++i) {
    const std::string n = std::to_string(i);
    body += vm("vm" + n, std::string(kProps) + "k { compatible = \"multiboot,kernel\"; reg = <0x0 0x" + n +
                             "0000000 0x0 0x1000>; };");
  }
  expect_error(body, DtErrorCode::kTooMany, "/chosen/vm5", nullptr);
}

TEST(VmDescription, NameErrors) {
  expect_error(basic_vm("", std::string(32, 'v')), DtErrorCode::kUnsupported,
               ("/chosen/" + std::string(32, 'v')).c_str(), nullptr);
  // Two nodes with one name: dtc refuses to write that, so rename one with libfdt.
  Dtb dtb =
      tree(basic_vm("", "vm1") +
           vm("vm2", std::string(kProps) +
                         "k { compatible = \"multiboot,kernel\"; reg = <0x0 0x50000000 0x0 0x1000>; };"))
          .editable();
  ASSERT_EQ(fdt_set_name(dtb.data(), dtb.node("/chosen/vm2"), "vm1"), 0);
  const DtError e = parse_error(dtb);
  EXPECT_EQ(e.code, DtErrorCode::kBadProperty) << describe(e);
  EXPECT_EQ(e.property, nullptr);
  EXPECT_NE(std::string(describe(e)).find("same name"), std::string::npos) << describe(e);
}

TEST(VmDescription, BlobErrors) {
  VmDescriptions out;
  EXPECT_EQ(parse_vm_descriptions(nullptr, &out).error().code, DtErrorCode::kNoBlob);
  Dtb garbage(256);
  EXPECT_EQ(parse_vm_descriptions(garbage.data(), &out).error().code, DtErrorCode::kBadHeader);
  const Dtb dtb = tree(basic_vm());
  EXPECT_EQ(parse_vm_descriptions(dtb.data(), nullptr).error().code, DtErrorCode::kNoBlob);
}

TEST(VmDescription, MessagesNameNodeAndProperty) {
  const DtError e = parse_error(vm1_with("cpus = <9>;"));
  EXPECT_EQ(describe(e), "device tree: bad property (/chosen/vm1, cpus): a VM has 1 to 8 vCPUs");
}

}  // namespace
}  // namespace lamina::hyp
