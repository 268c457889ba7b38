#include "hyp/vgic/vgic_state.hpp"

#include <algorithm>
#include <bit>

#include "arch/regs/id_regs.hpp"

namespace lamina::hyp::vgic {

namespace {

using arch::GicdIrouter;
using arch::IccSgi1rEl1;
using arch::MpidrEl1;
using arch::SgirTargetFilter;

[[nodiscard]] constexpr uint32_t bit(uint32_t i) { return uint32_t{1} << i; }
[[nodiscard]] constexpr uint32_t spi_index(uint32_t intid) { return intid - kNumPrivate; }

// GICD_IROUTER keeps Aff3..Aff0 where MPIDR_EL1 has them; Interrupt_Routing_
// Mode is RAZ/WI here (GICD_TYPER.No1N = 1).
constexpr uint64_t kIrouterWritable = decltype(GicdIrouter::aff0)::kMask |
                                      decltype(GicdIrouter::aff1)::kMask |
                                      decltype(GicdIrouter::aff2)::kMask | decltype(GicdIrouter::aff3)::kMask;
static_assert(kIrouterWritable == MpidrEl1::kAffinityMask,
              "GICD_IROUTER and MPIDR_EL1 place Aff3..Aff0 alike");

// An SGI names the targets' Aff0 as RS * 16 + TargetList bit (IHI 0069
// "ICC_SGI1R_EL1"): without GICD_TYPER.RSS only RS = 0, Aff0 0-15.
constexpr uint64_t kSgiTargetsPerRange = 16;

}  // namespace

Status<Error> VgicState::init(const VgicConfig& config) {
  if (config.vcpu_count == 0) return Err{Error::kNoVcpus};
  if (config.vcpu_count > kMaxVcpus) return Err{Error::kTooManyVcpus};
  if (config.spi_count > kMaxSpis) return Err{Error::kTooManySpis};
  if (config.model == GicModel::kV3) {
    for (uint32_t i = 0; i < config.vcpu_count; ++i) {
      const uint64_t m = config.mpidr[i];
      if ((m & ~MpidrEl1::kAffinityMask) != 0) return Err{Error::kBadMpidr};
      if (MpidrEl1(m).get(MpidrEl1::aff0) >= kSgiTargetsPerRange) return Err{Error::kBadMpidr};
      for (uint32_t j = 0; j < i; ++j)
        if (config.mpidr[j] == m) return Err{Error::kDuplicateMpidr};
    }
  }
  model_ = config.model;
  vcpu_count_ = config.vcpu_count;
  vcpu_mask_ = (uint32_t{1} << config.vcpu_count) - 1;
  mpidr_ = {};
  if (model_ == GicModel::kV3)
    for (uint32_t i = 0; i < vcpu_count_; ++i) mpidr_[i] = config.mpidr[i];
  // Whole ITLinesNumber blocks of 32 INTIDs, up to INTID 1019.
  const uint32_t rounded = (kNumPrivate + config.spi_count + 31) / 32 * 32;
  intid_limit_ = std::min(rounded, arch::gic::kFirstSpecialIntid);
  // Nothing is mapped yet: reset() must not see stale HW mappings.
  for (auto& bank : private_)
    for (Irq& q : bank) q = Irq{};
  for (Irq& q : spis_) q = Irq{};
  hw_deactivations_ = 0;
  reset();
  return Ok{};
}

void VgicState::reset_irq(Irq& q, uint32_t intid) {
  if (q.hw && (pending_here(q) || q.active || q.owner != kNoVcpu)) hw_went_idle(q);
  q.priority = 0;
  // GICv2 SGIs: permanently enabled, which IHI 0048B "Interrupt Set-Enable
  // Registers" leaves IMPLEMENTATION DEFINED (QEMU and KVM do the same).
  q.enabled = is_v2_sgi(intid);
  // IHI 0048B: GICD_IGROUPR resets to 0. IHI 0069 leaves the reset group
  // IMPLEMENTATION DEFINED; Group 1, as KVM has it, is what a guest that
  // never programs groups expects to receive as IRQs.
  q.group1 = model_ == GicModel::kV3;
  // SGIs are always edge-triggered; PPIs and SPIs reset level-sensitive.
  q.edge = is_sgi(intid);
  q.latch = false;
  q.active = false;
  q.sources = 0;
  q.active_source = 0;
  q.active_vcpu = kNoVcpu;
  q.owner = kNoVcpu;
  q.lr_state = VirqState::kInvalid;
  q.lr_source = 0;
  q.lr_latch = false;
  q.overrides = 0;
  // Kept: hw, pintid (configuration) and line (the device's output).
}

void VgicState::reset() {
  for (uint32_t v = 0; v < kMaxVcpus; ++v)
    for (uint32_t i = 0; i < kNumPrivate; ++i) reset_irq(private_[v][i], i);
  for (uint32_t s = 0; s < kMaxSpis; ++s) reset_irq(spis_[s], kNumPrivate + s);
  targets_ = {};
  irouter_ = {};
  enable_grp0_ = false;
  enable_grp1_ = false;
  loaded_count_ = {};
  live_private_ = {};
  live_spis_ = {};
  for (uint32_t intid = kNumPrivate; intid < kNumPrivate + kMaxSpis; ++intid) recompute_route(intid);
  // Level-sensitive lines that are still high make their interrupts pending.
  for (uint32_t v = 0; v < vcpu_count_; ++v)
    for (uint32_t i = 0; i < kNumPrivate; ++i) changed(private_[v][i], v, i);
  for (uint32_t intid = kNumPrivate; intid < intid_limit_; ++intid)
    changed(spis_[spi_index(intid)], 0, intid);
  kicks_ = vcpu_mask_;
}

bool VgicState::exists(uint32_t vcpu, uint32_t intid) const {
  return is_private(intid) ? vcpu < vcpu_count_ : intid < intid_limit_;
}

VgicState::Irq* VgicState::find(uint32_t vcpu, uint32_t intid) {
  if (!exists(vcpu, intid)) return nullptr;
  return is_private(intid) ? &private_[vcpu][intid] : &spis_[spi_index(intid)];
}

const VgicState::Irq* VgicState::find(uint32_t vcpu, uint32_t intid) const {
  if (!exists(vcpu, intid)) return nullptr;
  return is_private(intid) ? &private_[vcpu][intid] : &spis_[spi_index(intid)];
}

bool VgicState::reads_pending(const Irq& q) const {
  if (pending_here(q)) return true;
  return q.owner != kNoVcpu && is_pending(q.lr_state) && (q.overrides & kOverrideClearPending) == 0;
}

bool VgicState::reads_active(const Irq& q) const {
  if (q.active) return true;
  if (q.owner == kNoVcpu) return false;
  if ((q.overrides & kOverrideSetActive) != 0) return true;
  return is_active(q.lr_state) && (q.overrides & kOverrideClearActive) == 0;
}

uint32_t VgicState::target_of(const Irq& q, uint32_t bank, uint32_t intid) const {
  if (is_private(intid)) return bank;
  // An active SPI stays with the vCPU it is active on: its deactivation
  // must reach that vCPU's list registers, and one interrupt sits in one
  // list register at a time (KVM keeps it on that vCPU's list likewise).
  if (q.active && q.active_vcpu != kNoVcpu) return q.active_vcpu;
  return route_[spi_index(intid)];
}

VirqState VgicState::presentable(const Irq& q, uint32_t bank, uint32_t intid, uint32_t vcpu) const {
  if (q.owner != kNoVcpu) return VirqState::kInvalid;
  if (target_of(q, bank, intid) != vcpu) return VirqState::kInvalid;
  bool pending = pending_here(q) && q.enabled && group_enabled(q.group1);
  if (q.active) {
    // Pending and active at once only for edge-triggered software
    // interrupts. HW: the physical interrupt is active until the guest's
    // deactivation, so it cannot be pending again yet. Level: the line is
    // looked at again after the deactivation (EOI maintenance). GICv2 SGIs:
    // one source in flight; the next after the deactivation.
    if (q.hw || !q.edge || is_v2_sgi(intid)) pending = false;
    return make_state(pending, true);
  }
  return make_state(pending, false);
}

void VgicState::changed(Irq& q, uint32_t bank, uint32_t intid) {
  const bool live = pending_here(q) || q.active || q.owner != kNoVcpu;
  if (is_private(intid)) {
    live_private_[bank] = live ? (live_private_[bank] | bit(intid)) : (live_private_[bank] & ~bit(intid));
  } else {
    const uint64_t m = uint64_t{1} << (intid % 64);
    live_spis_[intid / 64] = live ? (live_spis_[intid / 64] | m) : (live_spis_[intid / 64] & ~m);
  }
  if (q.owner != kNoVcpu) {
    kicks_ |= bit(q.owner);
    return;
  }
  const uint32_t t = target_of(q, bank, intid);
  if (t != kNoVcpu && is_pending(presentable(q, bank, intid, t))) kicks_ |= bit(t);
}

void VgicState::hw_went_idle(Irq& q) {
  if (q.hw_deactivate) return;
  q.hw_deactivate = true;
  ++hw_deactivations_;
}

void VgicState::recompute_route(uint32_t intid) {
  const uint32_t s = spi_index(intid);
  uint8_t route = kNoVcpu;
  if (model_ == GicModel::kV2) {
    if (vcpu_count_ == 1) {
      route = 0;
    } else if (targets_[s] != 0) {
      // Several targets: GICv2 signals all of them and the first to
      // acknowledge wins; one list register can hold it, so the lowest
      // numbered target gets it (as KVM does).
      route = static_cast<uint8_t>(std::countr_zero(static_cast<uint32_t>(targets_[s])));
    }
  } else {
    for (uint32_t v = 0; v < vcpu_count_; ++v)
      if (mpidr_[v] == (irouter_[s] & kIrouterWritable)) route = static_cast<uint8_t>(v);
  }
  route_[s] = route;
}

// ---- Inputs ---------------------------------------------------------------

bool VgicState::set_line(uint32_t vcpu, uint32_t intid, bool level) {
  if (is_sgi(intid)) return false;
  Irq* q = find(vcpu, intid);
  if (q == nullptr) return false;
  const bool rising = level && !q->line;
  q->line = level;
  if (q->hw) {
    if (level) q->latch = true;  // one physical occurrence
  } else if (q->edge) {
    if (rising) q->latch = true;
  }
  changed(*q, vcpu, intid);
  return true;
}

bool VgicState::pulse(uint32_t vcpu, uint32_t intid) {
  if (is_sgi(intid)) return false;
  Irq* q = find(vcpu, intid);
  if (q == nullptr) return false;
  q->latch = true;
  changed(*q, vcpu, intid);
  return true;
}

bool VgicState::map_hw(uint32_t vcpu, uint32_t intid, uint32_t pintid) {
  if (is_sgi(intid) || pintid >= arch::gic::kFirstSpecialIntid) return false;
  Irq* q = find(vcpu, intid);
  if (q == nullptr) return false;
  q->hw = true;
  q->pintid = static_cast<uint16_t>(pintid);
  changed(*q, vcpu, intid);
  return true;
}

bool VgicState::unmap_hw(uint32_t vcpu, uint32_t intid) {
  if (is_sgi(intid)) return false;
  Irq* q = find(vcpu, intid);
  if (q == nullptr) return false;
  q->hw = false;
  changed(*q, vcpu, intid);
  return true;
}

bool VgicState::hw_owed(uint32_t vcpu, uint32_t intid) const {
  const Irq* q = find(vcpu, intid);
  return q != nullptr && q->hw && (reads_pending(*q) || reads_active(*q));
}

// ---- SGIs -----------------------------------------------------------------

void VgicState::send_sgi_v2(uint32_t sender, arch::GicdSgir sgir) {
  if (model_ != GicModel::kV2 || sender >= vcpu_count_) return;
  uint32_t targets = 0;
  switch (sgir.get(arch::GicdSgir::targetlistfilter)) {
    case SgirTargetFilter::kList:
      targets = static_cast<uint32_t>(sgir.get(arch::GicdSgir::cputargetlist)) & vcpu_mask_;
      break;
    case SgirTargetFilter::kAllButSelf: targets = vcpu_mask_ & ~bit(sender); break;
    case SgirTargetFilter::kSelf: targets = bit(sender); break;
    case SgirTargetFilter::kReserved: return;  // IHI 0048B: reserved, no SGI
  }
  const auto sgi = static_cast<uint32_t>(sgir.get(arch::GicdSgir::sgiintid));
  for (uint32_t t = 0; t < vcpu_count_; ++t) {
    if ((targets & bit(t)) == 0) continue;
    Irq& q = private_[t][sgi];
    q.sources = static_cast<uint8_t>(q.sources | bit(sender));
    changed(q, t, sgi);
  }
}

void VgicState::send_sgi_v3(uint32_t sender, IccSgi1rEl1 value, SgiRegister reg) {
  if (model_ != GicModel::kV3 || sender >= vcpu_count_) return;
  const auto sgi = static_cast<uint32_t>(value.get(IccSgi1rEl1::intid));
  const bool broadcast = value.get(IccSgi1rEl1::irm);
  const uint64_t range_base = value.get(IccSgi1rEl1::rs) * kSgiTargetsPerRange;
  const uint64_t target_list = value.get(IccSgi1rEl1::targetlist);
  for (uint32_t t = 0; t < vcpu_count_; ++t) {
    if (broadcast) {
      if (t == sender) continue;
    } else {
      const MpidrEl1 m(mpidr_[t]);
      if (m.get(MpidrEl1::aff3) != value.get(IccSgi1rEl1::aff3) ||
          m.get(MpidrEl1::aff2) != value.get(IccSgi1rEl1::aff2) ||
          m.get(MpidrEl1::aff1) != value.get(IccSgi1rEl1::aff1))
        continue;
      const uint64_t aff0 = m.get(MpidrEl1::aff0);
      if (aff0 < range_base || aff0 >= range_base + kSgiTargetsPerRange) continue;
      if (((target_list >> (aff0 - range_base)) & 1) == 0) continue;
    }
    Irq& q = private_[t][sgi];
    if (reg != SgiRegister::kSgi1r && q.group1) continue;  // Group 0 SGIs only
    q.latch = true;
    changed(q, t, sgi);
  }
}

// ---- Register-level access ------------------------------------------------

uint32_t VgicState::read_bits(BitArray array, uint32_t vcpu, uint32_t first_intid) const {
  uint32_t bits = 0;
  for (uint32_t i = 0; i < 32; ++i) {
    const Irq* q = find(vcpu, first_intid + i);
    if (q == nullptr) continue;
    bool b = false;
    switch (array) {
      case BitArray::kGroup: b = q->group1; break;
      case BitArray::kEnable: b = q->enabled; break;
      case BitArray::kPending: b = reads_pending(*q); break;
      case BitArray::kActive: b = reads_active(*q); break;
    }
    if (b) bits |= bit(i);
  }
  return bits;
}

void VgicState::set_bits(BitArray array, uint32_t vcpu, uint32_t first_intid, uint32_t bits) {
  for (; bits != 0; bits &= bits - 1) {
    const uint32_t intid = first_intid + static_cast<uint32_t>(std::countr_zero(bits));
    Irq* q = find(vcpu, intid);
    if (q == nullptr) continue;
    switch (array) {
      case BitArray::kGroup:
        q->group1 = true;
        changed(*q, vcpu, intid);
        break;
      case BitArray::kEnable: set_enabled(vcpu, intid, true); break;
      case BitArray::kPending: set_pending(vcpu, intid); break;
      case BitArray::kActive: set_active(vcpu, intid); break;
    }
  }
}

void VgicState::clear_bits(BitArray array, uint32_t vcpu, uint32_t first_intid, uint32_t bits) {
  for (; bits != 0; bits &= bits - 1) {
    const uint32_t intid = first_intid + static_cast<uint32_t>(std::countr_zero(bits));
    Irq* q = find(vcpu, intid);
    if (q == nullptr) continue;
    switch (array) {
      case BitArray::kGroup:
        q->group1 = false;
        changed(*q, vcpu, intid);
        break;
      case BitArray::kEnable: set_enabled(vcpu, intid, false); break;
      case BitArray::kPending: clear_pending(vcpu, intid); break;
      case BitArray::kActive: clear_active(vcpu, intid); break;
    }
  }
}

void VgicState::write_groups(uint32_t vcpu, uint32_t first_intid, uint32_t groups) {
  for (uint32_t i = 0; i < 32; ++i) {
    Irq* q = find(vcpu, first_intid + i);
    if (q == nullptr) continue;
    const bool g = (groups & bit(i)) != 0;
    if (q->group1 == g) continue;
    q->group1 = g;
    changed(*q, vcpu, first_intid + i);
  }
}

void VgicState::set_enabled(uint32_t vcpu, uint32_t intid, bool enabled) {
  if (is_v2_sgi(intid)) return;  // RAO/WI
  Irq& q = *find(vcpu, intid);
  q.enabled = enabled;
  changed(q, vcpu, intid);
}

void VgicState::set_pending(uint32_t vcpu, uint32_t intid) {
  // IHI 0048B "Interrupt Set-Pending Registers": GICv2 SGI bits are
  // read-only here; GICD_SPENDSGIR sets them, per source.
  if (is_v2_sgi(intid)) return;
  Irq& q = *find(vcpu, intid);
  q.latch = true;
  changed(q, vcpu, intid);
}

void VgicState::clear_pending(uint32_t vcpu, uint32_t intid) {
  if (is_v2_sgi(intid)) return;  // as set_pending: GICD_CPENDSGIR does it
  Irq& q = *find(vcpu, intid);
  const bool was_pending = pending_here(q);
  // Clears the latch only: a level-sensitive interrupt whose line is still
  // asserted stays pending (IHI 0069 "GICD_ICPENDR<n>").
  q.latch = false;
  if (q.owner != kNoVcpu) {
    if (is_pending(q.lr_state)) q.overrides |= kOverrideClearPending;
    q.lr_latch = false;
  } else if (q.hw && was_pending && !pending_here(q) && !q.active) {
    hw_went_idle(q);
  }
  changed(q, vcpu, intid);
}

void VgicState::set_active(uint32_t vcpu, uint32_t intid) {
  Irq& q = *find(vcpu, intid);
  if (q.owner != kNoVcpu) {
    q.overrides = static_cast<uint8_t>((q.overrides | kOverrideSetActive) & ~kOverrideClearActive);
  } else if (!q.active) {
    q.active = true;
    if (!is_private(intid)) q.active_vcpu = route_[spi_index(intid)];
    if (is_v2_sgi(intid)) q.active_source = static_cast<uint8_t>(vcpu);  // the requester, as KVM
  }
  changed(q, vcpu, intid);
}

void VgicState::clear_active(uint32_t vcpu, uint32_t intid) {
  Irq& q = *find(vcpu, intid);
  if (q.owner != kNoVcpu) {
    q.overrides = static_cast<uint8_t>((q.overrides | kOverrideClearActive) & ~kOverrideSetActive);
  } else if (q.active) {
    q.active = false;
    q.active_vcpu = kNoVcpu;
    if (q.hw && !pending_here(q)) hw_went_idle(q);
  }
  changed(q, vcpu, intid);
}

uint8_t VgicState::priority(uint32_t vcpu, uint32_t intid) const {
  const Irq* q = find(vcpu, intid);
  return q == nullptr ? 0 : q->priority;
}

void VgicState::set_priority(uint32_t vcpu, uint32_t intid, uint8_t priority) {
  Irq* q = find(vcpu, intid);
  if (q == nullptr) return;
  q->priority = static_cast<uint8_t>(priority & kPriorityMask);
  changed(*q, vcpu, intid);
}

bool VgicState::is_edge(uint32_t vcpu, uint32_t intid) const {
  const Irq* q = find(vcpu, intid);
  return q != nullptr && q->edge;
}

void VgicState::set_edge(uint32_t vcpu, uint32_t intid, bool edge) {
  if (is_sgi(intid)) return;  // SGIs are edge-triggered, read-only
  Irq* q = find(vcpu, intid);
  if (q == nullptr) return;
  q->edge = edge;
  changed(*q, vcpu, intid);
}

uint8_t VgicState::targets(uint32_t intid) const {
  if (is_private(intid) || intid >= intid_limit_ || vcpu_count_ == 1) return 0;
  return targets_[spi_index(intid)];
}

void VgicState::set_targets(uint32_t intid, uint8_t targets) {
  if (is_private(intid) || intid >= intid_limit_ || vcpu_count_ == 1) return;
  targets_[spi_index(intid)] = static_cast<uint8_t>(targets & vcpu_mask_);
  recompute_route(intid);
  changed(spis_[spi_index(intid)], 0, intid);
}

uint64_t VgicState::irouter(uint32_t intid) const {
  if (is_private(intid) || intid >= intid_limit_) return 0;
  return irouter_[spi_index(intid)];
}

void VgicState::set_irouter(uint32_t intid, uint64_t value) {
  if (is_private(intid) || intid >= intid_limit_) return;
  irouter_[spi_index(intid)] = value & kIrouterWritable;
  recompute_route(intid);
  changed(spis_[spi_index(intid)], 0, intid);
}

uint8_t VgicState::sgi_sources(uint32_t vcpu, uint32_t sgi) const {
  if (!is_sgi(sgi) || vcpu >= vcpu_count_) return 0;
  const Irq& q = private_[vcpu][sgi];
  uint32_t s = q.sources;
  if (q.owner != kNoVcpu && is_pending(q.lr_state) && (q.overrides & kOverrideClearPending) == 0)
    s |= bit(q.lr_source);
  return static_cast<uint8_t>(s);
}

void VgicState::set_sgi_sources(uint32_t vcpu, uint32_t sgi, uint8_t sources) {
  if (model_ != GicModel::kV2 || !is_sgi(sgi) || vcpu >= vcpu_count_) return;
  Irq& q = private_[vcpu][sgi];
  q.sources = static_cast<uint8_t>(q.sources | (sources & vcpu_mask_));
  changed(q, vcpu, sgi);
}

void VgicState::clear_sgi_sources(uint32_t vcpu, uint32_t sgi, uint8_t sources) {
  if (model_ != GicModel::kV2 || !is_sgi(sgi) || vcpu >= vcpu_count_) return;
  Irq& q = private_[vcpu][sgi];
  q.sources = static_cast<uint8_t>(q.sources & ~sources);
  if (q.owner != kNoVcpu && is_pending(q.lr_state) && (sources & bit(q.lr_source)) != 0)
    q.overrides |= kOverrideClearPending;
  changed(q, vcpu, sgi);
}

void VgicState::set_group_enables(bool grp0, bool grp1) {
  if (grp0 == enable_grp0_ && grp1 == enable_grp1_) return;
  enable_grp0_ = grp0;
  enable_grp1_ = grp1;
  kicks_ |= vcpu_mask_;
}

// ---- The vCPU side --------------------------------------------------------

LoadResult VgicState::load_list_registers(uint32_t vcpu, std::span<Virq> out) {
  if (vcpu >= vcpu_count_) return {};
  if (loaded_count_[vcpu] != 0) fold_list_registers(vcpu, {});

  // The best `cap` candidates by key, kept sorted: active ones first, then
  // by priority, then by INTID.
  const size_t cap = std::min<size_t>(out.size(), kMaxListRegisters);
  struct Candidate {
    uint32_t key;
    uint32_t intid;
  };
  std::array<Candidate, kMaxListRegisters> best{};
  size_t n = 0;
  uint32_t total = 0;
  const auto consider = [&](const Irq& q, uint32_t bank, uint32_t intid) {
    const VirqState s = presentable(q, bank, intid, vcpu);
    if (s == VirqState::kInvalid) return;
    ++total;
    if (cap == 0) return;
    const uint32_t key = ((is_active(s) ? 0u : 1u) << 24) | (uint32_t{q.priority} << 12) | intid;
    if (n == cap && key >= best[n - 1].key) return;
    size_t pos = n == cap ? n - 1 : n++;
    while (pos > 0 && best[pos - 1].key > key) {
      best[pos] = best[pos - 1];
      --pos;
    }
    best[pos] = {key, intid};
  };
  for (uint32_t bits = live_private_[vcpu]; bits != 0; bits &= bits - 1) {
    const auto intid = static_cast<uint32_t>(std::countr_zero(bits));
    consider(private_[vcpu][intid], vcpu, intid);
  }
  for (uint32_t w = 0; w < live_spis_.size(); ++w) {
    for (uint64_t bits = live_spis_[w]; bits != 0; bits &= bits - 1) {
      const uint32_t intid = w * 64 + static_cast<uint32_t>(std::countr_zero(bits));
      consider(spis_[spi_index(intid)], vcpu, intid);
    }
  }

  for (size_t i = 0; i < n; ++i) {
    const uint32_t intid = best[i].intid;
    Irq& q = is_private(intid) ? private_[vcpu][intid] : spis_[spi_index(intid)];
    const VirqState s = presentable(q, vcpu, intid, vcpu);
    Virq v;
    v.intid = intid;
    v.pintid = q.hw ? q.pintid : 0;
    v.priority = q.priority;
    v.group1 = q.group1;
    v.hw = q.hw;
    v.state = s;
    q.lr_latch = false;
    if (is_pending(s)) {
      if (is_v2_sgi(intid)) {
        // One source per list register, the lowest first (GICH_LRn.CPUID).
        v.source = static_cast<uint8_t>(std::countr_zero(static_cast<uint32_t>(q.sources)));
        q.sources = static_cast<uint8_t>(q.sources & ~bit(v.source));
      } else {
        q.lr_latch = q.latch;
        q.latch = false;
      }
    }
    if (is_active(s)) {
      q.active = false;
      if (is_v2_sgi(intid)) v.source = q.active_source;
    }
    v.eoi_maintenance = !q.hw && (!q.edge || (is_v2_sgi(intid) && q.sources != 0));
    q.owner = static_cast<uint8_t>(vcpu);
    q.lr_state = s;
    q.lr_source = v.source;
    q.overrides = 0;
    out[i] = v;
    loaded_[vcpu][i] = static_cast<uint16_t>(intid);
  }
  loaded_count_[vcpu] = static_cast<uint32_t>(n);
  return {static_cast<uint32_t>(n), total - static_cast<uint32_t>(n)};
}

void VgicState::fold_list_registers(uint32_t vcpu, std::span<const VirqState> states) {
  if (vcpu >= vcpu_count_) return;
  const uint32_t n = loaded_count_[vcpu];
  loaded_count_[vcpu] = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t intid = loaded_[vcpu][i];
    Irq& q = is_private(intid) ? private_[vcpu][intid] : spis_[spi_index(intid)];
    if (q.owner != vcpu) continue;
    const VirqState back = i < states.size() ? states[i] : q.lr_state;
    bool pending = is_pending(back);
    bool active = is_active(back);
    // What happened to it elsewhere while it was in the list register wins
    // over what the list register says.
    if ((q.overrides & kOverrideClearPending) != 0) pending = false;
    if ((q.overrides & kOverrideSetActive) != 0) active = true;
    if ((q.overrides & kOverrideClearActive) != 0) active = false;
    // Still pending: the guest did not take it; what the load consumed is
    // put back. (A list register only goes pending -> active -> invalid, so
    // pending now means pending at the load.)
    if (pending) {
      if (is_v2_sgi(intid)) q.sources = static_cast<uint8_t>(q.sources | bit(q.lr_source));
      else q.latch = q.latch || q.lr_latch;
    }
    q.active = active;
    if (!is_private(intid)) q.active_vcpu = active ? static_cast<uint8_t>(vcpu) : kNoVcpu;
    if (active && is_v2_sgi(intid)) q.active_source = q.lr_source;
    // A HW interrupt the guest neither took nor deactivated (an override
    // removed it): its physical interrupt is still active.
    if (q.hw && (is_pending(back) || is_active(back)) && !pending && !active) hw_went_idle(q);
    q.owner = kNoVcpu;
    q.lr_state = VirqState::kInvalid;
    q.lr_latch = false;
    q.overrides = 0;
    changed(q, vcpu, intid);
  }
}

