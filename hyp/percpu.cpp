#include "hyp/percpu.hpp"

namespace lamina::hyp {

PerCpu g_percpu[kMaxCpus];

// NOLOAD in linker/lamina.ld: not in the file, zeroed by boot/entry.S.
__attribute__((section(".lamina.stacks"))) CpuStack g_cpu_stacks[kMaxCpus];

void assign_stacks(PerCpu& cpu, size_t index) {
  CpuStack& s = g_cpu_stacks[index];
  cpu.stack_bottom = reinterpret_cast<uint64_t>(s.stack);
  cpu.stack_top = cpu.stack_bottom + sizeof(s.stack);
  cpu.stack_limit = cpu.stack_bottom + kStackOverflowMargin;
  cpu.emergency_sp = reinterpret_cast<uint64_t>(s.emergency) + sizeof(s.emergency);
}

}  // namespace lamina::hyp
