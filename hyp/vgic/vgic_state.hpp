// VgicState: one VM's virtual interrupt state, the model behind the emulated
// GICv2/GICv3 distributor and redistributors (hyp/vgic/vgic_v2_dist,
// vgic_v3_dist, vgic_v3_redist) and behind the list registers EL2 fills.
//
// Sources: Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4"
// ("Interrupt handling state machine", "Interrupt grouping", "Affinity
// routing", "Software Generated Interrupts") and Arm IHI 0048B "ARM Generic
// Interrupt Controller Architecture Specification, version 2.0" (3.2
// "General handling of interrupts", 5 "GIC Support for Virtualization").
//
// A pure state machine, like PsciServer: no register, no list register, no
// lock. It holds, for up to kMaxVcpus vCPUs:
//  - per vCPU, the 16 SGIs and 16 PPIs (INTIDs 0-31), and the shared SPIs
//    (INTIDs 32 .. intid_limit()-1);
//  - per interrupt: enable, pending (an edge latch, the input line of a
//    level-sensitive interrupt, and for GICv2 SGIs one pending bit per
//    source vCPU), active, group, priority, trigger, and for SPIs the GICv2
//    target list or the GICv3 GICD_IROUTER affinity;
//  - a HW mapping (physical INTID) per interrupt, for passthrough devices and
//    the forwarded virtual timer;
//  - the Distributor's group enables.
//
// The vCPU side works in two steps around each guest entry (EL2's part):
//  1. load_list_registers(k, out): the interrupts vCPU k should see now,
//     best first: every active one of its interrupts (so that the guest's
//     deactivation finds it in a list register), then the pending, enabled,
//     group-enabled ones in priority order (lower value first, then lower
//     INTID). Their pending/active state moves into the list registers: the
//     model keeps only what happens afterwards (a new edge, a new SGI).
//  2. fold_list_registers(k, states): after the guest ran, the State field
//     each list register came back with; the model merges it back (an
//     acknowledged interrupt is now active, a deactivated one is gone, an
//     untouched one is pending again) and re-evaluates level-sensitive lines
//     (a line still asserted after the guest's EOI makes it pending again).
// While an interrupt sits in vCPU k's list registers, changes the guest or a
// device makes to it elsewhere (ICPENDR, ICACTIVER, a disable, a line going
// down) are recorded and applied at the fold, and vCPU k is "kicked" (see
// take_kicks()) so that EL2 makes it exit and fold/load again.
//
// HW-mapped interrupts (map_hw): the physical interrupt was acknowledged at
// EL2 and left active (EOImode 1); the list register carries the HW bit and
// the physical INTID, so the guest's deactivation deactivates the physical
// interrupt. The model treats each set_line(true) as one occurrence (a latch,
// whatever the trigger), never presents one as pending and active at once,
// and queues a physical deactivation (take_hw_deactivations) when the guest
// removes the state through ICPENDR/ICACTIVER instead, or at reset().
//
// Not thread-safe: the VM serializes every call (one lock per VM's vGIC).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "arch/regs/gicd.hpp"
#include "arch/regs/icc.hpp"

#include "hyp/lib/result.hpp"

