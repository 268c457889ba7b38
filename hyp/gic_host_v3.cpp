// The GICv3 backend of hyp/gic_host.hpp: the Distributor with affinity
// routing, each CPU's Redistributor, and the system-register CPU interface.
#include "hyp/gic_host_backend.hpp"

#include "arch/barrier.hpp"
#include "arch/mmio.hpp"
#include "arch/regs/gicd.hpp"
#include "arch/regs/gicr.hpp"
#include "arch/regs/icc.hpp"
#include "hyp/log.hpp"
#include "hyp/vgic/cpu_interface.hpp"

namespace lamina::hyp::gic_v3 {

namespace {

// ICC_SRE_EL2 (IHI 0069 "ICC_SRE_EL2"): SRE [0] (system-register interface
// at EL2), Enable [3] (EL1 may use ICC_SRE_EL1, so a guest can select its
// system-register interface).
constexpr uint64_t kIccSreEl2Sre = 1u << 0;
constexpr uint64_t kIccSreEl2Enable = 1u << 3;
// ICC_CTLR_EL1.EOImode [1] (IHI 0069 "ICC_CTLR_EL1").
constexpr uint64_t kIccCtlrEoiMode = 1u << 1;
// ICC_PMR_EL1: every priority passes the mask (IHI 0069 "ICC_PMR_EL1").
constexpr uint64_t kIccPmrAll = 0xff;
// The priority lamina gives its own SGIs/PPIs (any value above the mask).
constexpr uint32_t kPriorityWord = 0xa0a0a0a0;
constexpr uint32_t kAllGroup1 = 0xffff'ffff;
// A Redistributor with VLPIS has two more 64 KiB frames (VLPI_base and a
// reserved one: IHI 0069 "The GIC Redistributor register map").
constexpr uint64_t kStrideWithVlpis = 4 * arch::gic::redist::kFrameSize;
constexpr uint32_t kWakerPolls = 1'000'000;

uint64_t find_redistributor(uint64_t mpidr) {
  const GicDesc& gic = gic_host_desc();
  const uint64_t affinity = arch::gicr_affinity_value(arch::MpidrEl1::from_raw(mpidr));
  for (size_t r = 0; r < gic.redistributor_region_count; ++r) {
    const mm::PhysRange& region = gic.redistributors[r];
    for (uint64_t offset = 0; offset + arch::gic::redist::kStride <= region.size;) {
      const uint64_t base = region.base.value() + offset;
      const uint64_t lo = arch::mmio_read32(base + arch::gic::redist::kTyper);
      const uint64_t hi = arch::mmio_read32(base + arch::gic::redist::kTyper + 4);
      const auto typer = arch::GicrTyper::from_raw(lo | (hi << 32));
      if (typer.get(arch::GicrTyper::affinity_value) == affinity) return base;
      if (typer.get(arch::GicrTyper::last)) break;
      offset += typer.get(arch::GicrTyper::vlpis) ? kStrideWithVlpis : arch::gic::redist::kStride;
    }
  }
  return 0;
}

uint64_t gicd_base() { return gic_host_desc().distributor.base.value(); }

void wait_for_rwp() {
  while (arch::GicdCtlr::from_raw(arch::mmio_read32(gicd_base() + arch::gic::dist::kCtlr)).get(arch::GicdCtlr::rwp)) {
  }
}

// The 32-bit word and bit of INTID `intid` in a 1-bit-per-INTID array.
uint64_t bit_word(uint64_t array, uint32_t intid) { return gicd_base() + array + 4 * (intid / 32); }
uint32_t bit_of(uint32_t intid) { return 1u << (intid % 32); }

}  // namespace

bool init(const GicDesc& gic) {
  const uint64_t gicd = gic.distributor.base.value();
  // Affinity routing first, then the group enable (IHI 0069 "GICD_CTLR":
  // changing ARE with a group enabled is UNPREDICTABLE).
  auto ctlr = arch::GicdCtlr::from_raw(arch::mmio_read32(gicd + arch::gic::dist::kCtlr));
  ctlr = ctlr.with(arch::GicdCtlr::are, true);
  arch::mmio_write32(gicd + arch::gic::dist::kCtlr, static_cast<uint32_t>(ctlr.raw()));
  ctlr = ctlr.with(arch::GicdCtlr::enable_grp1, true);
  arch::mmio_write32(gicd + arch::gic::dist::kCtlr, static_cast<uint32_t>(ctlr.raw()));
  wait_for_rwp();
  return true;
}

bool init_cpu(uint64_t mpidr) {
  const uint64_t rd = find_redistributor(mpidr);
  if (rd == 0) {
    LOG_ERROR("GIC: no redistributor for MPIDR {:x}", mpidr);
    return false;
  }
  namespace r = arch::gic::redist;
  auto waker = arch::GicrWaker::from_raw(arch::mmio_read32(rd + r::kWaker));
  arch::mmio_write32(rd + r::kWaker, static_cast<uint32_t>(waker.with(arch::GicrWaker::processor_sleep, false).raw()));
  for (uint32_t i = 0; i < kWakerPolls; ++i)
    if (!arch::GicrWaker::from_raw(arch::mmio_read32(rd + r::kWaker)).get(arch::GicrWaker::children_asleep)) break;

  const uint64_t sgi = rd + r::kSgiBase;
  arch::mmio_write32(sgi + r::kIgroupr0, kAllGroup1);
  for (uint64_t i = 0; i < 8; ++i) arch::mmio_write32(sgi + r::kIpriorityr0 + 4 * i, kPriorityWord);
  arch::mmio_write32(sgi + r::kIsenabler0, (1u << kKickSgi) | (1u << gic_maintenance_intid()) | (1u << kVtimerPpi) |
                                                (1u << kPtimerPpi));

  asm volatile("msr icc_sre_el2, %0" ::"r"(kIccSreEl2Sre | kIccSreEl2Enable));
  arch::isb();
  asm volatile("msr icc_pmr_el1, %0" ::"r"(kIccPmrAll));
  uint64_t ctlr;
  asm volatile("mrs %0, icc_ctlr_el1" : "=r"(ctlr));
  asm volatile("msr icc_ctlr_el1, %0" ::"r"(ctlr | kIccCtlrEoiMode));
  asm volatile("msr icc_igrpen1_el1, %0" ::"r"(uint64_t{1}));
  arch::isb();
  return true;
}

uint32_t acknowledge() {
  uint64_t v;
  asm volatile("mrs %0, icc_iar1_el1" : "=r"(v)::"memory");
  // The acknowledge must be complete before the interrupt's cause is read.
  arch::dsb_sy();
  return static_cast<uint32_t>(v & 0xffffff);
}

void priority_drop(uint32_t intid) {
  asm volatile("msr icc_eoir1_el1, %0" ::"r"(uint64_t{intid}) : "memory");
  arch::isb();
}

void deactivate(uint32_t intid) {
  asm volatile("msr icc_dir_el1, %0" ::"r"(uint64_t{intid}) : "memory");
  arch::isb();
}

void spi_disable(uint32_t intid) {
  arch::mmio_write32(bit_word(arch::gic::dist::kIcenabler, intid), bit_of(intid));
  wait_for_rwp();
}

void spi_enable(uint32_t intid, uint64_t mpidr, bool edge) {
  namespace d = arch::gic::dist;
  spi_disable(intid);
  const uint64_t group = bit_word(d::kIgroupr, intid);
  arch::mmio_write32(group, arch::mmio_read32(group) | bit_of(intid));
  const uint64_t prio = gicd_base() + d::kIpriorityr + 4 * (intid / 4);
  const uint32_t prio_shift = 8 * (intid % 4);
  arch::mmio_write32(prio, (arch::mmio_read32(prio) & ~(0xffu << prio_shift)) | ((kPriorityWord & 0xffu) << prio_shift));
  // GICD_ICFGR: bit 1 of each 2-bit field is edge (1) / level (0).
  const uint64_t cfg = gicd_base() + d::kIcfgr + 4 * (intid / 16);
  const uint32_t edge_bit = 2u << (2 * (intid % 16));
  const uint32_t old_cfg = arch::mmio_read32(cfg);
  arch::mmio_write32(cfg, edge ? (old_cfg | edge_bit) : (old_cfg & ~edge_bit));
  // IROUTER (Interrupt_Routing_Mode 0: this PE), written as two 32-bit
  // halves (IHI 0069 "GIC memory-mapped register access": allowed).
  const auto target = arch::MpidrEl1::from_raw(mpidr);
  const uint64_t route = arch::GicdIrouter::from_scratch()
                             .with(arch::GicdIrouter::aff0, target.get(arch::MpidrEl1::aff0))
                             .with(arch::GicdIrouter::aff1, target.get(arch::MpidrEl1::aff1))
                             .with(arch::GicdIrouter::aff2, target.get(arch::MpidrEl1::aff2))
                             .with(arch::GicdIrouter::aff3, target.get(arch::MpidrEl1::aff3))
                             .raw();
  const uint64_t irouter = gicd_base() + d::kIrouter + 8ull * intid;
  arch::mmio_write32(irouter, static_cast<uint32_t>(route));
  arch::mmio_write32(irouter + 4, static_cast<uint32_t>(route >> 32));
  arch::mmio_write32(bit_word(d::kIsenabler, intid), bit_of(intid));
  wait_for_rwp();
}

void send_sgi(uint64_t mpidr, uint32_t sgi) {
  const arch::IccSgi1rEl1 v = vgic::sgi1r_to(arch::MpidrEl1::from_raw(mpidr), sgi);
  // The SGI must follow the stores that describe why it was sent.
  arch::dsb_ishst();
  asm volatile("msr icc_sgi1r_el1, %0" ::"r"(v.raw()) : "memory");
  arch::isb();
}

}  // namespace lamina::hyp::gic_v3
