#include "hyp/cpu/features.hpp"

namespace lamina::hyp {

using arch::IdAa64Mmfr0;
using arch::IdAa64Mmfr1;
using arch::IdAa64Mmfr2;
using arch::IdAa64Pfr0;

CpuFeatures CpuFeatures::from_id_registers(IdAa64Mmfr0 mmfr0, IdAa64Mmfr1 mmfr1, IdAa64Mmfr2 mmfr2,
                                           IdAa64Pfr0 pfr0, arch::CtrEl0 ctr) {
  CpuFeatures f;
  f.parange = mmfr0.get(IdAa64Mmfr0::parange);
  f.pa_bits = arch::phys_addr_bits(f.parange);
  if (f.pa_bits == 0) {
    // A reserved PARange encoding: assume the architectural minimum.
    f.parange = arch::PhysAddrSize::k32Bits;
    f.pa_bits = 32;
  }
  f.vmid_bits = mmfr1.get(IdAa64Mmfr1::vmidbits) == arch::kVmidBits16 ? 16 : 8;
  f.vhe = mmfr1.get(IdAa64Mmfr1::vh) != 0;
  f.xnx = mmfr1.get(IdAa64Mmfr1::xnx) != 0;
  f.s2fwb = mmfr2.get(IdAa64Mmfr2::fwb) != 0;
  f.cnp = mmfr2.get(IdAa64Mmfr2::cnp) != 0;
  const uint64_t gic = pfr0.get(IdAa64Pfr0::gic);
  f.gic_sysreg = gic == arch::kGicSysregV3 || gic == arch::kGicSysregV41;
  f.sve = pfr0.get(IdAa64Pfr0::sve) != 0;
  // TGran4_2: 0b0000 = as TGran4 says, 0b0001 = not supported at stage 2.
  // DDI 0487 K.a D23.2 "ID_AA64MMFR0_EL1", field TGran4_2.
  f.tgran4_stage2 = mmfr0.get(IdAa64Mmfr0::tgran4_2) != 0b0001;
  f.dcache_line = ctr.dcache_line_bytes();
  f.icache_line = ctr.icache_line_bytes();
  f.idc = ctr.get(arch::CtrEl0::idc);
  f.dic = ctr.get(arch::CtrEl0::dic);
  return f;
}

}  // namespace lamina::hyp
