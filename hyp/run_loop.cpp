#include "hyp/run_loop.hpp"

#include <atomic>

#include "arch/barrier.hpp"
#include "hyp/exit.hpp"
#include "hyp/log.hpp"
#include "hyp/vm.hpp"

extern "C" uint64_t guest_enter(lamina::hyp::GuestRegs* regs);

namespace lamina::hyp {

namespace {

std::atomic<bool> g_assignment_done{false};

// Takes vCPU `v`'s start request if its VM still wants it: resets the vCPU
// to the requested entry and counts it as running. Under the VM lock, so a
// stop or reset of the VM cannot cross it.
bool take_start_request(Vcpu& v) {
  Vm& vm = v.vm();
  const bool locked = vm.lock.lock(this_cpu().index);
  bool start = false;
  if (v.start_pending.exchange(false, std::memory_order_acq_rel)) {
    if (vm.state() == VmState::kRunning) {
      v.reset(v.start_entry, v.start_context);
      if (v.index() != 0 || vm.psci.state(0) == PsciPowerState::kOnPending) (void)vm.psci.vcpu_started(v.index());
      vm.vcpu_entered();
      start = true;
    } else {
      (void)vm.psci.cancel_start(v.index());
    }
  }
  if (locked) vm.lock.unlock();
  return start;
}

void run_vcpu(Vcpu& v) {
  v.load();
  this_cpu().guest_regs = &v.regs;
  for (;;) {
    const uint64_t vector = guest_enter(&v.regs);
    if (handle_exit(v, vector) == ExitAction::kLeave) break;
    if (v.vm().state() != VmState::kRunning) break;
  }
  this_cpu().guest_regs = nullptr;
  v.vm().vcpu_left(v);
}

}  // namespace

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
    run_vcpu(*v);
  }
}

}  // namespace lamina::hyp
