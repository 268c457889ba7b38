// discover_platform() on real device trees: QEMU virt dumps and the
// Raspberry Pi 4 DTB (tests/fixtures/dtb/regenerate.sh). Expected values are
// the ones in /work/shared/PLATFORM-NOTES.md and in the decompiled blobs.
#include "hyp/platform/platform.hpp"

#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "fakes/dtb_blob.hpp"

namespace lamina::hyp {
namespace {

using test::describe;
using test::Dtb;
using test::range;

constexpr mm::PhysAddr kDtbPa{0x48000000};

// Runs discovery, failing the test with the error text if it fails.
Platform discover_ok(const Dtb& dtb) {
  Platform platform;
  const auto result = discover_platform(dtb.data(), kDtbPa, &platform);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : describe(result.error()));
  return platform;
}

// PPIs 13, 14, 11, 10 (arm,armv8-timer binding order), as on QEMU virt and the Pi 4.
void expect_armv8_timer_ppis(const Platform& p) {
  EXPECT_TRUE(p.timer.present);
  EXPECT_EQ(p.timer.secure_phys_intid, 29u);
  EXPECT_EQ(p.timer.nonsecure_phys_intid, 30u);
  EXPECT_EQ(p.timer.virt_intid, 27u);
  EXPECT_EQ(p.timer.hyp_phys_intid, 26u);
}

// Discovery on a QEMU virt dump, checking what every one has: the model,
// one bank of `ram_size` bytes of RAM at 1 GiB and nothing reserved, the
// timer, the PL011, the GIC distributor and PSCI 0.2+ function IDs.
Platform discover_qemu_virt(const Dtb& dtb, uint64_t ram_size) {
  const Platform p = discover_ok(dtb);
  EXPECT_STREQ(p.model, "linux,dummy-virt");
  EXPECT_EQ(p.dtb.base, kDtbPa);
  EXPECT_EQ(p.memory_count, 1u);
  EXPECT_EQ(p.memory[0], range(0x40000000, ram_size));
  EXPECT_EQ(p.reserved_count, 0u);
  expect_armv8_timer_ppis(p);
  EXPECT_EQ(p.uart.kind, UartKind::kPl011);
  EXPECT_EQ(p.uart.regs, range(0x09000000, 0x1000));
  EXPECT_STREQ(p.uart.path, "/pl011@9000000");
  // interrupts = <0 1 4>: SPI 1, level-high.
  EXPECT_TRUE(p.uart.has_interrupt);
  EXPECT_EQ(p.uart.intid, 33u);
  EXPECT_FALSE(p.uart.edge);
  EXPECT_EQ(p.gic.distributor, range(0x08000000, 0x10000));
  EXPECT_TRUE(p.psci.standard_function_ids);
  return p;
}

// virt,virtualization=on,gic-version=2 -cpu cortex-a57 -smp 1 -m 1G: QEMU
// starts it at EL2, so PSCI is "smc"; a single CPU gets no enable-method.
TEST(PlatformQemuVirtTest, GicV2CortexA57OneCpu) {
  const Dtb dtb = Dtb::load("qemu-virt-gicv2-a57-smp1-1g.dtb");
  const Platform p = discover_qemu_virt(dtb, 1ull << 30);
  EXPECT_EQ(p.dtb.size, fdt_totalsize(dtb.data()));
  ASSERT_EQ(p.cpu_count, 1u);
  EXPECT_EQ(p.cpus[0].mpidr, 0u);
  EXPECT_EQ(p.cpus[0].enable_method, CpuEnableMethod::kNone);
  EXPECT_EQ(p.psci.conduit, PsciConduit::kSmc);
  EXPECT_EQ(p.gic.version, GicVersion::kV2);
  EXPECT_EQ(p.gic.cpu_interface, range(0x08010000, 0x10000));
  EXPECT_EQ(p.gic.hyp_interface, range(0x08030000, 0x10000));
  EXPECT_EQ(p.gic.vcpu_interface, range(0x08040000, 0x10000));
  EXPECT_EQ(p.gic.redistributor_region_count, 0u);
  EXPECT_TRUE(p.gic.has_maintenance_interrupt);
  EXPECT_EQ(p.gic.maintenance_intid, 25u);  // PPI 9
  EXPECT_EQ(p.bootargs, nullptr);
}

// virt,virtualization=on,gic-version=3 -cpu max -smp 4 -m 4G: four PSCI
// CPUs, one redistributor region, no legacy GICC/GICH/GICV frames, and a
// fifth (hyp virtual) timer interrupt that lamina ignores.
TEST(PlatformQemuVirtTest, GicV3MaxFourCpus) {
  const Dtb dtb = Dtb::load("qemu-virt-gicv3-max-smp4-4g.dtb");
  const Platform p = discover_qemu_virt(dtb, 4ull << 30);
  ASSERT_EQ(p.cpu_count, 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(p.cpus[i].mpidr, i);
    EXPECT_EQ(p.cpus[i].enable_method, CpuEnableMethod::kPsci);
  }
  EXPECT_EQ(p.psci.conduit, PsciConduit::kSmc);
  EXPECT_EQ(p.gic.version, GicVersion::kV3);
  ASSERT_EQ(p.gic.redistributor_region_count, 1u);
  EXPECT_EQ(p.gic.redistributors[0], range(0x080a0000, 0xf60000));
  EXPECT_EQ(p.gic.cpu_interface.size, 0u);
  EXPECT_EQ(p.gic.hyp_interface.size, 0u);
  EXPECT_EQ(p.gic.vcpu_interface.size, 0u);
  EXPECT_TRUE(p.gic.has_maintenance_interrupt);
  EXPECT_EQ(p.gic.maintenance_intid, 25u);
}

// gic-version=3 -cpu cortex-a72 -smp 2 -m 2G, with -append: bootargs is a
// pointer into the blob.
TEST(PlatformQemuVirtTest, GicV3CortexA72TwoCpusWithBootargs) {
  const Dtb dtb = Dtb::load("qemu-virt-gicv3-a72-smp2-2g.dtb");
  const Platform p = discover_qemu_virt(dtb, 2ull << 30);
  ASSERT_EQ(p.cpu_count, 2u);
  EXPECT_EQ(p.cpus[0].mpidr, 0u);
  EXPECT_EQ(p.cpus[1].mpidr, 1u);
  EXPECT_EQ(p.cpus[1].enable_method, CpuEnableMethod::kPsci);
  EXPECT_EQ(p.gic.version, GicVersion::kV3);
  ASSERT_EQ(p.gic.redistributor_region_count, 1u);
  EXPECT_EQ(p.gic.redistributors[0].base, mm::PhysAddr(0x080a0000));
  EXPECT_EQ(p.gic.maintenance_intid, 25u);
  ASSERT_NE(p.bootargs, nullptr);
  EXPECT_STREQ(p.bootargs, "console=ttyAMA0 earlycon");
  const auto* begin = static_cast<const char*>(dtb.data());
  EXPECT_GE(p.bootargs, begin);
  EXPECT_LT(p.bootargs, begin + fdt_totalsize(dtb.data()));
}

// Without virtualization=on QEMU starts at EL1: PSCI goes through "hvc" and
// the GICv2 has no GICH/GICV frames and no maintenance interrupt.
TEST(PlatformQemuVirtTest, El1GicV2UsesHvcAndHasNoVirtualizationFrames) {
  const Dtb dtb = Dtb::load("qemu-virt-el1-gicv2-a57-smp2-1g.dtb");
  const Platform p = discover_qemu_virt(dtb, 1ull << 30);
  ASSERT_EQ(p.cpu_count, 2u);
  EXPECT_EQ(p.cpus[1].mpidr, 1u);
  EXPECT_EQ(p.psci.conduit, PsciConduit::kHvc);
  EXPECT_EQ(p.gic.version, GicVersion::kV2);
  EXPECT_EQ(p.gic.cpu_interface, range(0x08010000, 0x10000));
  EXPECT_EQ(p.gic.hyp_interface.size, 0u);
  EXPECT_EQ(p.gic.vcpu_interface.size, 0u);
  EXPECT_FALSE(p.gic.has_maintenance_interrupt);
}

TEST(PlatformQemuVirtTest, FindConsoleUartAndPsciAlone) {
  const Dtb dtb = Dtb::load("qemu-virt-el1-gicv2-a57-smp2-1g.dtb");
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_EQ(uart.value().kind, UartKind::kPl011);
  EXPECT_EQ(uart.value().regs, range(0x09000000, 0x1000));
  EXPECT_STREQ(uart.value().path, "/pl011@9000000");
  const auto psci = find_psci(dtb.data());
  ASSERT_TRUE(psci.ok()) << describe(psci.error());
  EXPECT_EQ(psci.value().conduit, PsciConduit::kHvc);
  EXPECT_TRUE(psci.value().standard_function_ids);
}

TEST(PlatformQemuVirtTest, CheckHeaderReturnsTotalSize) {
  const Dtb dtb = Dtb::load("qemu-virt-gicv2-a57-smp1-1g.dtb");
  const auto size = check_dtb_header(dtb.data(), kMaxDtbSize);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size.value(), 7538u);
}

