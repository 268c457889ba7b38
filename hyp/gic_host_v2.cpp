// The GICv2 backend of hyp/gic_host.hpp: the memory-mapped Distributor and
// CPU interface (IHI 0048B 4.3 "Distributor register descriptions", 4.4
// "CPU interface register descriptions").
//
// Security: QEMU virt without secure=on has a GIC without the Security
// Extensions; every interrupt is in Group 0 (GICD_IGROUPR resets to 0) and,
// with GICC_CTLR.FIQEn = 0, signalled as IRQ. A GIC with the Security
// Extensions below EL3 firmware (a Pi 4's GIC-400) is accessed Non-secure:
// the firmware put the interrupts in Group 1, GICD_IGROUPR is RAZ/WI to
// lamina, and bit 0 of GICD_CTLR/GICC_CTLR and bit 9 of GICC_CTLR are the
// Non-secure enable and EOImodeNS (see arch/regs/gicc.hpp). So lamina never
// writes GICD_IGROUPR and sets the same bits either way.
#include "arch/barrier.hpp"
#include "arch/mmio.hpp"
#include "arch/regs/gicc.hpp"
#include "arch/regs/gicd.hpp"
#include "arch/regs/id_regs.hpp"
#include "arch/sysreg.hpp"

#include "hyp/gic_host_backend.hpp"
#include "hyp/log.hpp"
#include "hyp/percpu.hpp"

