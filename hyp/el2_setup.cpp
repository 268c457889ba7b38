#include "hyp/el2_setup.hpp"

#include "arch/barrier.hpp"
#include "arch/sysreg.hpp"
#include "hyp/cpu/el2_config.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::hyp {

void setup_el2_cpu_state(const CpuFeatures& features) {
  arch::write(idle_hcr_el2());
  arch::write(cptr_el2_value());
  arch::write(mdcr_el2_value(arch::read<arch::PmcrEl0>().get(arch::PmcrEl0::n)));
  arch::write(cnthctl_el2_value());
  arch::write(arch::CntvoffEl2(0));
  // A guest reading MIDR_EL1/MPIDR_EL1 sees these; until vCPUs exist they
  // mirror the real CPU.
  arch::write(arch::VpidrEl2(arch::read<arch::MidrEl1>().raw()));
  arch::write(arch::VmpidrEl2(arch::read<arch::MpidrEl1>().raw()));
  // The largest IPA space this CPU allows (a geometry always exists for it).
  const auto geometry = mm::stage2_geometry_for(features.parange, 0);
  if (geometry.ok()) arch::write(vtcr_el2_value(geometry.value(), features));
  arch::isb();
}

}  // namespace lamina::hyp
