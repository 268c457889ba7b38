// The boot CPU's path from boot/entry.S to the hypervisor proper:
//
//   1. (MMU off) build the early EL2 map: the image with per-section
//      permissions, per-CPU stacks with guard pages, and a read-only window
//      on the DTB;
//   2. turn the MMU and caches on (in the EL2 regime, or the EL1 one when
//      started at EL1, only to be able to explain the problem);
//   3. run C++ static initialisers;
//   4. continue in hyp_main() at EL2, or wrong_exception_level() otherwise.
//
// Code before step 2 runs with all memory Device-nGnRnE: it makes only
// aligned accesses and takes no locks.
#include <cstdint>

#include "arch/barrier.hpp"
#include "arch/cache.hpp"
#include "arch/sysreg.hpp"
#include "boot/hyp_mmu.hpp"
#include "boot/image_layout.hpp"
#include "boot/secondary_boot.hpp"
#include "hyp/cpu/el2_config.hpp"
#include "hyp/crash.hpp"
#include "hyp/percpu.hpp"
#include "hyp/platform/platform.hpp"

extern "C" char el2_vectors[];
// boot/entry.S: the one EL2 MMU-on sequence, shared with the secondaries.
extern "C" void enable_el2_mmu(const lamina::boot::MmuConfig* config);

namespace lamina::hyp {
[[noreturn]] void hyp_main(mm::PhysAddr dtb);
[[noreturn]] void wrong_exception_level(mm::PhysAddr dtb, uint64_t el);
}  // namespace lamina::hyp