namespace lamina::hyp::gic_v2 {

namespace {

namespace dist = arch::gic::dist;
namespace cpu = arch::gic::cpu;

// The priority lamina gives its own interrupts (above the open mask).
constexpr uint8_t kPriority = 0xa0;
constexpr uint32_t kPriorityWord = 0xa0a0a0a0;
constexpr uint32_t kBitsPerByte = 8;
// GICD_ITARGETSR0-7 (INTIDs 0-31) are banked and read-only: each byte reads
// as the accessing CPU's own interface bit (IHI 0048B 4.3.12 "Interrupt
// Processor Targets Registers"). With one CPU interface they are RAZ: then
// the interface is number 0.
constexpr uint32_t kPrivateTargetWords = arch::gic::kNumPrivate / 4;
constexpr uint8_t kUniprocessorMask = 1;

// Each online CPU's affinity (MPIDR Aff3..Aff0 only: callers pass raw
// MPIDR_EL1 values or PerCpu::mpidr) and CPU-interface bit (index: lamina's
// CPU number), for SGIs and SPI routing by MPIDR.
struct CpuInterface {
  uint64_t affinity = 0;
  uint8_t mask = 0;
};

uint64_t affinity_of(uint64_t mpidr) { return arch::MpidrEl1::from_raw(mpidr).affinity(); }
CpuInterface g_interfaces[kMaxCpus];
// Per CPU, the source interface of each SGI it acknowledged last: GICC_EOIR
// and GICC_DIR must name it (IHI 0048B 4.4.5 "End of Interrupt Register").
// lamina drops and deactivates an SGI before it acknowledges the next, so
// one source per SGI suffices.
uint8_t g_sgi_source[kMaxCpus][arch::gic::kNumSgis];

// kHwWatchMillis in counter ticks (CNTFRQ_EL0, read once at init).
uint64_t g_watch_ticks = 0;

uint64_t gicd() { return gic_host_desc().distributor.base.value(); }
uint64_t gicc() { return gic_host_desc().cpu_interface.base.value(); }

uint8_t mask_of(uint64_t mpidr) {
  const uint64_t affinity = affinity_of(mpidr);
  for (const CpuInterface& c : g_interfaces)
    if (c.mask != 0 && c.affinity == affinity) return c.mask;
  return 0;
}

// The 32-bit word and bit of INTID `intid` in a 1-bit-per-INTID array.
uint64_t bit_word(uint64_t array, uint32_t intid) { return gicd() + array + 4 * (intid / 32); }
uint32_t bit_of(uint32_t intid) { return 1u << (intid % 32); }

// Replaces byte `intid % 4` of the byte array at `array` (IPRIORITYR,
// ITARGETSR) with a 32-bit read-modify-write.
void write_byte_field(uint64_t array, uint32_t intid, uint8_t value) {
  const uint64_t word = gicd() + array + 4 * (intid / 4);
  const uint32_t shift = kBitsPerByte * (intid % 4);
  arch::mmio_write32(word, (arch::mmio_read32(word) & ~(0xffu << shift)) | (uint32_t{value} << shift));
}

// GICC_EOIR / GICC_DIR value for `intid`: SGIs carry their source.
uint32_t eoi_value(uint32_t intid) {
  auto v = arch::GiccIar::from_scratch().with(arch::GiccIar::interruptid, uint64_t{intid});
  if (intid < arch::gic::kNumSgis)
    v = v.with(arch::GiccIar::cpuid, uint64_t{g_sgi_source[this_cpu().index][intid]});
  return static_cast<uint32_t>(v.raw());
}

}  // namespace

bool init(const GicDesc& gic) {
  if (gic.cpu_interface.size < cpu::kFrameSize) {
    LOG_WARN("GIC: the GICv2 CPU interface frame is {:x} bytes, less than the {:x} GICC_DIR needs",
             gic.cpu_interface.size, cpu::kFrameSize);
    return false;
  }
  g_watch_ticks = arch::read<arch::CntfrqEl0>().value() * kHwWatchMillis / 1000;
  const uint64_t ctlr = gic.distributor.base.value() + dist::kCtlr;
  const auto v =
      arch::GicdCtlrV2::from_raw(arch::mmio_read32(ctlr)).with(arch::GicdCtlrV2::enable_grp0, true);
  arch::mmio_write32(ctlr, static_cast<uint32_t>(v.raw()));
  return true;
}

bool init_cpu(uint64_t mpidr) {
  uint8_t mask = 0;
  for (uint32_t i = 0; i < kPrivateTargetWords && mask == 0; ++i)
    mask = static_cast<uint8_t>(arch::mmio_read32(gicd() + dist::kItargetsr + 4 * i));
  if (mask == 0) mask = kUniprocessorMask;
  PerCpu& me = this_cpu();
  g_interfaces[me.index] = CpuInterface{affinity_of(mpidr), mask};

  for (uint32_t i = 0; i < kPrivateTargetWords; ++i)
    arch::mmio_write32(gicd() + dist::kIpriorityr + 4 * i, kPriorityWord);
  // CNTHP stays disabled until watch() arms it.
  arch::write(arch::CnthpCtlEl2::from_scratch());
  arch::mmio_write32(gicd() + dist::kIsenabler, (1u << kKickSgi) | (1u << gic_maintenance_intid()) |
                                                    (1u << kVtimerPpi) | (1u << kPtimerPpi) | (1u << kHypTimerPpi));

  arch::mmio_write32(gicc() + cpu::kPmr, cpu::kPmrAll);
  const auto ctlr = arch::GiccCtlr::from_raw(arch::mmio_read32(gicc() + cpu::kCtlr))
                        .with(arch::GiccCtlr::enable_grp0, true)
                        .with(arch::GiccCtlr::eoimode, true);
  arch::mmio_write32(gicc() + cpu::kCtlr, static_cast<uint32_t>(ctlr.raw()));
  arch::dsb_sy();
  LOG_DEBUG("GIC: CPU {} is GICv2 CPU interface mask {:x}", me.index, mask);
  return true;
}

uint32_t acknowledge() {
  const auto iar = arch::GiccIar::from_raw(arch::mmio_read32(gicc() + cpu::kIar));
  // The acknowledge must be complete before the interrupt's cause is read.
  arch::dsb_sy();
  const auto intid = static_cast<uint32_t>(iar.get(arch::GiccIar::interruptid));
  if (intid < arch::gic::kNumSgis)
    g_sgi_source[this_cpu().index][intid] = static_cast<uint8_t>(iar.get(arch::GiccIar::cpuid));
  return intid;
}

void priority_drop(uint32_t intid) { arch::mmio_write32(gicc() + cpu::kEoir, eoi_value(intid)); }

void deactivate(uint32_t intid) {
  // The priority drop (another register of the same frame) is ordered
  // before this by Device-nGnRE; the DSB makes the deactivation complete
  // before anything that relies on it (e.g. WFI for the next occurrence).
  arch::mmio_write32(gicc() + cpu::kDir, eoi_value(intid));
  arch::dsb_sy();
}

void send_sgi(uint64_t mpidr, uint32_t sgi) {
  const auto sgir = arch::GicdSgir::from_scratch()
                        .with(arch::GicdSgir::sgiintid, uint64_t{sgi})
                        .with(arch::GicdSgir::cputargetlist, uint64_t{mask_of(mpidr)})
                        .with(arch::GicdSgir::targetlistfilter, arch::SgirTargetFilter::kList);
  // The SGI must follow the stores that describe why it was sent.
  arch::dsb_ishst();
  arch::mmio_write32(gicd() + dist::kSgir, static_cast<uint32_t>(sgir.raw()));
}

void resample() { arch::mmio_write32(gicc() + cpu::kPmr, cpu::kPmrAll); }

void watch(bool hw_loaded) {
  if (hw_loaded) {
    // TVAL first: CVAL = CNTPCT + TVAL, then the timer is enabled.
    arch::write(arch::CnthpTvalEl2::from_raw(g_watch_ticks));
    arch::write(arch::CnthpCtlEl2::from_scratch().with(arch::CnthpCtlEl2::enable, true));
  } else {
    arch::write(arch::CnthpCtlEl2::from_scratch());
  }
  // The timer's interrupt line follows the new control before the GIC is
  // touched again (a disarmed timer must not be acknowledged once more).
  arch::isb();
}

void spi_disable(uint32_t intid) {
  arch::mmio_write32(bit_word(dist::kIcenabler, intid), bit_of(intid));
  arch::dsb_sy();
}

void spi_enable(uint32_t intid, uint64_t mpidr, bool edge) {
  spi_disable(intid);
  write_byte_field(dist::kIpriorityr, intid, kPriority);
  // GICD_ICFGR: bit 1 of each 2-bit field is edge (1) / level (0).
  const uint64_t cfg = gicd() + dist::kIcfgr + 4 * (intid / 16);
  const uint32_t edge_bit = 2u << (2 * (intid % 16));
  const uint32_t old_cfg = arch::mmio_read32(cfg);
  arch::mmio_write32(cfg, edge ? (old_cfg | edge_bit) : (old_cfg & ~edge_bit));
  uint8_t target = mask_of(mpidr);
  if (target == 0) {
    LOG_WARN("GIC: SPI {} routed to MPIDR {:x}, which has no GICv2 CPU interface yet: CPU 0's instead", intid,
             mpidr);
    target = g_interfaces[0].mask;
  }
  write_byte_field(dist::kItargetsr, intid, target);
  arch::mmio_write32(bit_word(dist::kIsenabler, intid), bit_of(intid));
  arch::dsb_sy();
}

}  // namespace lamina::hyp::gic_v2
