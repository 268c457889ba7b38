// An identity-mapped EL1&0 stage 1 for guests that test with the MMU on.
#pragma once

#include <cstdint>

namespace guest {

// Maps VA = PA with the 4K granule and a 39-bit VA (TCR_EL1.T0SZ 25, walks
// starting at level 1) and turns the MMU and caches on for this CPU:
//   [0, 1 GiB)            Device-nGnRnE 2 MiB blocks, execute-never, except
//                         the 2 MiB block at kHoleIpa: Normal, executable
//                         (so a fetch from the hole reaches stage 2);
//   [1 GiB, map_end)      Normal write-back 1 GiB blocks, executable.
// EL1 read-write, no EL0 access. map_end is rounded up to 1 GiB and capped at
// the IPA size in ID_AA64MMFR0_EL1.PARange (also used for TCR_EL1.IPS).
// There is no way back: turning the caches off again would need the whole
// data cache cleaned first.
void mmu_enable_identity(uint64_t map_end);
bool mmu_enabled();

}  // namespace guest
