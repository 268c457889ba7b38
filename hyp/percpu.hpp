// Per-CPU state: one PerCpu per physical CPU, reached through TPIDR_EL2 and
// never locked (only its own CPU writes it, except `state`, which the boot
// CPU reads while waiting for secondaries).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hyp/cpu/features.hpp"

#ifndef LAMINA_MAX_CPUS
#define LAMINA_MAX_CPUS 16
#endif

namespace lamina::hyp {

struct GuestRegs;
class Vcpu;

inline constexpr size_t kMaxCpus = LAMINA_MAX_CPUS;
inline constexpr size_t kStackSize = 16 * 1024;
inline constexpr size_t kStackGuardSize = 4096;  // unmapped, below each stack
// Where an exception taken with SP this close to the stack bottom goes
// instead (boot/vectors.S): the crash report must not fault again on an
// overflowed stack. Room for the frame plus the report's own calls.
inline constexpr size_t kEmergencyStackSize = 8 * 1024;
inline constexpr size_t kStackOverflowMargin = 1024;

enum class CpuState : uint32_t {
  kOff = 0,
  kStarting = 1,  // asked to start (PSCI CPU_ON or spin-table release)
  kOnline = 2,    // reached secondary_main and set up its EL2 state
  kFailed = 3,    // the start request failed
};

struct PerCpu {
  uint32_t index = 0;           // lamina's CPU number (0 = boot CPU)
  uint64_t mpidr = 0;           // affinity bits
  uint64_t stack_bottom = 0;    // lowest usable stack address
  uint64_t stack_top = 0;       // initial SP
  // Read by boot/vectors.S (offsets in asm_offsets.h): an exception with
  // SP below stack_limit runs on the emergency stack.
  uint64_t stack_limit = 0;     // stack_bottom + kStackOverflowMargin
  uint64_t emergency_sp = 0;    // top of this CPU's emergency stack
  std::atomic<CpuState> state{CpuState::kOff};
  CpuFeatures features;
  // The vCPU pinned to this CPU (nullptr: none; published by the boot CPU
  // with release order before it wakes the CPU), and the registers of the
  // guest running here, for hyp/guest_entry.S (asm_offsets.h).
  std::atomic<Vcpu*> vcpu{nullptr};
  GuestRegs* guest_regs = nullptr;
};

// (Assembler names given so boot/entry.S can refer to them.)
extern PerCpu g_percpu[kMaxCpus] asm("lamina_percpu");

// The PerCpu of the CPU running this code.
[[nodiscard]] inline PerCpu& this_cpu() {
  PerCpu* p;
  asm volatile("mrs %0, tpidr_el2" : "=r"(p));
  return *p;
}

// Per-CPU stacks, each [guard page][stack][guard page][emergency stack], in
// the image's .stacks region.
struct alignas(4096) CpuStack {
  uint8_t guard[kStackGuardSize];
  uint8_t stack[kStackSize];
  uint8_t emergency_guard[kStackGuardSize];
  uint8_t emergency[kEmergencyStackSize];
};

// Fills in a PerCpu's stack fields for CPU `index`.
void assign_stacks(PerCpu& cpu, size_t index);
extern CpuStack g_cpu_stacks[kMaxCpus] asm("lamina_cpu_stacks");

}  // namespace lamina::hyp