namespace lamina::hyp::vgic {

inline constexpr uint32_t kMaxVcpus = 8;  // the GICv2 limit; also PsciServer's
inline constexpr uint8_t kNoVcpu = 0xff;
inline constexpr uint32_t kNumSgis = arch::gic::kNumSgis;
inline constexpr uint32_t kNumPrivate = arch::gic::kNumPrivate;
inline constexpr uint32_t kMaxSpis = arch::gic::kMaxSpis;  // INTIDs 32-1019
// ICH_VTR_EL2.ListRegs allows 16; a GICv2 host with more uses the first 16.
inline constexpr uint32_t kMaxListRegisters = 16;
// Priority bits the virtual Distributor implements: the top 5, the minimum a
// GICv3 virtual CPU interface has (ICH_VTR_EL2.PRIbits >= 4) and all a GICv2
// list register holds (GICH_LRn.Priority is priority [7:3]). Unimplemented
// low bits read as zero (IHI 0069 "Interrupt prioritization").
inline constexpr unsigned kPriorityBits = 5;
inline constexpr uint8_t kPriorityMask = 0xf8;

enum class GicModel : uint8_t { kV2, kV3 };

// The pending/active state of a virtual interrupt, encoded like the State
// field of ICH_LR<n>_EL2 and GICH_LRn (arch::LrState).
enum class VirqState : uint8_t { kInvalid = 0b00, kPending = 0b01, kActive = 0b10, kPendingActive = 0b11 };

[[nodiscard]] constexpr bool is_pending(VirqState s) { return (static_cast<uint8_t>(s) & 0b01) != 0; }
[[nodiscard]] constexpr bool is_active(VirqState s) { return (static_cast<uint8_t>(s) & 0b10) != 0; }
[[nodiscard]] constexpr VirqState make_state(bool pending, bool active) {
  return static_cast<VirqState>((pending ? 0b01 : 0) | (active ? 0b10 : 0));
}

[[nodiscard]] constexpr bool is_sgi(uint32_t intid) { return intid < kNumSgis; }
[[nodiscard]] constexpr bool is_ppi(uint32_t intid) { return intid >= kNumSgis && intid < kNumPrivate; }
[[nodiscard]] constexpr bool is_private(uint32_t intid) { return intid < kNumPrivate; }

// One interrupt as a list register presents it: what load_list_registers()
// hands out (and what decoding a list register gives back).
struct Virq {
  uint32_t intid = 0;
  uint32_t pintid = 0;      // physical INTID, when hw
  uint8_t priority = 0;     // 8-bit priority (low bits beyond kPriorityBits zero)
  uint8_t source = 0;       // GICv2 SGIs: the sending vCPU (GICH_LRn.CPUID); else 0
  VirqState state = VirqState::kInvalid;
  bool group1 = false;
  bool hw = false;
  // Ask for a maintenance interrupt when the guest deactivates it (never
  // with hw: the LR has no EOI bit then): level-sensitive interrupts, whose
  // line must be looked at again, and GICv2 SGIs with more sources queued.
  bool eoi_maintenance = false;

  friend constexpr bool operator==(const Virq&, const Virq&) = default;
};

struct LoadResult {
  uint32_t loaded = 0;    // out[0, loaded) hold interrupts, best first
  uint32_t deferred = 0;  // interrupts for this vCPU that did not fit
};

// A physical interrupt EL2 must deactivate (ICC_DIR_EL1 / GICC_DIR) because
// the virtual interrupt it was forwarded as went away without the guest
// deactivating it through a list register.
struct HwDeactivation {
  uint32_t pintid = 0;
  // A PPI: the vCPU whose PPI it is (deactivate it on the CPU that runs
  // that vCPU). An SPI: kNoVcpu (any CPU may deactivate it).
  uint32_t vcpu = 0;
};

// Which SGI-generation register a trapped write came from (IHI 0069
// "ICC_SGI0R_EL1", "ICC_SGI1R_EL1", "ICC_ASGI1R_EL1"). In a GIC with one
// Security state (GICD_CTLR.DS == 1), SGI0R and ASGI1R generate Group 0
// SGIs only, SGI1R an SGI of either group, as each target configured it.
enum class SgiRegister : uint8_t { kSgi1r, kSgi0r, kAsgi1r };

// The one-bit-per-INTID register arrays (IGROUPR, IS/ICENABLER, IS/ICPENDR,
// IS/ICACTIVER).
enum class BitArray : uint8_t { kGroup, kEnable, kPending, kActive };

struct VgicConfig {
  GicModel model = GicModel::kV3;
  uint32_t vcpu_count = 1;
  // GICv3: each vCPU's MPIDR_EL1 as the guest reads it (VMPIDR_EL2); only
  // Aff3..Aff0 may be set. Affinity routing (GICD_IROUTER, ICC_SGI1R_EL1)
  // goes by these. Ignored for GICv2 (targets are vCPU indexes).
  std::array<uint64_t, kMaxVcpus> mpidr{};
  // SPIs, rounded up to a whole GICD_TYPER.ITLinesNumber block of 32 INTIDs
  // (but never past INTID 1019).
  uint32_t spi_count = 0;
};

enum class Error : uint8_t {
  kNoVcpus,
  kTooManyVcpus,    // more than kMaxVcpus
  kTooManySpis,     // more than kMaxSpis
  kBadMpidr,        // bits outside Aff3..Aff0, or (GICv3) Aff0 > 15, which an
                    // SGI cannot reach without GICD_TYPER.RSS
  kDuplicateMpidr,  // two vCPUs with the same affinity (GICv3)
};

class VgicState {
 public:
  constexpr VgicState() = default;
  VgicState(const VgicState&) = delete;
  VgicState& operator=(const VgicState&) = delete;

  // Configures the model and resets it (reset()). Held by value in the VM
  // (about 35 KiB), so configured in place rather than returned.
  [[nodiscard]] Status<Error> init(const VgicConfig& config);

