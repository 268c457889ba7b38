// boot: how the guest was entered and what it finds there. Built three
// ways from this source: boot.elf (ELF program headers), boot-raw.bin (a raw
// binary at 0x40080000) and boot-image.bin (a Linux Image header, linked at
// RAM base + 2 MiB + text_offset 0 = 0x40200000).
//
// Expected (the contract lamina implements; the arm64 boot protocol,
// Documentation/arch/arm64/booting.rst, for the Image): EL1h, DAIF masked,
// MMU and D-cache off; x0 = the guest DT; x1..x3 = 0; MPIDR_EL1
// Aff0 = 0 with bit 31 (RES1) set; the image where it was linked; for the ELF
// .data initialised, .bss zeroed by the loader and the DT at RAM base, as
// QEMU virt places it. The emulated PL011 answers with its identification
// registers.
#include "guest.hpp"

extern const char kGuestName[] = "boot";

extern "C" char _start[];

namespace {

using namespace guest;

// An initialised .data word: the loader must copy it.
volatile uint64_t g_data_word = 0x0123456789abcdefULL;
// The link-time address of _start: a volatile initialised variable is
// filled by an absolute relocation at link time (the compiler would
// otherwise compute the address PC-relative, i.e. the run-time address).
volatile uintptr_t g_linked_start = reinterpret_cast<uintptr_t>(_start);

// SCTLR_EL1 (DDI 0487, "SCTLR_EL1, System Control Register (EL1)"): M [0],
// C [2], I [12].
constexpr uint64_t kSctlrM = 1u << 0;
constexpr uint64_t kSctlrC = 1u << 2;

// PL011 identification registers (DDI 0183, 3.3.11-3.3.14 UARTPeriphID0-3
// and UARTPCellID0-3, at 0xfe0..0xffc): part number 0x011, designer 0x41
// (Arm) split as PeriphID1[7:4] = 0x1 and PeriphID2[3:0] = 0x4; the
// revision (PeriphID2[7:4]) differs between PL011 revisions and is not
// compared. The PrimeCell ID is 0xb105f00d.
void check_pl011_ids() {
  const uintptr_t id = kPl011Base + 0xfe0;
  check_eq("pl011.periph-id0", mmio_read32(id + 0x0), 0x11);
  check_eq("pl011.periph-id1", mmio_read32(id + 0x4), 0x10);
  check_eq("pl011.periph-id2.designer", mmio_read32(id + 0x8) & 0xf, 0x4);
  check_eq("pl011.periph-id3", mmio_read32(id + 0xc), 0x00);
  check_eq("pl011.cell-id0", mmio_read32(id + 0x10), 0x0d);
  check_eq("pl011.cell-id1", mmio_read32(id + 0x14), 0xf0);
  check_eq("pl011.cell-id2", mmio_read32(id + 0x18), 0x05);
  check_eq("pl011.cell-id3", mmio_read32(id + 0x1c), 0xb1);
}

}  // namespace

int guest_main() {
  const bool image = GUEST_PARAM(image) != 0;
  const bool raw = GUEST_PARAM(raw) != 0;
  const EntryState& e = boot_entry();
  const uintptr_t kLinkedStart = g_linked_start;
  info("format %s, linked at 0x%lx, entered at 0x%lx, x0 0x%lx x1 0x%lx x2 0x%lx x3 0x%lx",
       image ? "Image" : raw ? "raw" : "ELF", kLinkedStart, e.pc, e.x[0], e.x[1], e.x[2], e.x[3]);

  check_eq("entry.pc-is-link-address", e.pc, kLinkedStart);
  check_eq("entry.current-el", bits(e.current_el, 3, 2), 1);
  check_eq("entry.spsel-el1h", e.spsel & 1, 1);
  check_eq("entry.daif-masked", e.daif & PSTATE_DAIF_MASKED, PSTATE_DAIF_MASKED);
  check_eq("entry.sctlr.mmu-off", e.sctlr_el1 & kSctlrM, 0);
  check_eq("entry.sctlr.dcache-off", e.sctlr_el1 & kSctlrC, 0);
  // Aff3 [39:32], RES1 [31], Aff2..Aff0 [23:0]; U [30] and MT [24] may vary.
  check_eq("entry.mpidr", e.mpidr & 0xff80ffffffULL, 0x80000000ULL);
  check("entry.x0-is-dt", fdt_valid(e.x[0]), "x0 0x%lx does not point to a DT (magic 0xd00dfeed)", e.x[0]);
  // booting.rst: "x1 = 0, x2 = 0, x3 = 0 (reserved for future use)"; lamina
  // enters every kind of payload that way.
  check_eq("entry.x1-zero", e.x[1], 0);
  check_eq("entry.x2-zero", e.x[2], 0);
  check_eq("entry.x3-zero", e.x[3], 0);
  if (!image && !raw) {
    // QEMU virt puts the DT of an ELF payload at the start of RAM when it
    // fits below the image (docs/system/arm/virt.rst, "Hardware
    // configuration information for bare-metal programming"); lamina too.
    // Image and raw payloads get it only in x0 (QEMU's Linux boot path).
    check("entry.dt-at-ram-base", fdt_valid(kRamBase), "no DT (magic 0xd00dfeed) at 0x%lx", kRamBase);
    check_eq("entry.x0-is-ram-base", e.x[0], kRamBase);
  }
  if (!raw && !image) {
    // A raw binary has no .bss to clear; an ELF loader must clear p_memsz
    // beyond p_filesz (System V gABI, "Program Header").
    check_eq("elf.bss-zeroed-by-loader", e.bss_dirty, 0);
  }
  check_eq("data.initialised", g_data_word, 0x0123456789abcdefULL);

  const uintptr_t dt = dtb();
  const MemoryRange mem = fdt_memory(dt);
  info("DT at 0x%lx (%u bytes): memory 0x%lx + 0x%lx, %u CPUs", dt, fdt_total_size(dt), mem.base, mem.size,
       fdt_cpu_count(dt));
  check_eq("dt.memory-base", mem.base, kRamBase);
  check("dt.memory-holds-image", mem.base <= kLinkedStart && kLinkedStart < mem.base + mem.size,
        "image at 0x%lx outside memory 0x%lx + 0x%lx", kLinkedStart, mem.base, mem.size);
  check_ge("dt.cpu-count", fdt_cpu_count(dt), 1);
  char method[8];
  check("dt.psci-method", fdt_psci_method(dt, method, sizeof method) &&
                              (streq(method, "hvc") || streq(method, "smc")),
        "no /psci method hvc or smc");

  check_pl011_ids();
  return 0;
}