// Every fixture is small enough to commit (QEMU's 1 MiB padding is packed
// away by regenerate.sh).
TEST(PlatformFixturesTest, FixturesAreSmall) {
  for (const char* name : {"qemu-virt-gicv2-a57-smp1-1g.dtb", "qemu-virt-gicv3-max-smp4-4g.dtb",
                           "qemu-virt-gicv3-a72-smp2-2g.dtb", "qemu-virt-el1-gicv2-a57-smp2-1g.dtb",
                           "bcm2711-rpi-4-b.dtb", "qemu-raspi4b.dtb", "synthetic.dtb"}) {
    const Dtb dtb = Dtb::load(name);
    const auto size = check_dtb_header(dtb.data(), dtb.capacity());
    ASSERT_TRUE(size.ok()) << name << ": " << describe(size.error());
    EXPECT_LT(size.value(), 1u << 20) << name;
  }
}

// --- Raspberry Pi 4 -------------------------------------------------------

// The Pi 4's stock stdout-path is "serial1:115200n8": the mini UART
// (brcm,bcm2835-aux-uart), which lamina does not drive. Tests that need a
// full discovery point it at serial0, the PL011.
Dtb rpi4_with_pl011_console(const char* fixture) {
  Dtb dtb = Dtb::load(fixture).editable();
  EXPECT_EQ(fdt_setprop_string(dtb.data(), dtb.node("/chosen"), "stdout-path", "serial0:115200n8"), 0);
  return dtb;
}

