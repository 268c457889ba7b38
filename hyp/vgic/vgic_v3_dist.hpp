// The emulated GICv3 Distributor (GICD, one 64 KiB frame) a VM's guest sees,
// over its VgicState (hyp/vgic/vgic_state.hpp).
//
// Arm IHI 0069 "GIC Architecture Specification, GICv3 and GICv4", "The GIC
// Distributor register descriptions". What the guest sees:
//  - One Security state (GICD_CTLR.DS = 1, RAO/WI) with affinity routing
//    always on (GICD_CTLR.ARE = 1, RAO/WI): so the SGI/PPI slices of the
//    arrays (INTIDs 0-31), GICD_ITARGETSR, GICD_SGIR, GICD_C/SPENDSGIR,
//    GICD_IGRPMODR and GICD_NSACR are RAZ/WI ("When affinity routing is
//    enabled", "When GICD_CTLR.DS == 1"); the Redistributors hold INTIDs
//    0-31 (hyp/vgic/vgic_v3_redist).
//  - GICD_CTLR.EnableGrp0/EnableGrp1 writable; RWP 0 (writes take effect at
//    once); E1NWF and nASSGIreq RAZ/WI.
//  - GICD_TYPER: ITLinesNumber from the SPI count, CPUNumber 0 (reported
//    only for ARE = 0, which this GIC never has), SecurityExtn 0, no LPIs,
//    no message-based SPIs, no direct vLPI injection, IDbits 9 (10-bit
//    INTIDs: SGIs, PPIs, SPIs), A3V 1 (Aff3 in GICD_IROUTER), No1N 1 (no
//    1-of-N routing: Interrupt_Routing_Mode is RAZ/WI), RSS 0 (SGI targets
//    Aff0 0-15), no extended SPI range; GICD_TYPER2 0.
//  - GICD_IIDR / PIDR: hyp/vgic/identification.hpp (ArchRev 3).
//  - GICD_IROUTER<n> for SPIs: 64-bit, or 32-bit to either half.
// Access widths (IHI 0069 "GIC memory-mapped register access"): 32-bit
// everywhere; 8-bit only to GICD_IPRIORITYR, GICD_ITARGETSR and
// GICD_C/SPENDSGIR; 64-bit only to GICD_IROUTER<n>. Anything else, a
// misaligned access or one past the frame is an external abort; reserved
// offsets are RAZ/WI, as are read-only registers to writes.
#pragma once

#include <cstdint>

#include "hyp/dev/mmio_device.hpp"
#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic {

class VgicV3Distributor final : public MmioDevice {
 public:
  constexpr VgicV3Distributor() = default;
  // The VM's vGIC state, configured with GicModel::kV3. Without one (or with
  // a GICv2 one) every access aborts.
  void attach(VgicState* state) { state_ = state; }

  [[nodiscard]] MmioResult read(uint64_t offset, unsigned width_bytes, uint64_t* value) override;
  [[nodiscard]] MmioResult write(uint64_t offset, unsigned width_bytes, uint64_t value) override;
  [[nodiscard]] const char* name() const override { return "gicv3 distributor"; }

 private:
  [[nodiscard]] uint32_t read32(uint64_t offset) const;
  void write32(uint64_t offset, uint32_t value);

  VgicState* state_ = nullptr;
};

}  // namespace lamina::hyp::vgic