  // Every interrupt to its reset state (IHI 0069 / IHI 0048B reset values:
  // disabled, inactive, not pending, priority 0, level-sensitive PPIs and
  // SPIs, edge SGIs; Group 0 on GICv2, Group 1 on GICv3 as KVM does, so that
  // a guest that never writes GICD_IGROUPR still gets IRQs; GICv2 SGIs
  // permanently enabled as QEMU's and KVM's are; targets 0 / IROUTER 0), the
  // Distributor disabled, the list-register bookkeeping dropped. Kept: the
  // configuration, HW mappings and input line levels (they belong to the
  // devices). HW interrupts that were pending or active are queued for
  // physical deactivation. Every vCPU is kicked.
  void reset();

  // ---- Configuration ----------------------------------------------------
  [[nodiscard]] GicModel model() const { return model_; }
  [[nodiscard]] uint32_t vcpu_count() const { return vcpu_count_; }
  // One past the highest SPI INTID: 32 + SPIs.
  [[nodiscard]] uint32_t intid_limit() const { return intid_limit_; }
  // GICD_TYPER.ITLinesNumber: INTIDs up to 32 * (N + 1) - 1 are reported.
  [[nodiscard]] uint32_t it_lines_number() const { return (intid_limit_ + 31) / 32 - 1; }
  [[nodiscard]] uint64_t mpidr(uint32_t vcpu) const { return mpidr_[vcpu]; }
  // The interrupt exists: an SGI/PPI of an existing vCPU, or an SPI below
  // intid_limit().
  [[nodiscard]] bool exists(uint32_t vcpu, uint32_t intid) const;

  // ---- Inputs: devices, timers, EL2 ---------------------------------------
  // The level of the input line of PPI/SPI `intid` (vcpu: whose PPI; ignored
  // for SPIs). Edge-triggered: a rising edge latches pending. Level-
  // sensitive: pending while high. HW-mapped: true latches one physical
  // occurrence (see the header comment), false only records the level.
  // Returns false (and does nothing) for SGIs and interrupts that do not exist.
  bool set_line(uint32_t vcpu, uint32_t intid, bool level);
  // Latches PPI/SPI `intid` pending, whatever its trigger (a message-based
  // or pulsed input: GICD_SETSPI_NSR semantics). False as set_line().
  bool pulse(uint32_t vcpu, uint32_t intid);
  // Forwards PPI/SPI `intid` to physical INTID `pintid` (< 1020) with the HW
  // bit; unmap_hw() stops it. False for SGIs, absent interrupts, bad pintid.
  bool map_hw(uint32_t vcpu, uint32_t intid, uint32_t pintid);
  bool unmap_hw(uint32_t vcpu, uint32_t intid);
  // The physical interrupt of HW-mapped `intid` should be active: the
  // virtual one is pending or active (in the model or a list register).
  // EL2 uses it when it moves a forwarded timer between CPUs.
  [[nodiscard]] bool hw_owed(uint32_t vcpu, uint32_t intid) const;

  // ---- SGIs --------------------------------------------------------------
  // A GICv2 guest wrote GICD_SGIR from vCPU `sender`: SGIINTID to the CPUs
  // TargetListFilter selects (a list; all but the sender; the sender),
  // pending with the sender as source. A reserved filter does nothing.
  void send_sgi_v2(uint32_t sender, arch::GicdSgir sgir);
  // A GICv3 guest wrote ICC_SGI1R_EL1 / ICC_SGI0R_EL1 / ICC_ASGI1R_EL1
  // (trapped) from vCPU `sender`. IRM = 1: every vCPU but the sender;
  // otherwise the vCPUs whose MPIDR is Aff3.Aff2.Aff1.(RS * 16 + n) for
  // each TargetList bit n. Targets that do not exist are ignored.
  void send_sgi_v3(uint32_t sender, arch::IccSgi1rEl1 value, SgiRegister reg);

  // ---- Register-level access for the MMIO models ------------------------
  // `vcpu` picks the SGI/PPI bank (the accessing vCPU for GICv2, the
  // Redistributor's for GICv3); ignored for SPIs. `first_intid` is a
  // multiple of 32. Bits of absent interrupts read as zero and ignore writes.
  [[nodiscard]] uint32_t read_bits(BitArray array, uint32_t vcpu, uint32_t first_intid) const;
  // IS*R: set each interrupt whose bit is 1. IGROUPR: see write_groups().
  void set_bits(BitArray array, uint32_t vcpu, uint32_t first_intid, uint32_t bits);
  // IC*R: clear each interrupt whose bit is 1.
  void clear_bits(BitArray array, uint32_t vcpu, uint32_t first_intid, uint32_t bits);
  // IGROUPR: the whole word (1 = Group 1).
  void write_groups(uint32_t vcpu, uint32_t first_intid, uint32_t groups);