void expect_rpi4_devices(const Platform& p) {
  EXPECT_STREQ(p.model, "Raspberry Pi 4 Model B");
  // Spin table at 0xd8/0xe0/0xe8/0xf0 (Documentation/arch/arm64/booting.rst).
  ASSERT_EQ(p.cpu_count, 4u);
  const uint64_t release[] = {0xd8, 0xe0, 0xe8, 0xf0};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(p.cpus[i].mpidr, i);
    EXPECT_EQ(p.cpus[i].enable_method, CpuEnableMethod::kSpinTable);
    EXPECT_EQ(p.cpus[i].release_addr, mm::PhysAddr(release[i]));
  }
  EXPECT_EQ(p.psci.conduit, PsciConduit::kNone);
  // GIC-400 at 0x4004x000 on /soc, translated by its ranges
  // <0x40000000 0x0 0xff800000 0x800000>.
  EXPECT_EQ(p.gic.version, GicVersion::kV2);
  EXPECT_EQ(p.gic.distributor, range(0xff841000, 0x1000));
  EXPECT_EQ(p.gic.cpu_interface, range(0xff842000, 0x2000));
  EXPECT_EQ(p.gic.hyp_interface, range(0xff844000, 0x2000));
  EXPECT_EQ(p.gic.vcpu_interface, range(0xff846000, 0x2000));
  EXPECT_TRUE(p.gic.has_maintenance_interrupt);
  EXPECT_EQ(p.gic.maintenance_intid, 25u);
  expect_armv8_timer_ppis(p);
  // The PL011 at 0x7e201000 on the VideoCore bus is 0xfe201000 to the CPU.
  EXPECT_EQ(p.uart.kind, UartKind::kPl011);
  EXPECT_EQ(p.uart.regs, range(0xfe201000, 0x200));
  EXPECT_STREQ(p.uart.path, "/soc/serial@7e201000");
  // <GIC_SPI 121 IRQ_TYPE_LEVEL_HIGH>, to the GIC-400 through /soc's
  // interrupt-parent.
  EXPECT_TRUE(p.uart.has_interrupt);
  EXPECT_EQ(p.uart.intid, 153u);
  EXPECT_FALSE(p.uart.edge);
  // Only the FDT header's /memreserve/ for the spin table page; the
  // /reserved-memory children are a dynamic CMA pool ("size" only) and a
  // disabled, empty nvram node.
  ASSERT_EQ(p.reserved_count, 1u);
  EXPECT_EQ(p.reserved[0].range, range(0x0, 0x1000));
  EXPECT_TRUE(p.reserved[0].from_memreserve);
  EXPECT_FALSE(p.reserved[0].no_map);
}

