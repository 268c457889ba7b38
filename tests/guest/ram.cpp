// ram: every page of guest RAM (the /memory node of the guest DT) is
// readable and writable and holds what was written: one address-derived
// word per page (at an offset that walks through the page from page to
// page), all written first, then all read back. Pages holding this program
// or the DT are read and written back with their own value instead.
//
// Run with a RAM size that is not a multiple of 1 GiB or 2 MiB (e.g. 3 GiB +
// 6 MiB + 20 KiB) so that lamina's on-demand stage-2 mapping has to use
// 1 GiB, 2 MiB and 4 KiB mappings; with `--append lamina.stats` lamina then
// reports how many of each it made. GUEST_PARAM(mem_kib), if given, is the
// RAM size the DT must describe.
#include "guest.hpp"

extern const char kGuestName[] = "ram";

extern "C" char __image_start[];
extern "C" char __image_end[];

namespace {

using namespace guest;

constexpr uint64_t kPage = 4096;

uint64_t pattern(uint64_t addr) { return addr * 0x9e3779b97f4a7c15ULL + 0x0123456789abcdefULL; }
uint64_t word_in_page(uint64_t page) { return page + ((page / kPage) % (kPage / 8)) * 8; }

struct Protected {
  uint64_t start, end;  // page-aligned
  bool contains(uint64_t page) const { return page >= start && page < end; }
};

}  // namespace

int guest_main() {
  const uintptr_t dt = dtb();
  const MemoryRange ram = fdt_memory(dt);
  const uint64_t end = ram.base + ram.size;
  info("RAM 0x%lx-0x%lx (%lu KiB), DT at 0x%lx", ram.base, end, ram.size / 1024, dt);
  if (!check("ram.dt-memory", ram.size != 0 && ram.base % kPage == 0 && ram.size % kPage == 0,
             "no page-aligned /memory in the DT: base 0x%lx size 0x%lx", ram.base, ram.size))
    return 0;
  if (const uint64_t kib = GUEST_PARAM(mem_kib); kib != 0) check_eq("ram.size-from-dt", ram.size, kib * 1024);

  const Protected image{reinterpret_cast<uintptr_t>(__image_start) & ~(kPage - 1),
                        (reinterpret_cast<uintptr_t>(__image_end) + kPage - 1) & ~(kPage - 1)};
  const Protected blob{dt & ~(kPage - 1), (dt + fdt_total_size(dt) + kPage - 1) & ~(kPage - 1)};
  // QEMU virt also keeps its own DT copy at RAM base for ELF payloads.
  const Protected base_copy{ram.base, ram.base + ((fdt_total_size(ram.base) + kPage - 1) & ~(kPage - 1))};
  auto is_protected = [&](uint64_t page) {
    return image.contains(page) || blob.contains(page) || base_copy.contains(page);
  };

  const uint64_t pages = ram.size / kPage;
  const uint64_t report_every = (512ULL << 20) / kPage;
  uint64_t written = 0, preserved = 0;
  for (uint64_t i = 0; i < pages; ++i) {
    const uint64_t page = ram.base + i * kPage;
    const uint64_t a = word_in_page(page);
    if (is_protected(page)) {
      mmio_write64(a, mmio_read64(a));
      ++preserved;
    } else {
      mmio_write64(a, pattern(a));
      ++written;
    }
    if ((i + 1) % report_every == 0) info("written up to 0x%lx", page + kPage);
  }
  info("%lu pages written, %lu read and written back", written, preserved);

  uint64_t bad = 0;
  for (uint64_t i = 0; i < pages; ++i) {
    const uint64_t page = ram.base + i * kPage;
    if (is_protected(page)) continue;
    const uint64_t a = word_in_page(page);
    const uint64_t v = mmio_read64(a);
    if (v != pattern(a) && bad++ < 8) {
      printf("GUEST-INFO mismatch at 0x%lx: expected 0x%lx actual 0x%lx\n", a, pattern(a), v);
    }
  }
  check("ram.every-page", bad == 0, "%lu of %lu pages read back wrong", bad, written);
  check_eq("ram.pages-checked", written + preserved, pages);
  // The first and last words of RAM, explicitly.
  const uint64_t last = end - 8;
  if (!is_protected(last & ~(kPage - 1))) {
    mmio_write64(last, 0xfeedfacecafebeefULL);
    check_eq("ram.last-word", mmio_read64(last), 0xfeedfacecafebeefULL);
  }
  return 0;
}