  [[nodiscard]] uint8_t priority(uint32_t vcpu, uint32_t intid) const;
  void set_priority(uint32_t vcpu, uint32_t intid, uint8_t priority);  // masked to kPriorityMask
  // Edge-triggered (GICD_ICFGR Int_config[1] = 1). SGIs are always edge and
  // ignore writes; PPIs and SPIs are programmable.
  [[nodiscard]] bool is_edge(uint32_t vcpu, uint32_t intid) const;
  void set_edge(uint32_t vcpu, uint32_t intid, bool edge);

  // GICv2 GICD_ITARGETSR byte of SPI `intid` (bits of absent vCPUs are
  // RAZ/WI; with one vCPU the whole register is RAZ/WI and every SPI goes to
  // vCPU 0, IHI 0048B "Interrupt Processor Targets Registers").
  [[nodiscard]] uint8_t targets(uint32_t intid) const;
  void set_targets(uint32_t intid, uint8_t targets);
  // GICv3 GICD_IROUTER of SPI `intid`. Interrupt_Routing_Mode is RAZ/WI
  // (GICD_TYPER.No1N = 1: no 1-of-N routing); the SPI goes to the vCPU whose
  // affinity equals Aff3.Aff2.Aff1.Aff0, or stays pending if none does.
  [[nodiscard]] uint64_t irouter(uint32_t intid) const;
  void set_irouter(uint32_t intid, uint64_t value);

  // GICv2 GICD_SPENDSGIR/CPENDSGIR: the pending sources (one bit per source
  // vCPU) of SGI `sgi` of vCPU `vcpu`.
  [[nodiscard]] uint8_t sgi_sources(uint32_t vcpu, uint32_t sgi) const;
  void set_sgi_sources(uint32_t vcpu, uint32_t sgi, uint8_t sources);
  void clear_sgi_sources(uint32_t vcpu, uint32_t sgi, uint8_t sources);

  // GICD_CTLR.EnableGrp0 / EnableGrp1.
  [[nodiscard]] bool group_enabled(bool group1) const { return group1 ? enable_grp1_ : enable_grp0_; }
  void set_group_enables(bool grp0, bool grp1);

  // ---- The vCPU side -----------------------------------------------------
  // Fills out[0, n) (n <= min(out.size(), kMaxListRegisters)) with what
  // vCPU `vcpu`'s list registers should hold, best first (see the header
  // comment), and hands their state over to the list registers. Requires
  // the previous load of this vCPU to have been folded; if it was not, it is
  // folded first as if every list register came back unchanged.
  LoadResult load_list_registers(uint32_t vcpu, std::span<Virq> out);
  // Merges back the list registers of the last load: states[i] is the State
  // field list register i (out[i] of the load) came back with. Missing
  // entries count as unchanged. Kicks the vCPUs that now have something to
  // take (e.g. an SPI whose target changed while it was loaded here).
  void fold_list_registers(uint32_t vcpu, std::span<const VirqState> states);
  // How many list registers the last load filled (0 once folded).
  [[nodiscard]] uint32_t loaded_count(uint32_t vcpu) const { return loaded_count_[vcpu]; }

  // The best priority (lowest value) among vCPU `vcpu`'s pending interrupts
  // that it would be shown (pending, enabled, group enabled, targeted at it),
  // counting loaded ones as of their load; nothing if none. For deciding
  // whether a WFI should wake (against ICH_VMCR_EL2.VPMR / GICH_VMCR).
  [[nodiscard]] std::optional<uint8_t> highest_pending_priority(uint32_t vcpu) const;
  // Nothing pending, active or loaded for vCPU `vcpu`: EL2 may skip the
  // load/fold around an entry. Conservative (any live SPI counts).
  [[nodiscard]] bool quiescent(uint32_t vcpu) const;

  // The vCPUs whose view changed since the last call (bit k = vCPU k): a
  // running one must exit and fold/load, a waiting one wake. May include the
  // caller's own vCPU. Clears the set.
  uint32_t take_kicks() {
    const uint32_t k = kicks_;
    kicks_ = 0;
    return k;
  }
  // Moves up to out.size() queued physical deactivations into out; returns
  // how many. Call until it returns less than out.size().
  size_t take_hw_deactivations(std::span<HwDeactivation> out);

