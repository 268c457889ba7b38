// The stage-2 hardware check (bootargs "lamina.selftest=stage2-at"): builds
// stage-2 tables with mm::Stage2 and asks the MMU itself, through AT
// S12E1R/W, how it translates them. EL2-only.
#pragma once

#include "hyp/cpu/features.hpp"
#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

// For a 3-level (40-bit IPA, 2 concatenated root tables) and a 4-level
// (44- or 48-bit IPA) geometry: maps a 4K read-write page, a 4K read-only
// page, a device page, a Normal Non-cacheable page, a 2M block and two 1G
// blocks; translates addresses inside each (and unmapped ones) with AT
// S12E1R/W with the EL1&0 stage 1 off; compares PAR_EL1 with what the
// tables say. A geometry the CPU's PA size cannot hold is skipped with a
// logged reason.
//
// Logs one line per check ("stage2-at: 3-level: ... ok") and a final
// "stage2-at: N checks passed" or "stage2-at: FAILED: ...". Returns
// normally, with HCR_EL2, VTTBR_EL2, VTCR_EL2, SCTLR_EL1 and PAR_EL1 as it
// found them, the VMIDs it used invalidated, and every frame it took given
// back to the frame allocator.
//
// Boot CPU only, while the other CPUs are parked (it uses the unlocked
// frame allocator).
void run_stage2_at_check(const Platform& platform, const CpuFeatures& features);

}  // namespace lamina::hyp
