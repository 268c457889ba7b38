// The CPU features later code depends on, decoded once from the ID
// registers. Pure: built from raw register values so it is host-tested.
#pragma once

#include <cstdint>

#include "arch/regs/common.hpp"
#include "arch/regs/id_regs.hpp"

namespace lamina::hyp {

struct CpuFeatures {
  arch::PhysAddrSize parange = arch::PhysAddrSize::k32Bits;
  unsigned pa_bits = 32;         // from PARange
  unsigned vmid_bits = 8;        // 8 or 16 (FEAT_VMID16)
  bool vhe = false;              // FEAT_VHE
  bool s2fwb = false;            // FEAT_S2FWB (HCR_EL2.FWB)
  bool gic_sysreg = false;       // GICv3+ system-register CPU interface
  bool cnp = false;              // FEAT_TTCNP (TTBR.CnP)
  bool xnx = false;              // FEAT_XNX (stage-2 XN[54:53])
  bool sve = false;
  bool tgran4_stage2 = true;     // 4K granule supported at stage 2
  uint64_t dcache_line = 64;     // bytes, smallest D-cache line (CTR_EL0.DminLine)
  uint64_t icache_line = 64;
  bool idc = false;              // CTR_EL0.IDC: no D-clean to PoU needed for I/D coherence
  bool dic = false;              // CTR_EL0.DIC: no I-invalidate needed

  [[nodiscard]] static CpuFeatures from_id_registers(arch::IdAa64Mmfr0 mmfr0, arch::IdAa64Mmfr1 mmfr1,
                                                     arch::IdAa64Mmfr2 mmfr2, arch::IdAa64Pfr0 pfr0,
                                                     arch::CtrEl0 ctr);
};

}  // namespace lamina::hyp
