// Per-CPU EL2 control registers, written in one straight-line sequence on
// every CPU (the values are decided in hyp/cpu/el2_config.cpp). EL2-only.
#pragma once

#include "hyp/cpu/features.hpp"

namespace lamina::hyp {

// HCR_EL2, CPTR_EL2, MDCR_EL2, CNTHCTL_EL2, CNTVOFF_EL2, VPIDR_EL2,
// VMPIDR_EL2 and VTCR_EL2, then an ISB so the new traps are in force.
void setup_el2_cpu_state(const CpuFeatures& features);

}  // namespace lamina::hyp