 private:
  // Overrides recorded while an interrupt sits in a list register.
  static constexpr uint8_t kOverrideClearPending = 1u << 0;
  static constexpr uint8_t kOverrideSetActive = 1u << 1;
  static constexpr uint8_t kOverrideClearActive = 1u << 2;

  struct Irq {
    uint16_t pintid = 0;
    uint8_t priority = 0;
    bool enabled = false;
    bool group1 = false;
    bool edge = false;
    bool hw = false;
    bool line = false;   // input level
    bool latch = false;  // edge latch / software pending / HW occurrence (not GICv2 SGIs)
    bool active = false; // active, outside any list register
    bool hw_deactivate = false;  // queued for take_hw_deactivations
    uint8_t sources = 0;          // GICv2 SGIs: pending per source vCPU
    uint8_t active_source = 0;    // GICv2 SGIs: the source of the active one
    uint8_t active_vcpu = kNoVcpu;  // SPIs: the vCPU it is active on
    // List-register bookkeeping: the vCPU whose list registers hold it, what
    // was loaded, and what the load consumed (restored if the list register
    // comes back still pending).
    uint8_t owner = kNoVcpu;
    VirqState lr_state = VirqState::kInvalid;
    uint8_t lr_source = 0;
    bool lr_latch = false;
    uint8_t overrides = 0;
  };

  [[nodiscard]] Irq* find(uint32_t vcpu, uint32_t intid);
  [[nodiscard]] const Irq* find(uint32_t vcpu, uint32_t intid) const;
  [[nodiscard]] bool is_v2_sgi(uint32_t intid) const { return model_ == GicModel::kV2 && is_sgi(intid); }
  [[nodiscard]] bool pending_here(const Irq& q) const {
    return q.latch || q.sources != 0 || (!q.edge && !q.hw && q.line);
  }
  [[nodiscard]] bool reads_pending(const Irq& q) const;
  [[nodiscard]] bool reads_active(const Irq& q) const;
  // The vCPU `q` goes to (for private ones: `bank`), or kNoVcpu.
  [[nodiscard]] uint32_t target_of(const Irq& q, uint32_t bank, uint32_t intid) const;
  // What `vcpu` would be shown of `q` if loaded now (kInvalid: nothing).
  [[nodiscard]] VirqState presentable(const Irq& q, uint32_t bank, uint32_t intid, uint32_t vcpu) const;
  // After any change to `q`: the live bit, and kicks for whoever must look.
  void changed(Irq& q, uint32_t bank, uint32_t intid);
  // A HW interrupt whose pending/active state just disappeared outside a
  // list register: its physical counterpart must be deactivated.
  void hw_went_idle(Irq& q);
  void recompute_route(uint32_t intid);
  void set_pending(uint32_t vcpu, uint32_t intid);
  void clear_pending(uint32_t vcpu, uint32_t intid);
  void set_active(uint32_t vcpu, uint32_t intid);
  void clear_active(uint32_t vcpu, uint32_t intid);
  void set_enabled(uint32_t vcpu, uint32_t intid, bool enabled);
  void reset_irq(Irq& q, uint32_t intid);

  GicModel model_ = GicModel::kV3;
  uint32_t vcpu_count_ = 0;
  uint32_t vcpu_mask_ = 0;
  uint32_t intid_limit_ = kNumPrivate;
  std::array<uint64_t, kMaxVcpus> mpidr_{};
  bool enable_grp0_ = false;
  bool enable_grp1_ = false;

  std::array<std::array<Irq, kNumPrivate>, kMaxVcpus> private_{};
  std::array<Irq, kMaxSpis> spis_{};
  std::array<uint8_t, kMaxSpis> targets_{};    // GICv2 GICD_ITARGETSR
  std::array<uint64_t, kMaxSpis> irouter_{};   // GICv3 GICD_IROUTER
  std::array<uint8_t, kMaxSpis> route_{};      // the resolved target vCPU, or kNoVcpu

  // Interrupts with anything going on (pending, active or loaded): bit
  // (intid) of live_private_[vcpu] for 0-31, of live_spis_ for SPIs.
  std::array<uint32_t, kMaxVcpus> live_private_{};
  std::array<uint64_t, 16> live_spis_{};

  std::array<std::array<uint16_t, kMaxListRegisters>, kMaxVcpus> loaded_{};
  std::array<uint32_t, kMaxVcpus> loaded_count_{};

  uint32_t kicks_ = 0;
  uint32_t hw_deactivations_ = 0;  // how many Irqs have hw_deactivate set
};

}  // namespace lamina::hyp::vgic
