#include "hyp/vgic/list_registers.hpp"

#include <algorithm>

namespace lamina::hyp::vgic {

namespace {

using arch::GichHcr;
using arch::GichLr;
using arch::GichLrHw;
using arch::IchHcrEl2;
using arch::IchLrEl2;
using arch::IchLrEl2Hw;
using arch::LrState;

// GICH_LRn.Priority holds the top five bits of the 8-bit priority.
constexpr unsigned kGichLrPriorityShift = 8 - kPriorityBits;

[[nodiscard]] constexpr LrState lr_state(VirqState s) {
  return static_cast<LrState>(static_cast<uint8_t>(s));
}
[[nodiscard]] constexpr VirqState virq_state(LrState s) {
  return static_cast<VirqState>(static_cast<uint8_t>(s));
}

}  // namespace

uint64_t encode_ich_lr(const Virq& v) {
  if (v.hw) {
    return IchLrEl2Hw::from_scratch()
        .with(IchLrEl2Hw::vintid, uint64_t{v.intid})
        .with(IchLrEl2Hw::pintid, uint64_t{v.pintid})
        .with(IchLrEl2Hw::priority, uint64_t{v.priority})
        .with(IchLrEl2Hw::group, v.group1)
        .with(IchLrEl2Hw::hw, true)
        .with(IchLrEl2Hw::state, lr_state(v.state))
        .raw();
  }
  return IchLrEl2::from_scratch()
      .with(IchLrEl2::vintid, uint64_t{v.intid})
      .with(IchLrEl2::eoi, v.eoi_maintenance)
      .with(IchLrEl2::priority, uint64_t{v.priority})
      .with(IchLrEl2::group, v.group1)
      .with(IchLrEl2::state, lr_state(v.state))
      .raw();
}

Virq decode_ich_lr(uint64_t lr) {
  const IchLrEl2 sw(lr);
  Virq v;
  v.intid = static_cast<uint32_t>(sw.get(IchLrEl2::vintid));
  v.priority = static_cast<uint8_t>(sw.get(IchLrEl2::priority));
  v.group1 = sw.get(IchLrEl2::group);
  v.state = virq_state(sw.get(IchLrEl2::state));
  v.hw = sw.get(IchLrEl2::hw);
  if (v.hw) v.pintid = static_cast<uint32_t>(IchLrEl2Hw(lr).get(IchLrEl2Hw::pintid));
  else v.eoi_maintenance = sw.get(IchLrEl2::eoi);
  return v;
}

uint32_t list_register_count(arch::IchVtrEl2 vtr) {
  return std::min<uint32_t>(static_cast<uint32_t>(vtr.get(arch::IchVtrEl2::listregs)) + 1, kMaxListRegisters);
}

IchHcrEl2 ich_hcr_for_entry(IchHcrEl2 base, const LoadResult& load) {
  return base.with(IchHcrEl2::uie, wants_underflow_interrupt(load))
      .with(IchHcrEl2::lrenpie, false)
      .with(IchHcrEl2::npie, false)
      .with(IchHcrEl2::vgrp0eie, false)
      .with(IchHcrEl2::vgrp0die, false)
      .with(IchHcrEl2::vgrp1eie, false)
      .with(IchHcrEl2::vgrp1die, false)
      .with(IchHcrEl2::eoicount, uint64_t{0});
}

uint32_t encode_gich_lr(const Virq& v) {
  const uint64_t priority = uint64_t{v.priority} >> kGichLrPriorityShift;
  if (v.hw) {
    return static_cast<uint32_t>(GichLrHw::from_scratch()
                                     .with(GichLrHw::virtualid, uint64_t{v.intid})
                                     .with(GichLrHw::physicalid, uint64_t{v.pintid})
                                     .with(GichLrHw::priority, priority)
                                     .with(GichLrHw::state, lr_state(v.state))
                                     .with(GichLrHw::grp1, v.group1)
                                     .with(GichLrHw::hw, true)
                                     .raw());
  }
  return static_cast<uint32_t>(GichLr::from_scratch()
                                   .with(GichLr::virtualid, uint64_t{v.intid})
                                   .with(GichLr::cpuid, uint64_t{v.source})
                                   .with(GichLr::eoi, v.eoi_maintenance)
                                   .with(GichLr::priority, priority)
                                   .with(GichLr::state, lr_state(v.state))
                                   .with(GichLr::grp1, v.group1)
                                   .raw());
}

Virq decode_gich_lr(uint32_t lr) {
  const GichLr sw(lr);
  Virq v;
  v.intid = static_cast<uint32_t>(sw.get(GichLr::virtualid));
  v.priority = static_cast<uint8_t>(sw.get(GichLr::priority) << kGichLrPriorityShift);
  v.group1 = sw.get(GichLr::grp1);
  v.state = virq_state(sw.get(GichLr::state));
  v.hw = sw.get(GichLr::hw);
  if (v.hw) {
    v.pintid = static_cast<uint32_t>(GichLrHw(lr).get(GichLrHw::physicalid));
  } else {
    v.source = static_cast<uint8_t>(sw.get(GichLr::cpuid));
    v.eoi_maintenance = sw.get(GichLr::eoi);
  }
  return v;
}

uint32_t list_register_count(arch::GichVtr vtr) {
  return std::min<uint32_t>(static_cast<uint32_t>(vtr.get(arch::GichVtr::listregs)) + 1, kMaxListRegisters);
}

GichHcr gich_hcr_for_entry(GichHcr base, const LoadResult& load) {
  return base.with(GichHcr::uie, wants_underflow_interrupt(load))
      .with(GichHcr::lrenpie, false)
      .with(GichHcr::npie, false)
      .with(GichHcr::vgrp0eie, false)
      .with(GichHcr::vgrp0die, false)
      .with(GichHcr::vgrp1eie, false)
      .with(GichHcr::vgrp1die, false)
      .with(GichHcr::eoicount, uint64_t{0});
}

}  // namespace lamina::hyp::vgic
