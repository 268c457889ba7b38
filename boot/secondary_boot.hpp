// What a secondary CPU needs before it can run C++: read by boot/entry.S
// with the MMU and caches off, so the boot CPU cleans these to the PoC
// after writing them (boot/smp.cpp).
#pragma once

#include <cstdint>

#include "arch/regs/id_regs.hpp"
#include "hyp/percpu.hpp"

namespace lamina::boot {

// EL2 stage-1 MMU register values shared by every CPU.
struct MmuConfig {
  uint64_t mair = 0;
  uint64_t tcr = 0;
  uint64_t ttbr0 = 0;
  uint64_t sctlr = 0;
  uint64_t vbar = 0;
};

// One slot per possible secondary; entry.S finds its slot by MPIDR.
struct SecondaryBoot {
  uint64_t mpidr = ~uint64_t{0};  // affinity bits; all-ones = unused slot
  hyp::PerCpu* percpu = nullptr;
  uint64_t stack_top = 0;
};

extern "C" {
extern MmuConfig g_mmu_config;
extern SecondaryBoot g_secondary_boot[hyp::kMaxCpus];
}

}  // namespace lamina::boot
