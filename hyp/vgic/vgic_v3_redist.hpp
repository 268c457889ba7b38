// The emulated GICv3 Redistributors of a VM: one per vCPU, each an RD_base
// and an SGI_base frame (128 KiB, no VLPI frames), laid out contiguously in
// vCPU order, over the VM's VgicState.
//
// Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4", "The GIC
// Redistributor register descriptions". What the guest sees:
//  - RD_base: GICR_CTLR reads 0 (no LPIs, writes complete at once: RWP 0)
//    and ignores writes; GICR_IIDR as GICD_IIDR; GICR_TYPER with
//    Affinity_Value = the vCPU's MPIDR affinity, Processor_Number = the
//    vCPU index, Last on the last vCPU (where a driver's scan stops), no
//    LPIs (PLPIS 0, so PROPBASER/PENDBASER and the LPI registers are
//    RAZ/WI); GICR_WAKER; GICR_PIDR2 ArchRev 3; the rest RAZ/WI.
//  - GICR_WAKER: ProcessorSleep resets to 1; ChildrenAsleep follows it at
//    once (the handshake Linux's gic_enable_redist() does: clear
//    ProcessorSleep, poll until ChildrenAsleep reads 0). Delivery does not
//    depend on it: lamina never gates a vCPU's interrupts on it.
//  - SGI_base: GICR_IGROUPR0, IS/ICENABLER0, IS/ICPENDR0, IS/ICACTIVER0,
//    IPRIORITYR0-7, ICFGR0 (SGIs, read-only edge) and ICFGR1 (PPIs,
//    programmable) for the vCPU's INTIDs 0-31; IGRPMODR0 and NSACR RAZ/WI
//    (GICD_CTLR.DS == 1); the rest RAZ/WI.
// Access widths (IHI 0069 "GIC memory-mapped register access"): 32-bit
// everywhere; 64-bit to GICR_TYPER and the 64-bit LPI registers; 8-bit to
// GICR_IPRIORITYR. Anything else, a misaligned access or one past the last
// vCPU's frames is an external abort.
#pragma once

#include <array>
#include <cstdint>

#include "arch/regs/gicr.hpp"

#include "hyp/dev/mmio_device.hpp"
#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic {

class VgicV3Redistributors final : public MmioDevice {
 public:
  constexpr VgicV3Redistributors() = default;
  // The VM's vGIC state (GicModel::kV3); resets the WAKER state. Without one
  // (or with a GICv2 one) every access aborts.
  void attach(VgicState* state) {
    state_ = state;
    reset();
  }
  // Every Redistributor asleep again (GICR_WAKER.ProcessorSleep = 1), for a
  // VM reset.
  void reset() { processor_sleep_.fill(true); }

  // The guest-physical size the Redistributors of `vcpu_count` vCPUs span.
  [[nodiscard]] static constexpr uint64_t region_size(uint32_t vcpu_count) {
    return uint64_t{vcpu_count} * arch::gic::redist::kStride;
  }

  [[nodiscard]] MmioResult read(uint64_t offset, unsigned width_bytes, uint64_t* value) override;
  [[nodiscard]] MmioResult write(uint64_t offset, unsigned width_bytes, uint64_t value) override;
  [[nodiscard]] const char* name() const override { return "gicv3 redistributors"; }

 private:
  [[nodiscard]] MmioResult read_rd(uint32_t vcpu, uint64_t reg, unsigned width_bytes, uint64_t* value) const;
  [[nodiscard]] MmioResult write_rd(uint32_t vcpu, uint64_t reg, unsigned width_bytes, uint64_t value);
  [[nodiscard]] MmioResult read_sgi(uint32_t vcpu, uint64_t reg, unsigned width_bytes, uint64_t* value) const;
  [[nodiscard]] MmioResult write_sgi(uint32_t vcpu, uint64_t reg, unsigned width_bytes, uint64_t value);
  [[nodiscard]] uint64_t typer(uint32_t vcpu) const;

  VgicState* state_ = nullptr;
  std::array<bool, kMaxVcpus> processor_sleep_{true, true, true, true, true, true, true, true};
};

}  // namespace lamina::hyp::vgic