// What QEMU's raspi4b hands the kernel: the same DTB with /memory filled in
// (960 MiB) and bootargs from -append.
TEST(PlatformRpi4Test, QemuRaspi4bWithPl011Console) {
  const Dtb dtb = rpi4_with_pl011_console("qemu-raspi4b.dtb");
  const Platform p = discover_ok(dtb);
  expect_rpi4_devices(p);
  ASSERT_EQ(p.memory_count, 1u);
  EXPECT_EQ(p.memory[0], range(0x0, 0x3c000000));
  ASSERT_NE(p.bootargs, nullptr);
  EXPECT_STREQ(p.bootargs, "console=ttyS1,115200 earlycon");
}

// The stock DTB as Debian ships it: `memory@0 { reg = <0 0 0>; }` is left
// for the firmware, so by itself it describes no RAM.
TEST(PlatformRpi4Test, StockDtbHasNoRamUntilFirmwareFillsIt) {
  const Dtb stock = rpi4_with_pl011_console("bcm2711-rpi-4-b.dtb");
  Platform p;
  const auto result = discover_platform(stock.data(), kDtbPa, &p);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, DtErrorCode::kBadProperty);
  EXPECT_STREQ(result.error().node, "/memory@0");
  EXPECT_STREQ(result.error().property, "reg");

  // With the memory the firmware would add (here: 1 GiB + 3 GiB above the
  // 32-bit hole, root #address-cells 2 / #size-cells 1), the rest matches.
  Dtb filled = stock;
  const fdt32_t reg[] = {cpu_to_fdt32(0), cpu_to_fdt32(0),          cpu_to_fdt32(0x3b400000),
                         cpu_to_fdt32(0), cpu_to_fdt32(0x40000000), cpu_to_fdt32(0xbc000000)};
  ASSERT_EQ(fdt_setprop(filled.data(), filled.node("/memory@0"), "reg", reg, sizeof(reg)), 0);
  const Platform q = discover_ok(filled);
  expect_rpi4_devices(q);
  ASSERT_EQ(q.memory_count, 2u);
  EXPECT_EQ(q.memory[0], range(0x0, 0x3b400000));
  EXPECT_EQ(q.memory[1], range(0x40000000, 0xbc000000));
  EXPECT_EQ(q.bootargs, nullptr);
}

// Unmodified, the Pi 4's console is the mini UART: find_console_uart (and so
// discovery) reports it as unsupported, naming the node.
TEST(PlatformRpi4Test, StockConsoleIsTheUnsupportedMiniUart) {
  for (const char* fixture : {"bcm2711-rpi-4-b.dtb", "qemu-raspi4b.dtb"}) {
    const Dtb dtb = Dtb::load(fixture);
    const auto uart = find_console_uart(dtb.data());
    ASSERT_FALSE(uart.ok()) << fixture;
    EXPECT_EQ(uart.error().code, DtErrorCode::kUnsupported);
    EXPECT_STREQ(uart.error().node, "/soc/serial@7e215040");
    EXPECT_STREQ(uart.error().property, "compatible");
    EXPECT_EQ(describe(uart.error()),
              "device tree: unsupported (/soc/serial@7e215040, compatible): the console is not "
              "an arm,pl011, the only UART lamina drives");

    Platform p;
    const auto result = discover_platform(dtb.data(), kDtbPa, &p);
    ASSERT_FALSE(result.ok());
    if (std::string(fixture) == "qemu-raspi4b.dtb") {
      EXPECT_EQ(result.error().code, DtErrorCode::kUnsupported);
      EXPECT_STREQ(result.error().node, "/soc/serial@7e215040");
    }
  }
}

TEST(PlatformRpi4Test, NoPsciWithStockFirmware) {
  const Dtb dtb = Dtb::load("qemu-raspi4b.dtb");
  const auto psci = find_psci(dtb.data());
  ASSERT_TRUE(psci.ok()) << describe(psci.error());
  EXPECT_EQ(psci.value().conduit, PsciConduit::kNone);
}

