// The stage-2 arch hooks for host benchmarks: descriptor stores are real
// (release stores, as at EL2); barriers and TLB/cache maintenance only count
// how often they were asked for, so the benchmark measures lamina's own
// work and reports the maintenance it would have issued.
#include "bench/null_stage2_arch_ops.hpp"

#include <atomic>

#include "mm/stage2_arch_ops.hpp"

namespace lamina::bench {
MaintenanceCounts g_maintenance;
}  // namespace lamina::bench

namespace lamina::mm::s2ops {

using bench::g_maintenance;

uint32_t current_cpu() { return 0; }

void store_descriptor(uint64_t* slot, uint64_t value) { __atomic_store_n(slot, value, __ATOMIC_RELEASE); }

void publish_descriptors() { ++g_maintenance.publishes; }

uint64_t enter_vmid(uint64_t vttbr) { return vttbr; }
void exit_vmid(uint64_t) {}

void invalidate_ipa(IntermediatePhysAddr, unsigned, bool) { ++g_maintenance.ipa_invalidations; }
void complete_ipa_invalidation() { ++g_maintenance.completions; }
void invalidate_vmid() { ++g_maintenance.vmid_invalidations; }
void clean_dcache_to_poc(PhysAddr, uint64_t) {}
void sync_icache(PhysAddr, uint64_t) {}

}  // namespace lamina::mm::s2ops
