#include "hyp/run_loop.hpp"

#include <atomic>

#include "arch/barrier.hpp"
#include "hyp/exit.hpp"
#include "hyp/log.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"

extern "C" void guest_run(lamina::hyp::GuestRegs* regs);

namespace lamina::hyp {

namespace {

std::atomic<bool> g_assignment_done{false};

// Takes vCPU `v`'s start request if its VM still wants it: resets the vCPU
// to the requested entry and counts it as running. Under the VM lock, so a
// stop or reset of the VM cannot cross it.
bool take_start_request(Vcpu& v) {
  Vm& vm = v.vm();
  const SpinLockGuard guard(vm.lock, this_cpu().index);
  if (!v.start_pending.exchange(false, std::memory_order_acq_rel)) return false;
  if (vm.state() != VmState::kRunning) {
    (void)vm.psci.cancel_start(v.index());
    return false;
  }
  v.reset(v.start_entry, v.start_context);
  if (v.index() != 0 || vm.psci.state(0) == PsciPowerState::kOnPending) (void)vm.psci.vcpu_started(v.index());
  vm.vcpu_entered();
  return true;
}

void run_vcpu(PerCpu& cpu, Vcpu& v) {
  v.load();
  vgic_vcpu_start(v);
  log_guest_entry(v);
  guest_run(&v.regs);  // until an exit says leave
  vgic_vcpu_stop(v);
  cpu.guest_regs = nullptr;
  v.vm().vcpu_left(v);
}

}  // namespace

// Called by hyp/guest_entry.S for every exit, with the guest's registers
// saved: non-zero makes guest_run() return. A VM that stops or resets
// needs no check here: it unmapped its stage 2 first, so each of its vCPUs
// comes back through a stage-2 fault (or its WFI wait), which leaves.
extern "C" uint64_t lamina_guest_exit(uint64_t vector) {
  Vcpu& v = *this_cpu().vcpu.load(std::memory_order_relaxed);
  // A handler that uses the vGIC folds the list registers into it first
  // (vgic_sync_from_guest); then they are loaded again before the guest
  // resumes. Exits that never touch it leave them as they are, like the
  // fast lanes do.
  if (handle_exit(v, vector) == ExitAction::kLeave) return 1;
  if (v.vgic_dirty) vgic_flush_to_guest(v);
  return 0;
}

void publish_vcpu_assignment() {
  g_assignment_done.store(true, std::memory_order_release);
  arch::dsb_ishst();
  arch::sev();
}

void run_cpu(PerCpu& cpu) {
  for (;;) {
    Vcpu* v = cpu.vcpu.load(std::memory_order_acquire);
    if (v == nullptr) {
      // Every vCPU was published before the assignment was marked done:
      // once it is, a second look at this CPU's slot is final.
      if (g_assignment_done.load(std::memory_order_acquire) &&
          cpu.vcpu.load(std::memory_order_acquire) == nullptr) {
        for (;;) arch::wfi();  // no vCPU will ever run here
      }
      arch::wfe();
      continue;
    }
    if (!v->start_pending.load(std::memory_order_acquire) || !take_start_request(*v)) {
      arch::wfe();
      continue;
    }
    run_vcpu(cpu, *v);
  }
}

}  // namespace lamina::hyp
