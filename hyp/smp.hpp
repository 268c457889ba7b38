// Bringing the other CPUs online: PSCI CPU_ON or a spin-table release,
// each CPU with its own stack, PerCpu and EL2 state. EL2-only.
#pragma once

#include <cstddef>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

struct SmpResult {
  size_t online = 0;  // including the boot CPU
  size_t failed = 0;  // asked to start but did not come up, or could not be asked
  size_t skipped = 0; // beyond LAMINA_MAX_CPUS
};

// Starts every CPU of `platform` except the boot CPU, waits (bounded) for
// each to report online, and logs which came up and which did not.
[[nodiscard]] SmpResult start_secondary_cpus(const Platform& platform);

}  // namespace lamina::hyp
