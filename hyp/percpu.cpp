#include "hyp/percpu.hpp"

namespace lamina::hyp {

PerCpu g_percpu[kMaxCpus];

// NOLOAD in linker/lamina.ld: not in the file, zeroed by boot/entry.S.
__attribute__((section(".lamina.stacks"))) CpuStack g_cpu_stacks[kMaxCpus];

}  // namespace lamina::hyp
