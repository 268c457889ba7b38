// The stage-2 hardware check: mm::Stage2's tables against the MMU's own
// answer (AT S12E1R/W into PAR_EL1). See hyp/selftest_stage2.hpp.
//
// Attributes. PAR_EL1.ATTR of an AT S12E1* reports stage 1 and stage 2
// *combined* (DDI 0487 K.a D8.5 "Memory region attributes": combining the
// stage 1 and stage 2 attributes; D23.2 "PAR_EL1"). With the EL1&0 stage 1
// disabled (SCTLR_EL1.M = 0) and HCR_EL2.DC = 0, stage 1 makes every data
// access Device-nGnRnE (D8.2.11 "Behavior when stage 1 address translation
// is disabled"), and Device-nGnRnE combined with anything is Device-nGnRnE:
// every ATTR would read 0x00 and the check could not tell a stage-2 Normal
// mapping from a Device one. So the check sets HCR_EL2.DC = 1 ("default
// cacheable"): stage 1, still disabled (DC = 1 makes SCTLR_EL1.M behave as
// 0), then yields Normal Inner/Outer Write-Back Read/Write-Allocate,
// Non-shareable, and the combination is stage 2's own type:
//   stage-2 Normal WB, inner shareable -> ATTR 0xff, SH 0b11 (inner);
//   stage-2 Device-nGnRE               -> ATTR 0x04, SH 0b10;
//   stage-2 Normal Non-cacheable       -> ATTR 0x44, SH 0b10
// (PAR_EL1.SH reads 0b10 for any Device or Normal Non-cacheable result;
// for Normal memory the more shareable of the two stages wins). QEMU reports
// exactly these; real hardware may report the attribute it actually
// implements instead (PAR_EL1.ATTR description), so on hardware a mismatch
// in the allocation hints is worth a look before it is called a bug.
//
// Faults: an unmapped IPA must give a stage-2 (S = 1) translation fault at
// the level of the invalid entry, not on a stage-1 walk (PTW = 0); a write
// to a read-only page a stage-2 permission fault at level 3.
//
// QEMU quirk: QEMU 10.0's TCG aborts the whole emulator when an AT S12E1*
// ends in a stage-2 *permission* fault (target/arm: do_ats_write asserts
// !cacheattrs.is_s2_format, but the stage-2 walk has already set it when the
// permission check fails, and the two-stage walk returns that result as is).
// On QEMU virt that one AT is therefore not executed; the check still asks
// lamina's walk that the page is read-only, logs why the AT was skipped and
// is counted as skipped, not passed. On other machines the AT runs.
#include "hyp/selftest_stage2.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "arch/at.hpp"
#include "arch/barrier.hpp"
#include "arch/cache.hpp"
#include "arch/esr.hpp"
#include "arch/regs/mair.hpp"
#include "arch/regs/par_el1.hpp"
#include "arch/sysreg.hpp"
#include "arch/tlbi.hpp"
#include "hyp/cpu/el2_config.hpp"
#include "hyp/lib/format.hpp"
#include "hyp/log.hpp"
#include "hyp/memory.hpp"
#include "mm/addr.hpp"
#include "mm/stage2.hpp"
#include "mm/stage2_desc.hpp"
#include "mm/stage2_geometry.hpp"
#include "mm/vmid_allocator.hpp"