// --- synthetic.dts: corner cases real trees have ---------------------------

TEST(PlatformSyntheticTest, EverythingTranslatedAndFiltered) {
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const Platform p = discover_ok(dtb);
  // 63 characters and a NUL.
  EXPECT_EQ(strlen(p.model), 63u);
  EXPECT_EQ(std::string(p.model),
            std::string("lamina synthetic board with a model string longer than sixty-three "
                        "characters")
                .substr(0, 63));

  // Zero-size entries and the disabled memory node are skipped.
  ASSERT_EQ(p.memory_count, 2u);
  EXPECT_EQ(p.memory[0], range(0x80000000, 0x40000000));
  EXPECT_EQ(p.memory[1], range(0x100000000, 0x20000000));

  // Memreserve first, then /reserved-memory children with reg (read with
  // its #size-cells = 1), skipping the dynamic pool and the disabled node.
  ASSERT_EQ(p.reserved_count, 5u);
  EXPECT_EQ(p.reserved[0].range, range(0x80000000, 0x10000));
  EXPECT_TRUE(p.reserved[0].from_memreserve);
  EXPECT_EQ(p.reserved[1].range, range(0x8fff0000, 0x1000));
  EXPECT_TRUE(p.reserved[1].from_memreserve);
  EXPECT_EQ(p.reserved[2].range, range(0x81000000, 0x100000));
  EXPECT_TRUE(p.reserved[2].no_map);
  EXPECT_FALSE(p.reserved[2].from_memreserve);
  EXPECT_EQ(p.reserved[3].range, range(0x90000000, 0x2000));
  EXPECT_FALSE(p.reserved[3].no_map);
  EXPECT_EQ(p.reserved[4].range, range(0x90010000, 0x1000));

  // 2-cell MPIDRs; cpu-map, the cache and the disabled CPU are skipped.
  ASSERT_EQ(p.cpu_count, 3u);
  EXPECT_EQ(p.cpus[0].mpidr, 0u);
  EXPECT_EQ(p.cpus[0].enable_method, CpuEnableMethod::kNone);
  EXPECT_EQ(p.cpus[1].mpidr, 0x100u);
  EXPECT_EQ(p.cpus[1].enable_method, CpuEnableMethod::kSpinTable);
  EXPECT_EQ(p.cpus[1].release_addr, mm::PhysAddr(0x8000fff8));  // one-cell form
  EXPECT_EQ(p.cpus[2].mpidr, 0x100000000u);
  EXPECT_EQ(p.cpus[2].enable_method, CpuEnableMethod::kPsci);

  // PSCI 0.1: function IDs from properties.
  EXPECT_EQ(p.psci.conduit, PsciConduit::kHvc);
  EXPECT_FALSE(p.psci.standard_function_ids);
  EXPECT_EQ(p.psci.cpu_on_function_id, 0x95c10001u);

  // GICv3 on /soc (child 0 -> 0x20000000), two GICR regions, legacy frames.
  EXPECT_EQ(p.gic.version, GicVersion::kV3);
  EXPECT_EQ(p.gic.distributor, range(0x2f000000, 0x10000));
  ASSERT_EQ(p.gic.redistributor_region_count, 2u);
  EXPECT_EQ(p.gic.redistributors[0], range(0x2f100000, 0x100000));
  EXPECT_EQ(p.gic.redistributors[1], range(0x2f300000, 0x100000));
  EXPECT_EQ(p.gic.cpu_interface, range(0x2f500000, 0x2000));
  EXPECT_EQ(p.gic.hyp_interface, range(0x2f510000, 0x2000));
  EXPECT_EQ(p.gic.vcpu_interface, range(0x2f520000, 0x2000));
  EXPECT_EQ(p.gic.maintenance_intid, 25u);

  // armv7-timer compatible, interrupt parent inherited from the root.
  EXPECT_TRUE(p.timer.present);
  EXPECT_EQ(p.timer.nonsecure_phys_intid, 30u);
  EXPECT_EQ(p.timer.hyp_phys_intid, 26u);

  // "bus/serial@2000:115200n8": alias + sub-path + options, two buses deep
  // (0x2000 -> 0x1002000 on /soc -> 0x21002000).
  EXPECT_EQ(p.uart.kind, UartKind::kPl011);
  EXPECT_STREQ(p.uart.path, "/soc/bridge@1000000/serial@2000");
  EXPECT_EQ(p.uart.regs, range(0x21002000, 0x1000));
  EXPECT_TRUE(p.uart.has_interrupt);  // <0 33 4>, parent inherited from the root
  EXPECT_EQ(p.uart.intid, 65u);
  EXPECT_FALSE(p.uart.edge);
  ASSERT_NE(p.bootargs, nullptr);
  EXPECT_STREQ(p.bootargs, "console=ttyAMA0 lamina.synthetic=1");
}

