// A virtual CPU: the guest state it owns (hyp/vcpu_context.hpp), its power
// request from PSCI, and its exit counters. vCPUs are pinned one to one on
// physical CPUs: vCPU state is loaded into its CPU when the vCPU starts and
// stays there while it runs; exits save only the general registers.
// EL2-only.
#pragma once

#include <atomic>
#include <cstdint>

#include "hyp/exit_stats.hpp"
#include "hyp/vcpu_context.hpp"

namespace lamina::hyp {

class Vm;
struct PerCpu;

class Vcpu {
 public:
  Vcpu() = default;
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  void init(Vm* vm, uint32_t index, PerCpu* cpu);

  // Sets the architectural state a PSCI CPU_ON or a VM (re)start gives:
  // PC = entry, x0 = context (everything else zero), EL1h with DAIF masked,
  // MMU and caches off, FP/SIMD zeroed (DEN 0022 "CPU_ON"; Linux
  // Documentation/arch/arm64/booting.rst for the boot vCPU).
  void reset(uint64_t entry, uint64_t context);

  // Writes this vCPU's state and its VM's stage-2 and trap configuration
  // into the running CPU (HCR_EL2, VTTBR_EL2, VTCR_EL2, VMPIDR_EL2, ...).
  void load();
  // Reads the live EL1 and FP/SIMD state back (for a dump or a move).
  void save();

  // Asks this vCPU's CPU to start it at `entry` with x0 = `context`
  // (PSCI CPU_ON, VM start); the CPU picks it up in its run loop.
  void request_start(uint64_t entry, uint64_t context);

  [[nodiscard]] Vm& vm() const { return *vm_; }
  [[nodiscard]] uint32_t index() const { return index_; }
  [[nodiscard]] PerCpu& cpu() const { return *cpu_; }
  [[nodiscard]] uint64_t mpidr() const { return mpidr_; }

  GuestRegs regs{};
  El1State el1{};
  FpsimdState fpsimd{};
  ExitStats stats{};
  // Where lamina last sent this vCPU with an injected exception; an abort
  // fetching exactly there means the guest's vectors are unusable.
  uint64_t injected_vector = ~uint64_t{0};
  uint64_t mmio_value = 0;  // an emulated load's result, on its way to a register

  // This exit folded the list registers into the vGIC (something on it
  // looked at or changed the vGIC): load them again before resuming.
  bool vgic_dirty = false;
  // The vGIC maintenance PPI was acknowledged (priority dropped) and waits
  // for its deactivation until the next list-register load.
  bool maintenance_active = false;
  // Physical PPIs (bit = INTID) another CPU found owed a deactivation
  // (ICC_DIR_EL1 must run on this vCPU's CPU): applied before its next entry.
  std::atomic<uint32_t> owed_ppi_deactivations{0};

  // PSCI start request, set by request_start() under the VM lock.
  std::atomic<bool> start_pending{false};
  uint64_t start_entry = 0;
  uint64_t start_context = 0;

 private:
  Vm* vm_ = nullptr;
  PerCpu* cpu_ = nullptr;
  uint32_t index_ = 0;
  uint64_t mpidr_ = 0;
};

}  // namespace lamina::hyp