namespace lamina::boot {

using mm::PhysAddr;
using mm::PhysRange;

extern "C" {
MmuConfig g_mmu_config;
SecondaryBoot g_secondary_boot[hyp::kMaxCpus];
}

namespace {

// Tables for lamina's own map. 64 pages cover the image, the DTB, RAM as
// 1 GiB / 2 MiB blocks, and device pages on any machine lamina targets.
constexpr size_t kHypTablePages = 64;
alignas(mm::kPageSize) uint64_t g_hyp_tables[kHypTablePages][mm::kPageSize / 8];
size_t g_hyp_tables_used = 0;

Result<PhysAddr, mm::Error> alloc_hyp_table(void*) {
  if (g_hyp_tables_used == kHypTablePages) return Err{mm::Error::kNoMemory};
  // Zeroed with the BSS by entry.S and never reused.
  return pa_of_symbol(g_hyp_tables[g_hyp_tables_used++]);
}

uint64_t* hyp_table_ptr(void*, PhysAddr pa) { return mm::to_ptr<uint64_t>(mm::to_va(pa)); }

// Storage for the table object (constructed before static initialisers run,
// so it cannot be an ordinary global with a constructor).
alignas(mm::HypPageTable) unsigned char g_hyp_table_storage[sizeof(mm::HypPageTable)];
mm::HypPageTable* g_hyp_table = nullptr;

// The DTB window mapped before anything is known about memory: the blob
// (up to the 2 MiB the boot protocol allows), or one page when its header
// cannot be trusted. Reads only aligned big-endian words of the header.
PhysRange early_dtb_window(PhysAddr dtb) {
  if (dtb.value() == 0 || !dtb.is_aligned(8)) return {};
  const auto* header = mm::to_ptr<const volatile uint32_t>(mm::to_va(dtb));
  const uint32_t magic = __builtin_bswap32(header[0]);
  uint64_t size = mm::kPageSize;
  if (magic == 0xd00dfeed) {
    const uint64_t total = __builtin_bswap32(header[1]);
    size = total < hyp::kMaxDtbSize ? total : hyp::kMaxDtbSize;
  }
  const PhysAddr base = dtb.align_down(mm::kPageSize);
  return {base, mm::align_up(dtb.offset(size).minus(base), mm::kPageSize)};
}

[[nodiscard]] bool map_early(PhysRange range, mm::HypMapAttrs attrs, mm::Overlap overlap = mm::Overlap::kFail) {
  return g_hyp_table->map(mm::to_va(range.base), range.base, range.size, attrs, overlap).ok();
}

// Builds the early map; false if something did not fit (then there is no
// console to say so: the caller parks the CPU).
bool build_early_map(const ImageLayout& image, PhysRange dtb_window, unsigned va_bits) {
  const mm::PageTableMemory memory{nullptr, alloc_hyp_table, hyp_table_ptr};
  auto table = mm::HypPageTable::create(memory, va_bits);
  if (!table.ok()) return false;
  g_hyp_table = new (g_hyp_table_storage) mm::HypPageTable(table.value());

  bool ok = map_early(image.text, mm::kHypText) && map_early(image.rodata, mm::kHypReadOnly) &&
            map_early(image.relro, mm::kHypReadOnly) && map_early(image.data, mm::kHypReadWrite);
  // Each stack without its guard page: an overflow faults instead of
  // silently corrupting the neighbouring CPU's stack.
  for (size_t i = 0; i < hyp::kMaxCpus && ok; ++i) {
    const auto& s = hyp::g_cpu_stacks[i];
    ok = map_early(range_between(s.stack, s.stack + sizeof(s.stack)), mm::kHypReadWrite) &&
         map_early(range_between(s.emergency, s.emergency + sizeof(s.emergency)), mm::kHypReadWrite);
  }
  if (ok && dtb_window.size != 0) ok = map_early(dtb_window, mm::kHypReadOnly, mm::Overlap::kFillHoles);
  return ok;
}

// The cache maintenance before the MMU and caches come on: everything we
// wrote with caches off went to memory, so drop any stale cached copies an
// earlier boot stage may have left (they would otherwise win).
void discard_stale_cache_lines(const ImageLayout& image, PhysRange dtb_window) {
  arch::invalidate_dcache_to_poc(image.whole.base.value(), image.whole.size);
  if (dtb_window.size != 0) arch::invalidate_dcache_to_poc(dtb_window.base.value(), dtb_window.size);
  arch::invalidate_icache_local();
}

void enable_mmu_el2() {
  const unsigned va_bits = g_hyp_table->va_bits();
  g_mmu_config.mair = arch::Mair::lamina_default().raw();
  g_mmu_config.tcr = hyp::tcr_el2_value(va_bits, arch::phys_addr_size_for_bits(va_bits)).raw();
  g_mmu_config.ttbr0 = arch::Ttbr0El2::for_table(g_hyp_table->root().value()).raw();
  g_mmu_config.sctlr = hyp::sctlr_el2_mmu_on().raw();
  g_mmu_config.vbar = reinterpret_cast<uint64_t>(el2_vectors);

  enable_el2_mmu(&g_mmu_config);
}

// Started at EL1: the same identity tables, in the EL1&0 regime, only so
// that the DT can be read and the problem explained on its console. (AP[1]
// set means "EL0 too" there and PXN is clear, which is harmless here.)
void enable_mmu_el1() {
  const unsigned va_bits = g_hyp_table->va_bits();
  using arch::TcrEl1;
  arch::write(arch::CpacrEl1::from_scratch().with(arch::CpacrEl1::fpen, arch::kCpacrFpenNoTrap));
  arch::write(arch::MairEl1::same_as(arch::Mair::lamina_default()));
  arch::write(TcrEl1::from_scratch()
                  .with(TcrEl1::t0sz, uint64_t{64} - va_bits)
                  .with(TcrEl1::irgn0, arch::WalkCacheability::kWriteBackReadWriteAllocate)
                  .with(TcrEl1::orgn0, arch::WalkCacheability::kWriteBackReadWriteAllocate)
                  .with(TcrEl1::sh0, arch::Shareability::kInnerShareable)
                  .with(TcrEl1::tg0, arch::Tg0::k4K)
                  .with(TcrEl1::epd1, true)
                  .with(TcrEl1::tg1, arch::Tg1::k4K)
                  .with(TcrEl1::ips, arch::phys_addr_size_for_bits(va_bits)));
  arch::write(arch::Ttbr0El1::for_table(g_hyp_table->root().value()));
  arch::isb();
  asm volatile("tlbi vmalle1\n\tdsb nsh" ::: "memory");
  arch::write(arch::SctlrEl1::from_scratch()
                  .with(arch::SctlrEl1::m, true)
                  .with(arch::SctlrEl1::c, true)
                  .with(arch::SctlrEl1::i, true)
                  .with(arch::SctlrEl1::sa, true)
                  .with(arch::SctlrEl1::span, true));
  arch::isb();
}

void run_static_initialisers() {
  for (auto* fn = __init_array_start; fn != __init_array_end; ++fn) (*fn)();
}

}  // namespace

mm::HypPageTable& hyp_page_table() { return *g_hyp_table; }

Status<mm::Error> map_device(PhysRange regs) {
  const PhysAddr base = regs.base.align_down(mm::kPageSize);
  const uint64_t size = mm::align_up(regs.end().minus(base), mm::kPageSize);
  TRY(g_hyp_table->map(mm::to_va(base), base, size, mm::kHypDevice, mm::Overlap::kFillHoles));
  arch::dsb_ishst();
  arch::isb();
  return Ok{};
}

Status<mm::Error> map_ram(PhysRange ram) {
  const PhysAddr base = ram.base.align_up(mm::kPageSize);
  const PhysAddr end = ram.end().align_down(mm::kPageSize);
  if (end <= base) return Ok{};
  TRY(g_hyp_table->map(mm::to_va(base), base, end.minus(base), mm::kHypReadWrite, mm::Overlap::kFillHoles));
  arch::dsb_ishst();
  arch::isb();
  return Ok{};
}

extern "C" [[noreturn]] void boot_primary(uint64_t dtb_pa, uint64_t load_base) {
  const uint64_t el = arch::read<arch::CurrentEl>().get(arch::CurrentEl::el);
  const hyp::CpuFeatures features = hyp::CpuFeatures::from_id_registers(
      arch::read<arch::IdAa64Mmfr0>(), arch::read<arch::IdAa64Mmfr1>(), arch::read<arch::IdAa64Mmfr2>(),
      arch::read<arch::IdAa64Pfr0>(), arch::read<arch::CtrEl0>());
  const ImageLayout image = image_layout();
  const PhysAddr dtb(dtb_pa);
  const PhysRange dtb_window = early_dtb_window(dtb);

  if (el != 1 && el != 2) arch::halt_cpu();  // EL3: nothing here can help
  // Before VBAR_EL2 points at our vectors, which read these.
  hyp::assign_stacks(hyp::g_percpu[0], 0);
  if (!build_early_map(image, dtb_window, hyp::hyp_va_bits(features))) arch::halt_cpu();
  discard_stale_cache_lines(image, dtb_window);
  if (el == 2) enable_mmu_el2();
  else enable_mmu_el1();

  run_static_initialisers();
  hyp::set_load_base(load_base);

  hyp::PerCpu& cpu0 = hyp::g_percpu[0];
  cpu0.index = 0;
  cpu0.mpidr = arch::read<arch::MpidrEl1>().affinity();
  cpu0.features = features;

  if (el != 2) hyp::wrong_exception_level(dtb, el);
  hyp::hyp_main(dtb);
}

}  // namespace lamina::boot
