#include "hyp/vm.hpp"

#include "arch/barrier.hpp"
#include "arch/cache.hpp"
#include "arch/sysreg.hpp"
#include "hyp/console.hpp"
#include "hyp/guest_console.hpp"
#include "hyp/guest_memory.hpp"
#include "hyp/log.hpp"
#include "hyp/passthrough.hpp"
#include "hyp/percpu.hpp"
#include "hyp/power.hpp"
#include "hyp/vgic_el2.hpp"

namespace lamina::hyp {

namespace {

bool g_stats_enabled = false;

}  // namespace

void set_exit_stats_enabled(bool enabled) { g_stats_enabled = enabled; }

void log_guest_entry(const Vcpu& vcpu) {
  if (!g_stats_enabled) return;
  // The virtual count is the physical count minus CNTVOFF_EL2 (DDI 0487 K.a,
  // "CNTVCT_EL0, Counter-timer Virtual Count Register"): a guest's reading
  // plus this offset is the count since machine reset.
  LOG_INFO("vm {}: vcpu{} enters the guest at counter {} (CNTVOFF_EL2 {})", vcpu.vm().name(), vcpu.index(),
           arch::read<arch::CntpctEl0>().value(), arch::read<arch::CntvoffEl2>().value());
}

Result<uint64_t, mm::Error> Vm::fault_in(mm::IntermediatePhysAddr ipa) {
  const RamBlock block = TRY(ram.block_for(ipa));
  SpinLockGuard guard(lock, this_cpu().index);
  if (!guard.held()) return Err{mm::Error::kBusy};
  if (state() != VmState::kRunning) return uint64_t{0};
  // Another vCPU may have mapped the block since this one faulted: the map
  // then finds the same leaf and leaves it alone (mm/stage2.cpp), so the
  // others never see it broken.
  scrub_guest_ram(*this, block.ipa, block.size);
  TRY(stage2.map(block.ipa, block.pa, block.size, mm::kS2GuestRam));
  return block.size;
}

void Vm::unmap_all() {
  // Every vCPU still in the guest faults at its next access and comes out.
  if (auto r = stage2.unmap(ram.base(), ram.size()); !r.ok())
    LOG_ERROR("vm {}: cannot unmap its RAM: {}", name(), mm::error_name(r.error()));
  arch::dsb_ishst();
  arch::sev();  // wake vCPUs waiting in WFI emulation or guest WFE
  vgic_kick_all(*this);  // with a vGIC, the WFI emulation waits in WFI
}

void Vm::begin_stop(const char* reason) {
  const SpinLockGuard guard(lock, this_cpu().index);
  const VmState s = state();
  if (s == VmState::kRunning || s == VmState::kResetting) {
    stop_reason_ = reason;
    state_.store(VmState::kStopping, std::memory_order_release);
    unmap_all();
  }
}

void Vm::begin_reset() {
  const SpinLockGuard guard(lock, this_cpu().index);
  if (state() == VmState::kRunning) {
    state_.store(VmState::kResetting, std::memory_order_release);
    unmap_all();
  }
}

void Vm::vcpu_entered() { ++active_vcpus_; }  // under `lock` (see run loop)

void Vm::vcpu_left(Vcpu& vcpu) {
  const SpinLockGuard guard(lock, this_cpu().index);
  vcpu.save();
  --active_vcpus_;
  if (active_vcpus_ == 0) {
    if (state() == VmState::kStopping) finish_stop();
    else if (state() == VmState::kResetting) finish_reset();
  }
}

void Vm::finish_stop() {
  state_.store(VmState::kStopped, std::memory_order_release);
  // No physical SPI enabled or left active towards a stopped VM.
  passthrough_stop(*this);
  if (!desc.passthrough.empty()) vgic_vm_reset(*this);
  for (uint32_t i = 0; i < vcpu_count(); ++i) vcpus[i].start_pending.store(false, std::memory_order_relaxed);
  LOG_INFO("vm {}: stopped ({})", name(), stop_reason_ != nullptr ? stop_reason_ : "all vCPUs off");
  if (g_stats_enabled) {
    ExitStats total;
    for (uint32_t i = 0; i < vcpu_count(); ++i) total.add(vcpus[i].stats);
    LOG_INFO("vm {}: stage-2 fault-ins 4K={} 2M={} 1G={}, mmio uart={} test={} gicd={} gicr={}, hvc={} smc={} "
             "sysreg={} wfi={} irq={} vtimer={}, injected aborts={} undefs={}, other={}, resets={}",
             name(), total.fault_in_4k, total.fault_in_2m, total.fault_in_1g, total.mmio_uart, total.mmio_test,
             total.mmio_gic, total.mmio_gicr, total.hvc, total.smc, total.sysreg, total.wfi, total.irq, total.vtimer_irqs, total.aborts_injected,
             total.undefs_injected, total.other, resets);
  }
  guest_console_flush(*this);
  guest_console_vm_stopped(*this);
  note_vm_stopped();
}

void Vm::finish_reset() {
  ++resets;
  LOG_INFO("vm {}: reset (restart {})", name(), resets);
  for (uint32_t i = 0; i < vcpu_count(); ++i) vcpus[i].start_pending.store(false, std::memory_order_relaxed);
  psci.reset();
  vgic_vm_reset(*this);
  // Its devices reset too (no vCPU runs): the UART's line goes down with it.
  uart.reset();
  update_uart_line(*this);
  state_.store(VmState::kRunning, std::memory_order_release);
  if (!load_payload()) {
    stop_reason_ = "its payload could not be reloaded";
    finish_stop();
  }
}

bool Vm::load_payload() {
  if (!copy_payload_to_guest(*this)) return false;
  // Taken after the copy: the boot's virtual time starts as the guest does
  // (scripts/boot-bench adds it back to measure from machine reset).
  cntvoff = arch::read<arch::CntpctEl0>().value();
  vcpus[0].request_start(plan.entry.value(), plan.dtb.value());
  return true;
}

}  // namespace lamina::hyp
