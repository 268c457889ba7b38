// Counters kept by bench/null_stage2_arch_ops.cpp.
#pragma once

#include <cstdint>

namespace lamina::bench {

struct MaintenanceCounts {
  uint64_t publishes = 0;
  uint64_t ipa_invalidations = 0;
  uint64_t completions = 0;
  uint64_t vmid_invalidations = 0;
};

extern MaintenanceCounts g_maintenance;

}  // namespace lamina::bench