// The console's interrupt: edge flags, the polled fallbacks (no property,
// a PPI, another controller) and a malformed specifier.
TEST(PlatformSyntheticTest, ConsoleInterruptVariants) {
  const char* serial = "/soc/bridge@1000000/serial@2000";
  const auto discover_with = [&](auto edit) {
    Dtb dtb = Dtb::load("synthetic.dtb").editable();
    edit(dtb);
    Platform p;
    const auto result = discover_platform(dtb.data(), kDtbPa, &p);
    return std::make_pair(result.ok() ? DtErrorCode::kNoBlob : result.error().code, p);
  };
  const auto set_interrupts = [&](Dtb& dtb, std::initializer_list<uint32_t> cells) {
    std::vector<fdt32_t> raw;
    for (const uint32_t c : cells) raw.push_back(cpu_to_fdt32(c));
    ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node(serial), "interrupts", raw.data(),
                          static_cast<int>(raw.size() * sizeof(fdt32_t))), 0);
  };
  {  // edge rising
    const auto [code, p] = discover_with([&](Dtb& d) { set_interrupts(d, {0, 7, 1}); });
    EXPECT_EQ(code, DtErrorCode::kNoBlob);
    EXPECT_TRUE(p.uart.has_interrupt);
    EXPECT_EQ(p.uart.intid, 39u);
    EXPECT_TRUE(p.uart.edge);
  }
  {  // no interrupts property: polled
    const auto [code, p] = discover_with([&](Dtb& d) { ASSERT_EQ(fdt_delprop(d.data(), d.node(serial), "interrupts"), 0); });
    EXPECT_EQ(code, DtErrorCode::kNoBlob);
    EXPECT_FALSE(p.uart.has_interrupt);
  }
  {  // a PPI: not a line lamina can route to a CPU, polled
    const auto [code, p] = discover_with([&](Dtb& d) { set_interrupts(d, {1, 5, 4}); });
    EXPECT_EQ(code, DtErrorCode::kNoBlob);
    EXPECT_FALSE(p.uart.has_interrupt);
  }
  {  // another interrupt controller: polled
    const auto [code, p] = discover_with([&](Dtb& d) {
      const int intc = fdt_add_subnode(d.data(), 0, "other-intc");
      ASSERT_GE(intc, 0);
      ASSERT_EQ(fdt_setprop_empty(d.data(), intc, "interrupt-controller"), 0);
      ASSERT_EQ(fdt_setprop_u32(d.data(), intc, "#interrupt-cells", 1), 0);
      ASSERT_EQ(fdt_setprop_u32(d.data(), intc, "phandle", 0x777), 0);
      ASSERT_EQ(fdt_setprop_u32(d.data(), d.node(serial), "interrupt-parent", 0x777), 0);
      set_interrupts(d, {3});
    });
    EXPECT_EQ(code, DtErrorCode::kNoBlob);
    EXPECT_FALSE(p.uart.has_interrupt);
  }
  {  // a truncated specifier stops discovery, naming the node
    const auto [code, p] = discover_with([&](Dtb& d) { set_interrupts(d, {0, 7}); });
    EXPECT_EQ(code, DtErrorCode::kBadProperty);
  }
  {  // an unknown specifier type
    const auto [code, p] = discover_with([&](Dtb& d) { set_interrupts(d, {9, 7, 4}); });
    EXPECT_EQ(code, DtErrorCode::kBadProperty);
  }
  // find_console_uart() alone does not look at interrupts.
  const Dtb dtb = Dtb::load("synthetic.dtb");
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok());
  EXPECT_FALSE(uart.value().has_interrupt);
}

