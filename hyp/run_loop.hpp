// Each physical CPU's life after boot: wait until its pinned vCPU is asked
// to start (VM start, PSCI CPU_ON, VM reset), run it until it stops, and
// wait again. EL2-only.
#pragma once

#include "hyp/percpu.hpp"

namespace lamina::hyp {

// Marks the vCPU assignment done: CPUs without a vCPU then sleep for good.
void publish_vcpu_assignment();

[[noreturn]] void run_cpu(PerCpu& cpu);

}  // namespace lamina::hyp
