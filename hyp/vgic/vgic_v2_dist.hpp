// The emulated GICv2 Distributor (GICD, one 4 KiB frame) a VM's guest sees,
// over its VgicState; the guest's CPU interface is the hardware's GICV frame
// mapped at its GICC address, fed through GICH list registers.
//
// Arm IHI 0048B "ARM Generic Interrupt Controller Architecture
// Specification, version 2.0", "Distributor register descriptions", for a
// GIC without the Security Extensions. What the guest sees:
//  - GICD_CTLR: EnableGrp0 [0], EnableGrp1 [1].
//  - GICD_TYPER: ITLinesNumber from the SPI count, CPUNumber = vCPUs - 1,
//    SecurityExtn 0, LSPI 0. GICD_IIDR and the identification registers:
//    hyp/vgic/identification.hpp (ArchRev 2).
//  - GICD_IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, IPRIORITYR,
//    ICFGR: the first 32 INTIDs banked per accessing vCPU. SGIs are always
//    enabled (ISENABLER0[15:0] RAO/WI) and edge-triggered; their
//    ISPENDR0/ICPENDR0 bits are read-only (GICD_C/SPENDSGIR set and clear
//    them per source).
//  - GICD_ITARGETSR: for INTIDs 0-31 read-only, the accessing vCPU's bit;
//    for SPIs the target list (bits of absent vCPUs RAZ/WI). With one vCPU
//    all of it is RAZ/WI ("uniprocessor implementation").
//  - GICD_SGIR (write-only): TargetListFilter list / all but self / self;
//    the source is the writing vCPU. GICD_CPENDSGIR/SPENDSGIR: the
//    accessing vCPU's SGIs, one bit per source.
// Access widths (IHI 0048B "Distributor register descriptions", each
// register's access note): 32-bit everywhere; 8-bit to GICD_IPRIORITYR,
// GICD_ITARGETSR and GICD_C/SPENDSGIR. Anything else, a misaligned access or
// one past the 4 KiB frame is an external abort; reserved offsets are
// RAZ/WI, as are read-only registers to writes.
#pragma once

#include <cstdint>

#include "hyp/vgic/banked_mmio_device.hpp"
#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic {

class VgicV2Distributor final : public BankedMmioDevice {
 public:
  constexpr VgicV2Distributor() = default;
  // The VM's vGIC state, configured with GicModel::kV2. Without one (or
  // with a GICv3 one) every access aborts.
  void attach(VgicState* state) { state_ = state; }

  [[nodiscard]] MmioResult read(uint32_t vcpu, uint64_t offset, unsigned width_bytes,
                                uint64_t* value) override;
  [[nodiscard]] MmioResult write(uint32_t vcpu, uint64_t offset, unsigned width_bytes,
                                 uint64_t value) override;
  [[nodiscard]] const char* name() const override { return "gicv2 distributor"; }

 private:
  [[nodiscard]] bool usable(uint32_t vcpu, uint64_t offset, unsigned width_bytes) const;
  // One register (4 bytes at a 4-byte aligned offset) or one byte of a
  // byte-accessible array.
  [[nodiscard]] uint32_t read_reg(uint32_t vcpu, uint64_t offset, unsigned bytes) const;
  void write_reg(uint32_t vcpu, uint64_t offset, unsigned bytes, uint32_t value);
  [[nodiscard]] uint8_t target_byte(uint32_t vcpu, uint32_t intid) const;

  VgicState* state_ = nullptr;
};

}  // namespace lamina::hyp::vgic
