#include "hyp/cpu/el2_config.hpp"

namespace lamina::hyp {

using namespace lamina::arch;

HcrEl2 idle_hcr_el2() { return HcrEl2::from_scratch().with(HcrEl2::rw, true); }

HcrEl2 guest_hcr_el2(bool fwb) {
  return HcrEl2::from_scratch()
      .with(HcrEl2::vm, true)
      .with(HcrEl2::swio, true)
      .with(HcrEl2::fmo, true)
      .with(HcrEl2::imo, true)
      .with(HcrEl2::amo, true)
      .with(HcrEl2::fb, true)
      .with(HcrEl2::bsu, BarrierShareability::kInnerShareable)
      .with(HcrEl2::twi, true)
      .with(HcrEl2::tid3, true)
      .with(HcrEl2::tsc, true)
      .with(HcrEl2::tidcp, true)
      .with(HcrEl2::rw, true)
      .with(HcrEl2::tlor, true)
      .with(HcrEl2::apk, true)
      .with(HcrEl2::api, true)
      .with(HcrEl2::fwb, fwb);
}

MdcrEl2 guest_mdcr_el2(uint64_t pmcr_n) {
  return MdcrEl2::from_scratch()
      .with(MdcrEl2::hpmn, pmcr_n & decltype(MdcrEl2::hpmn)::kMask)
      .with(MdcrEl2::tpm, true)
      .with(MdcrEl2::tpmcr, true)
      .with(MdcrEl2::tpms, true)
      .with(MdcrEl2::ttrf, true);
}

CptrEl2 cptr_el2_value() {
  return CptrEl2::from_scratch()
      .with(CptrEl2::tfp, false)
      .with(CptrEl2::tz, true)
      .with(CptrEl2::tsm, true)
      .with(CptrEl2::tta, true)
      .with(CptrEl2::tam, true)
      .with(CptrEl2::tcpac, false);
}

MdcrEl2 mdcr_el2_value(uint64_t pmcr_n) {
  return MdcrEl2::from_scratch()
      .with(MdcrEl2::hpmn, pmcr_n & decltype(MdcrEl2::hpmn)::kMask)
      .with(MdcrEl2::tpm, true)
      .with(MdcrEl2::tpmcr, true)
      .with(MdcrEl2::tda, true)
      .with(MdcrEl2::tdosa, true)
      .with(MdcrEl2::tdra, true);
}

CnthctlEl2 cnthctl_el2_value() {
  // The event stream (every 2^16 ticks: 1 ms at 62.5 MHz, 65 us at 1 GHz)
  // bounds every WFE wait, so timeouts in wait loops are honoured even when
  // no SEV comes.
  // EL1PCTEN/EL1PCEN (the HCR_EL2.E2H == 0 layout lamina runs with): the
  // guest reads the physical counter and owns the EL1 physical timer
  // (CNTP_CTL/CVAL/TVAL_EL0) without traps (DDI 0487 K.a D12.1.2 "Control
  // of the Generic Timer when EL2 is implemented", D23.8 "CNTHCTL_EL2").
  // vCPUs are pinned one per CPU and lamina itself uses no EL1 timer, so
  // the CPU's timer is the guest's; vCPU load/save switch its registers and
  // its PPI 30 is forwarded with the HW bit like the virtual timer's.
  return CnthctlEl2::from_scratch()
      .with(CnthctlEl2::el1pcten, true)
      .with(CnthctlEl2::el1pcen, true)
      .with(CnthctlEl2::evnten, true)
      .with(CnthctlEl2::evnti, uint64_t{15});
}

TcrEl2 tcr_el2_value(unsigned va_bits, PhysAddrSize ps) {
  return TcrEl2::from_scratch()
      .with(TcrEl2::t0sz, uint64_t{64} - va_bits)
      .with(TcrEl2::irgn0, WalkCacheability::kWriteBackReadWriteAllocate)
      .with(TcrEl2::orgn0, WalkCacheability::kWriteBackReadWriteAllocate)
      .with(TcrEl2::sh0, Shareability::kInnerShareable)
      .with(TcrEl2::tg0, Tg0::k4K)
      .with(TcrEl2::ps, ps);
}

SctlrEl2 sctlr_el2_mmu_on() {
  return SctlrEl2::from_scratch()
      .with(SctlrEl2::m, true)
      .with(SctlrEl2::c, true)
      .with(SctlrEl2::sa, true)
      .with(SctlrEl2::i, true)
      .with(SctlrEl2::wxn, true);
}

VtcrEl2 vtcr_el2_value(const mm::Stage2Geometry& g, const CpuFeatures& f) {
  return VtcrEl2::from_scratch()
      .with(VtcrEl2::t0sz, g.t0sz)
      .with(VtcrEl2::sl0, g.sl0)
      .with(VtcrEl2::irgn0, WalkCacheability::kWriteBackReadWriteAllocate)
      .with(VtcrEl2::orgn0, WalkCacheability::kWriteBackReadWriteAllocate)
      .with(VtcrEl2::sh0, Shareability::kInnerShareable)
      .with(VtcrEl2::tg0, Tg0::k4K)
      .with(VtcrEl2::ps, f.parange)
      .with(VtcrEl2::vs, f.vmid_bits == 16);
}

unsigned default_ipa_bits(const CpuFeatures& f) { return usable_address_bits(f.pa_bits); }

unsigned hyp_va_bits(const CpuFeatures& f) { return usable_address_bits(f.pa_bits); }

}  // namespace lamina::hyp