std::optional<uint8_t> VgicState::highest_pending_priority(uint32_t vcpu) const {
  if (vcpu >= vcpu_count_) return std::nullopt;
  std::optional<uint8_t> best;
  const auto consider = [&](const Irq& q, uint32_t bank, uint32_t intid) {
    bool pending = false;
    if (q.owner == vcpu) {
      pending = is_pending(q.lr_state) && (q.overrides & kOverrideClearPending) == 0;
    } else {
      pending = is_pending(presentable(q, bank, intid, vcpu));
    }
    if (pending && (!best || q.priority < *best)) best = q.priority;
  };
  for (uint32_t bits = live_private_[vcpu]; bits != 0; bits &= bits - 1) {
    const auto intid = static_cast<uint32_t>(std::countr_zero(bits));
    consider(private_[vcpu][intid], vcpu, intid);
  }
  for (uint32_t w = 0; w < live_spis_.size(); ++w) {
    for (uint64_t bits = live_spis_[w]; bits != 0; bits &= bits - 1) {
      const uint32_t intid = w * 64 + static_cast<uint32_t>(std::countr_zero(bits));
      consider(spis_[spi_index(intid)], vcpu, intid);
    }
  }
  return best;
}

bool VgicState::quiescent(uint32_t vcpu) const {
  if (vcpu >= vcpu_count_) return true;
  if (live_private_[vcpu] != 0 || loaded_count_[vcpu] != 0) return false;
  return std::all_of(live_spis_.begin(), live_spis_.end(), [](uint64_t w) { return w == 0; });
}

size_t VgicState::take_hw_deactivations(std::span<HwDeactivation> out) {
  size_t n = 0;
  const auto take = [&](Irq& q, uint32_t vcpu) {
    if (!q.hw_deactivate || n == out.size()) return;
    out[n++] = {q.pintid, vcpu};
    q.hw_deactivate = false;
    --hw_deactivations_;
  };
  for (uint32_t v = 0; v < kMaxVcpus && hw_deactivations_ != 0; ++v)
    for (Irq& q : private_[v]) take(q, v);
  for (uint32_t s = 0; s < kMaxSpis && hw_deactivations_ != 0; ++s) take(spis_[s], kNoVcpu);
  return n;
}

}  // namespace lamina::hyp::vgic