// Without stdout-path, the first *enabled* arm,pl011 is the console.
TEST(PlatformSyntheticTest, ConsoleFallsBackToFirstEnabledPl011) {
  Dtb dtb = Dtb::load("synthetic.dtb").editable();
  ASSERT_EQ(fdt_delprop(dtb.data(), dtb.node("/chosen"), "stdout-path"), 0);
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_STREQ(uart.value().path, "/soc/bridge@1000000/serial@2000");
  EXPECT_EQ(uart.value().regs, range(0x21002000, 0x1000));
}

TEST(PlatformSyntheticTest, LegacyLinuxStdoutPath) {
  Dtb dtb = Dtb::load("qemu-virt-gicv2-a57-smp1-1g.dtb").editable();
  const int chosen = dtb.node("/chosen");
  ASSERT_EQ(fdt_delprop(dtb.data(), chosen, "stdout-path"), 0);
  ASSERT_EQ(fdt_setprop_string(dtb.data(), chosen, "linux,stdout-path", "serial0"), 0);
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_STREQ(uart.value().path, "/pl011@9000000");
}

// --- describe_dt_error -------------------------------------------------------

DtError error(DtErrorCode code, const char* node, const char* property, const char* detail,
              int libfdt_error = 0) {
  DtError e;
  e.code = code;
  strncpy(e.node, node, sizeof(e.node) - 1);
  e.property = property;
  e.detail = detail;
  e.libfdt_error = libfdt_error;
  return e;
}

TEST(PlatformDescribeTest, Formats) {
  EXPECT_EQ(describe(error(DtErrorCode::kMissingProperty, "/cpus/cpu@1", "cpu-release-addr",
                           "spin-table CPUs need a release address")),
            "device tree: missing property (/cpus/cpu@1, cpu-release-addr): spin-table CPUs "
            "need a release address");
  EXPECT_EQ(describe(error(DtErrorCode::kMissingNode, "/psci", nullptr, "no PSCI node")),
            "device tree: missing node (/psci): no PSCI node");
  EXPECT_EQ(describe(error(DtErrorCode::kBadHeader, "header", nullptr, "bad magic", -FDT_ERR_BADMAGIC)),
            "device tree: bad header (header): bad magic [libfdt: FDT_ERR_BADMAGIC]");
  EXPECT_EQ(describe(error(DtErrorCode::kTooMany, "", nullptr, nullptr)), "device tree: too many entries");
}

TEST(PlatformDescribeTest, RealErrorText) {
  Dtb dtb = rpi4_with_pl011_console("qemu-raspi4b.dtb");
  ASSERT_EQ(fdt_delprop(dtb.data(), dtb.node("/cpus/cpu@1"), "cpu-release-addr"), 0);
  Platform p;
  const auto result = discover_platform(dtb.data(), kDtbPa, &p);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(describe(result.error()),
            "device tree: missing property (/cpus/cpu@1, cpu-release-addr): spin-table CPUs "
            "need a release address");
}

TEST(PlatformDescribeTest, TruncatesAndAlwaysTerminates) {
  const DtError e = error(DtErrorCode::kUntranslatable, "/soc/bridge@1000000", "ranges",
                          "the address lies outside every window of this bus's ranges");
  char small[20];
  memset(small, 'x', sizeof(small));
  describe_dt_error(e, small, sizeof(small));
  EXPECT_STREQ(small, "device tree: untran");

  char one[1] = {'x'};
  describe_dt_error(e, one, sizeof(one));
  EXPECT_EQ(one[0], '\0');

  char untouched[4] = {'a', 'b', 'c', '\0'};
  describe_dt_error(e, untouched, 0);
  EXPECT_STREQ(untouched, "abc");

  // A node buffer filled to the brim (no NUL) is still read within bounds.
  DtError full = e;
  memset(full.node, 'n', sizeof(full.node));
  char buf[512];
  describe_dt_error(full, buf, sizeof(buf));
  const std::string prefix = "device tree: untranslatable address (";
  EXPECT_EQ(std::string(buf).substr(0, prefix.size() + sizeof(full.node) + 2),
            prefix + std::string(sizeof(full.node), 'n') + ", ");
}

TEST(PlatformDescribeTest, EveryCodeHasAName) {
  for (int code = 0; code <= static_cast<int>(DtErrorCode::kUnsupported); ++code) {
    EXPECT_STRNE(dt_error_code_name(static_cast<DtErrorCode>(code)), "unknown error") << code;
  }
}

}  // namespace
}  // namespace lamina::hyp