namespace lamina::hyp {

namespace {

using arch::Shareability;
using mm::IntermediatePhysAddr;
using mm::PhysAddr;

constexpr uint64_t kPage = mm::kPageSize;
constexpr uint64_t k2M = uint64_t{1} << 21;
constexpr uint64_t k1G = uint64_t{1} << 30;

// The IPA layout, the same for both geometries (4K granule; L0 covers 512
// GiB, L1 1 GiB, L2 2 MiB). Everything but the top block sits under L1
// index 2 and 3, so the holes below have a known level:
//   0x8000_1000  4K page RW          (these five share one L3 table)
//   0x8000_2000  4K page read-only
//   0x8000_3000  4K device page
//   0x8000_4000  4K Normal NC page
//   0x8000_5000  hole: L3 entry
//   0x8020_0000  2M block (L2 index 1)
//   0x8060_0000  hole: L2 entry (same L2 table)
//   0xc000_0000  1G block (L1 index 3)
//   0x1_0000_0000  hole: L1 entry (L1 index 4)
//   0xff_c000_0000  1G block, the last GiB of a 40-bit IPA space: with the
//                   3-level geometry it sits in the second concatenated root
//                   table (root index 1023)
//   root hole: 3-level 0x80_0000_0000 (root index 512, second root table),
//              4-level 0x100_0000_0000 (L0 index 2).
constexpr uint64_t kIpaPageRw = 0x8000'1000;
constexpr uint64_t kIpaPageRo = 0x8000'2000;
constexpr uint64_t kIpaDevice = 0x8000'3000;
constexpr uint64_t kIpaNonCacheable = 0x8000'4000;
constexpr uint64_t kIpaHoleL3 = 0x8000'5000;
constexpr uint64_t kIpaBlock2M = 0x8020'0000;
constexpr uint64_t kIpaHoleL2 = 0x8060'0000;
constexpr uint64_t kIpaBlock1G = 0xc000'0000;
constexpr uint64_t kIpaHoleL1 = 0x1'0000'0000;
constexpr uint64_t kIpaBlock1GTop = 0xff'c000'0000;
constexpr uint64_t kIpaHoleRoot3Level = 0x80'0000'0000;
constexpr uint64_t kIpaHoleRoot4Level = 0x100'0000'0000;

// The check's own VMIDs (the VM layer will own lamina's allocator). Static:
// the bitmap is 8 KiB.
mm::VmidAllocator g_vmids;

// ---- Table memory from the frame allocator --------------------------------

// S2TableMemory::alloc: `pages` zeroed frames aligned to their total size.
// The zeroes are cleaned to the PoC: VTCR_EL2 makes the walks cacheable
// (IRGN0/ORGN0 WB), so the walker would see them anyway, but a table must
// never depend on that.
Result<PhysAddr, mm::Error> alloc_tables(void* /*context*/, unsigned pages) {
  const PhysAddr pa = TRY(frame_allocator().alloc(pages, pages));
  const uint64_t bytes = uint64_t{pages} * kPage;
  __builtin_memset(mm::to_ptr<void>(mm::to_va(pa)), 0, bytes);
  arch::clean_dcache_to_poc(mm::to_va(pa).value(), bytes);
  return pa;
}

void free_tables(void* /*context*/, PhysAddr pa, unsigned pages) {
  if (auto r = frame_allocator().free(pa, pages); !r.ok())
    LOG_ERROR("stage2-at: FAILED: freeing table frames at {}: {}", pa, mm::error_name(r.error()));
}

uint64_t* table_at(void* /*context*/, PhysAddr pa) { return mm::to_ptr<uint64_t>(mm::to_va(pa)); }

mm::S2TableMemory table_memory() {
  mm::S2TableMemory m;
  m.alloc = alloc_tables;
  m.free = free_tables;
  m.table = table_at;
  return m;
}

// ---- What is mapped, and what each AT must find ---------------------------

// Output addresses. AT never accesses memory, but they are real: frames
// from the allocator, the UART for the device page, and the 1 GiB-aligned
// RAM at (or below) the first bank's base for the 1G blocks.
struct Targets {
  PhysAddr page_rw, page_ro, page_nc, block_2m, block_1g, device;
};

enum class Access : uint8_t { kRead, kWrite };

struct Check {
  const char* what = "";
  uint64_t ipa = 0;  // the address translated (inside the mapping)
  Access access = Access::kRead;
  bool fault = false;
  // F = 1: the expected FST (always a stage-2 fault, S = 1, PTW = 0).
  uint64_t fst = 0;
  // F = 0: the expected output page, ATTR and SH.
  uint64_t page_pa = 0;
  uint64_t attr = 0;
  Shareability sh = Shareability::kNonShareable;
  // What lamina's own walk (Stage2::lookup) must find there: a leaf at
  // `leaf_level` with base output `leaf_pa`, or (translation faults) nothing.
  unsigned leaf_level = 0;
  uint64_t leaf_pa = 0;
  // Set when this AT must not run here (why); lamina's walk is still asked.
  const char* at_skipped = nullptr;
};

constexpr size_t kMaxChecks = 16;

mm::S2Attrs normal_wb(bool write) {
  return mm::S2Attrs{mm::S2MemKind::kNormalWriteBack, true, write, false, false, Shareability::kInnerShareable, 0};
}

Check translated(const char* what, uint64_t ipa, Access access, uint64_t leaf_pa, uint64_t leaf_ipa,
                 unsigned level, uint64_t attr, Shareability sh) {
  Check c;
  c.what = what;
  c.ipa = ipa;
  c.access = access;
  c.page_pa = mm::align_down(leaf_pa + (ipa - leaf_ipa), kPage);
  c.attr = attr;
  c.sh = sh;
  c.leaf_level = level;
  c.leaf_pa = leaf_pa;
  return c;
}

Check faulting(const char* what, uint64_t ipa, Access access, uint64_t fst) {
  Check c;
  c.what = what;
  c.ipa = ipa;
  c.access = access;
  c.fault = true;
  c.fst = fst;
  return c;
}

// QEMU virt's device tree names the machine "linux,dummy-virt". (A QEMU
// machine with a real board's DT, such as raspi4b, is not recognized.)
bool qemu_aborts_on_stage2_permission_fault_at(const Platform& platform) {
  return std::string_view(platform.model) == "linux,dummy-virt";
}

size_t build_checks(const mm::Stage2Geometry& g, const Targets& t, const Platform& platform, Check* out) {
  constexpr uint64_t kWb = arch::kAttrNormalWriteBackRwAllocate;
  constexpr Shareability kIsh = Shareability::kInnerShareable;
  constexpr Shareability kOsh = Shareability::kOuterShareable;
  const uint64_t root_hole = g.start_level == 0 ? kIpaHoleRoot4Level : kIpaHoleRoot3Level;
  size_t n = 0;
  // Pages: offsets inside the page must not leak into PAR_EL1.PA.
  out[n++] = translated("4K RW page", kIpaPageRw + 0x10, Access::kRead, t.page_rw.value(), kIpaPageRw, 3, kWb, kIsh);
  out[n++] = translated("4K RW page", kIpaPageRw + 0xff8, Access::kWrite, t.page_rw.value(), kIpaPageRw, 3, kWb, kIsh);
  out[n++] = translated("4K RO page", kIpaPageRo, Access::kRead, t.page_ro.value(), kIpaPageRo, 3, kWb, kIsh);
  Check ro_write = faulting("4K RO page", kIpaPageRo + 0x20, Access::kWrite, arch::permission_fault_status(3));
  ro_write.leaf_level = 3;  // the page is mapped: lamina's walk finds it
  ro_write.leaf_pa = t.page_ro.value();
  if (qemu_aborts_on_stage2_permission_fault_at(platform))
    ro_write.at_skipped = "QEMU aborts on an AT that ends in a stage-2 permission fault";
  out[n++] = ro_write;
  // Blocks: an address in the middle and the last page, so a block that
  // was mapped as a smaller page (or with the wrong base) shows up.
  out[n++] = translated("2M block", kIpaBlock2M + 0x12'3456, Access::kRead, t.block_2m.value(), kIpaBlock2M, 2, kWb,
                        kIsh);
  out[n++] = translated("2M block", kIpaBlock2M + k2M - kPage, Access::kWrite, t.block_2m.value(), kIpaBlock2M, 2,
                        kWb, kIsh);
  out[n++] = translated("1G block", kIpaBlock1G + 0x1234'5678, Access::kRead, t.block_1g.value(), kIpaBlock1G, 1,
                        kWb, kIsh);
  out[n++] = translated("1G block", kIpaBlock1G + k1G - kPage, Access::kWrite, t.block_1g.value(), kIpaBlock1G, 1,
                        kWb, kIsh);
  out[n++] = translated("1G block below 1 TiB", kIpaBlock1GTop + 0x2000'1000, Access::kRead, t.block_1g.value(),
                        kIpaBlock1GTop, 1, kWb, kIsh);
  out[n++] = translated("device nGnRE page", kIpaDevice + 0x18, Access::kRead, t.device.value(), kIpaDevice, 3,
                        arch::kAttrDeviceNgnre, kOsh);
  out[n++] = translated("Normal NC page", kIpaNonCacheable, Access::kWrite, t.page_nc.value(), kIpaNonCacheable, 3,
                        arch::kAttrNormalNonCacheable, kOsh);
  // Holes, each at a known level.
  out[n++] = faulting("unmapped L3 entry", kIpaHoleL3, Access::kRead, arch::translation_fault_status(3));
  out[n++] = faulting("unmapped L2 entry", kIpaHoleL2 + 0x1000, Access::kRead, arch::translation_fault_status(2));
  out[n++] = faulting("unmapped L1 entry", kIpaHoleL1, Access::kWrite, arch::translation_fault_status(1));
  out[n++] = faulting("unmapped root entry", root_hole, Access::kRead, arch::translation_fault_status(g.start_level));
  return n;
}

// ---- The AT sequence -------------------------------------------------------

// Loads `s2` as the EL1&0 regime's stage 2 with stage 1 off, runs one AT
// per check, and puts back everything it changed.
//  - VTCR_EL2, VTTBR_EL2 and SCTLR_EL1.M = 0 first, with stage 2 still off,
//    then an ISB; then the VMID's TLB entries are dropped, because AT may
//    answer from the TLB (a previous user of the VMID, or reset state).
//  - HCR_EL2: lamina's idle value (E2H = TGE = 0) plus VM (stage 2 on) and
//    DC (stage 1 Normal WB, see the top of this file); ISB.
//  - Each AT is followed by an ISB before PAR_EL1 is read (arch::at_result).
//  - Restore: HCR_EL2 first (stage 2 off again), then the VMID is
//    invalidated while its VTTBR_EL2 is still loaded (the ATs may have
//    filled TLB entries for it, and TLBI acts on VTTBR_EL2's VMID), then the
//    other registers; ISB.
void translate_all(const mm::Stage2& s2, arch::VtcrEl2 vtcr, const Check* checks, size_t count,
                   arch::ParEl1* results) {
  const auto saved_hcr = arch::read<arch::HcrEl2>();
  const auto saved_vttbr = arch::read<arch::VttbrEl2>();
  const auto saved_vtcr = arch::read<arch::VtcrEl2>();
  const auto saved_sctlr = arch::read<arch::SctlrEl1>();
  const auto saved_par = arch::read<arch::ParEl1>();

  arch::write(vtcr);
  arch::write(s2.vttbr());
  arch::write(saved_sctlr.with(arch::SctlrEl1::m, false));
  arch::isb();
  arch::invalidate_vmid_all();
  arch::write(idle_hcr_el2().with(arch::HcrEl2::vm, true).with(arch::HcrEl2::dc, true));
  arch::isb();

  for (size_t i = 0; i < count; ++i) {
    if (checks[i].at_skipped != nullptr) continue;
    results[i] = checks[i].access == Access::kWrite ? arch::translate_s12e1w(checks[i].ipa)
                                                    : arch::translate_s12e1r(checks[i].ipa);
  }

  arch::write(saved_hcr);
  arch::isb();
  arch::invalidate_vmid_all();
  arch::write(saved_sctlr);
  arch::write(saved_vttbr);
  arch::write(saved_vtcr);
  arch::write(saved_par);
  arch::isb();
}

// ---- Verdicts ---------------------------------------------------------------

struct Tally {
  unsigned passed = 0;
  unsigned failed = 0;
  unsigned skipped_checks = 0;      // ATs not run here (QEMU quirk)
  unsigned skipped_geometries = 0;  // the CPU's PA size is too small
};

const char* access_name(Access a) { return a == Access::kWrite ? "write" : "read"; }

// "PA:0x... attr 0xff sh 0b11" or "translation fault, level 2 (stage 2)".
void describe_par(fmt::Buffer& out, arch::ParEl1 par) {
  if (!par.faulted()) {
    const arch::ParEl1Ok ok = arch::ParEl1Ok::from(par);
    fmt::format_to(out, "{} attr {:02x} sh {:02b}", PhysAddr(ok.page_pa()), ok.get(arch::ParEl1Ok::attr),
                   static_cast<uint64_t>(ok.get(arch::ParEl1Ok::sh)));
    return;
  }
  const arch::ParEl1Fault fault = arch::ParEl1Fault::from(par);
  char name[48];
  fmt::format_to(out, "{}{}{}", arch::fault_status_name(fault.get(arch::ParEl1Fault::fst), name, sizeof name),
                 fault.get(arch::ParEl1Fault::s) ? " (stage 2)" : " (stage 1)",
                 fault.get(arch::ParEl1Fault::ptw) ? " on a stage-1 table walk" : "");
}

void describe_expected(fmt::Buffer& out, const Check& c) {
  if (!c.fault) {
    fmt::format_to(out, "{} attr {:02x} sh {:02b}", PhysAddr(c.page_pa), c.attr, static_cast<uint64_t>(c.sh));
    return;
  }
  char name[48];
  fmt::format_to(out, "{} (stage 2)", arch::fault_status_name(c.fst, name, sizeof name));
}

// Whether what the MMU said (PAR_EL1) is what the check expects.
bool hardware_agrees(const Check& c, arch::ParEl1 par) {
  if (c.fault) {
    if (!par.faulted()) return false;
    const arch::ParEl1Fault f = arch::ParEl1Fault::from(par);
    return f.get(arch::ParEl1Fault::fst) == c.fst && f.get(arch::ParEl1Fault::s) && !f.get(arch::ParEl1Fault::ptw);
  }
  if (par.faulted()) return false;
  const arch::ParEl1Ok ok = arch::ParEl1Ok::from(par);
  return ok.page_pa() == c.page_pa && ok.get(arch::ParEl1Ok::attr) == c.attr && ok.get(arch::ParEl1Ok::sh) == c.sh;
}

// lamina's own walk must agree with the MMU: the same leaf, or none.
bool software_walk_agrees(mm::Stage2& s2, const Check& c, fmt::Buffer& why) {
  auto found = s2.lookup(IntermediatePhysAddr(c.ipa));
  const bool expect_leaf = !c.fault || c.leaf_level != 0;
  if (!expect_leaf) {
    if (!found.ok()) return true;
    fmt::format_to(why, "Stage2::lookup finds a level-{} leaf at {}", found.value().level,
                   found.value().leaf.output);
    return false;
  }
  if (!found.ok()) {
    fmt::format_to(why, "Stage2::lookup finds nothing ({})", mm::error_name(found.error()));
    return false;
  }
  if (found.value().level != c.leaf_level || found.value().leaf.output.value() != c.leaf_pa) {
    fmt::format_to(why, "Stage2::lookup finds a level-{} leaf at {}, expected level {} at {}", found.value().level,
                   found.value().leaf.output, c.leaf_level, PhysAddr(c.leaf_pa));
    return false;
  }
  // A check that expects a permission fault on a write: the leaf must say so.
  if (c.fault && c.access == Access::kWrite && found.value().leaf.attrs.write) {
    fmt::format_to(why, "Stage2::lookup finds a writable leaf");
    return false;
  }
  return true;
}

void judge(const char* geometry, mm::Stage2& s2, const Check& c, arch::ParEl1 par, Tally& tally) {
  const IntermediatePhysAddr ipa(c.ipa);
  if (c.at_skipped != nullptr) {
    char why_storage[160];
    fmt::Buffer why(why_storage, sizeof why_storage);
    if (!software_walk_agrees(s2, c, why)) {
      LOG_ERROR("stage2-at: {}: {}, {}: {} FAILED: {}", geometry, c.what, access_name(c.access), ipa, why.view());
      ++tally.failed;
      return;
    }
    LOG_INFO("stage2-at: {}: {}, {}: {}: AT skipped ({}); lamina's walk finds a level-{} read-only leaf", geometry,
             c.what, access_name(c.access), ipa, c.at_skipped, c.leaf_level);
    ++tally.skipped_checks;
    return;
  }
  char got_storage[128];
  fmt::Buffer got(got_storage, sizeof got_storage);
  describe_par(got, par);

  if (!hardware_agrees(c, par)) {
    char want_storage[128];
    fmt::Buffer want(want_storage, sizeof want_storage);
    describe_expected(want, c);
    LOG_ERROR("stage2-at: {}: {}, {}: {} -> {} FAILED: expected {} (PAR_EL1 {:016x})", geometry, c.what,
              access_name(c.access), ipa, got.view(), want.view(), par.raw());
    ++tally.failed;
    return;
  }
  char why_storage[160];
  fmt::Buffer why(why_storage, sizeof why_storage);
  if (!software_walk_agrees(s2, c, why)) {
    LOG_ERROR("stage2-at: {}: {}, {}: {} -> {} FAILED: {}", geometry, c.what, access_name(c.access), ipa, got.view(),
              why.view());
    ++tally.failed;
    return;
  }
  LOG_INFO("stage2-at: {}: {}, {}: {} -> {} ok", geometry, c.what, access_name(c.access), ipa, got.view());
  ++tally.passed;
}

// ---- One geometry -----------------------------------------------------------

struct Mapping {
  uint64_t ipa;
  PhysAddr pa;
  uint64_t size;
  mm::S2Attrs attrs;
};

void run_geometry(const char* name, unsigned ipa_bits, const Targets& t, const Platform& platform,
                  const CpuFeatures& f, Tally& tally) {
  if (f.pa_bits < ipa_bits) {
    LOG_INFO("stage2-at: {}: skipped: the CPU's PA size is {} bits, this geometry needs a {}-bit IPA space", name,
             f.pa_bits, ipa_bits);
    ++tally.skipped_geometries;
    return;
  }
  auto geometry = mm::stage2_geometry(ipa_bits);
  if (!geometry.ok()) {
    LOG_ERROR("stage2-at: {}: FAILED: no stage-2 geometry for a {}-bit IPA space", name, ipa_bits);
    ++tally.failed;
    return;
  }
  const mm::Stage2Geometry& g = geometry.value();
  auto vmid = g_vmids.alloc();
  if (!vmid.ok()) {
    LOG_ERROR("stage2-at: {}: FAILED: no VMID: {}", name, mm::error_name(vmid.error()));
    ++tally.failed;
    return;
  }
  const uint64_t free_before = frame_allocator().free_frames();

  mm::Stage2::Config config;
  config.geometry = g;
  config.codec = mm::S2CodecConfig{false, f.xnx};  // HCR_EL2.FWB stays 0 here: the non-FWB MemAttr encoding
  config.vmid = vmid.value();
  config.cnp = f.cnp;

  mm::Stage2 s2;
  bool ready = true;
  if (auto r = s2.init(config, table_memory()); !r.ok()) {
    LOG_ERROR("stage2-at: {}: FAILED: Stage2::init: {}", name, mm::error_name(r.error()));
    ++tally.failed;
    ready = false;
  }
  const mm::S2Attrs device{mm::S2MemKind::kDeviceNgnre, true, true, false, false, Shareability::kOuterShareable, 0};
  const mm::S2Attrs non_cacheable{mm::S2MemKind::kNormalNonCacheable, true, true, false, false,
                                  Shareability::kInnerShareable, 0};
  const Mapping mappings[] = {
      {kIpaPageRw, t.page_rw, kPage, normal_wb(true)},
      {kIpaPageRo, t.page_ro, kPage, normal_wb(false)},
      {kIpaDevice, t.device, kPage, device},
      {kIpaNonCacheable, t.page_nc, kPage, non_cacheable},
      {kIpaBlock2M, t.block_2m, k2M, normal_wb(true)},
      {kIpaBlock1G, t.block_1g, k1G, normal_wb(true)},
      {kIpaBlock1GTop, t.block_1g, k1G, normal_wb(true)},
  };
  for (const Mapping& m : mappings) {
    if (!ready) break;
    if (auto r = s2.map(IntermediatePhysAddr(m.ipa), m.pa, m.size, m.attrs); !r.ok()) {
      LOG_ERROR("stage2-at: {}: FAILED: Stage2::map({}, {}, {:x}): {}", name, IntermediatePhysAddr(m.ipa), m.pa,
                m.size, mm::error_name(r.error()));
      ++tally.failed;
      ready = false;
    }
  }

  if (ready) {
    LOG_INFO("stage2-at: {}: IPA {} bits, start level {}, {} root table(s), VMID {}, {} table pages", name, g.ipa_bits,
             g.start_level, g.concatenated_tables, config.vmid.value(), s2.table_pages());
    Check checks[kMaxChecks];
    arch::ParEl1 results[kMaxChecks];
    const size_t count = build_checks(g, t, platform, checks);
    translate_all(s2, vtcr_el2_value(g, f), checks, count, results);
    for (size_t i = 0; i < count; ++i) judge(name, s2, checks[i], results[i], tally);
  }

  s2.destroy();  // invalidates the VMID (again) and frees every table
  if (auto r = g_vmids.free(config.vmid); !r.ok()) {
    LOG_ERROR("stage2-at: {}: FAILED: freeing VMID {}: {}", name, config.vmid.value(), mm::error_name(r.error()));
    ++tally.failed;
  }
  const uint64_t free_after = frame_allocator().free_frames();
  if (free_after != free_before) {
    LOG_ERROR("stage2-at: {}: FAILED: Stage2::destroy left {} table frames allocated", name,
              free_before - free_after);
    ++tally.failed;
  } else if (ready) {
    LOG_INFO("stage2-at: {}: every table frame returned after destroy ok", name);
    ++tally.passed;
  }
}

Result<Targets, mm::Error> allocate_targets(const Platform& platform) {
  Targets t;
  mm::FrameAllocator& frames = frame_allocator();
  t.page_rw = TRY(frames.alloc(1, 1));
  t.page_ro = TRY(frames.alloc(1, 1));
  t.page_nc = TRY(frames.alloc(1, 1));
  t.block_2m = TRY(frames.alloc(k2M / kPage, k2M / kPage));
  t.block_1g = platform.memory[0].base.align_down(k1G);
  t.device = platform.uart.regs.base.align_down(kPage);
  return t;
}

void release_targets(const Targets& t) {
  mm::FrameAllocator& frames = frame_allocator();
  const bool ok = frames.free(t.page_rw, 1).ok() && frames.free(t.page_ro, 1).ok() &&
                  frames.free(t.page_nc, 1).ok() && frames.free(t.block_2m, k2M / kPage).ok();
  if (!ok) LOG_ERROR("stage2-at: FAILED: freeing the target frames");
}

}  // namespace

void run_stage2_at_check(const Platform& platform, const CpuFeatures& features) {
  LOG_INFO("stage2-at: checking stage-2 tables with AT S12E1R/W (PA size {} bits, VMID {} bits)", features.pa_bits,
           features.vmid_bits);
  if (auto r = g_vmids.init(features.vmid_bits); !r.ok()) {
    LOG_ERROR("stage2-at: FAILED: VMID width {} bits: {}", features.vmid_bits, mm::error_name(r.error()));
    return;
  }
  auto targets = allocate_targets(platform);
  if (!targets.ok()) {
    LOG_ERROR("stage2-at: FAILED: no frames for the mappings: {}", mm::error_name(targets.error()));
    return;
  }

  Tally tally;
  // 3 levels: a 40-bit IPA space starts at level 1 with 2 concatenated root
  // tables. 4 levels: the CPU's IPA size capped at 48 bits (44 on
  // Cortex-A57, 48 on -cpu max), which starts at level 0.
  run_geometry("3-level", 40, targets.value(), platform, features, tally);
  const unsigned four_level_bits = default_ipa_bits(features);
  run_geometry("4-level", four_level_bits < 44 ? 44 : four_level_bits, targets.value(), platform, features, tally);
  release_targets(targets.value());

  if (tally.failed != 0) {
    LOG_ERROR("stage2-at: FAILED: {} of {} checks failed", tally.failed, tally.failed + tally.passed);
  } else if (tally.passed == 0) {
    LOG_WARN("stage2-at: no geometry could be checked on this CPU");
  } else {
    LOG_INFO("stage2-at: {} checks passed, {} AT checks skipped, {} geometries skipped", tally.passed,
             tally.skipped_checks, tally.skipped_geometries);
  }
}

}  // namespace lamina::hyp
