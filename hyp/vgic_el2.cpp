#include "hyp/vgic_el2.hpp"

#include <array>
#include <span>

#include "arch/barrier.hpp"
#include "arch/mmio.hpp"
#include "arch/regs/gich.hpp"
#include "hyp/gic_host.hpp"
#include "hyp/guest_console.hpp"
#include "hyp/log.hpp"
#include "hyp/passthrough.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vgic/cpu_interface.hpp"
#include "hyp/vgic/list_registers.hpp"
#include "hyp/vm.hpp"

namespace lamina::hyp {

namespace {

using vgic::kMaxListRegisters;

uint64_t read_lr(uint32_t n) {
  uint64_t v = 0;
#define LAMINA_LR_READ(i, name) \
  case i: asm volatile("mrs %0, " name : "=r"(v)); break;
  switch (n) {
    LAMINA_LR_READ(0, "ich_lr0_el2")
    LAMINA_LR_READ(1, "ich_lr1_el2")
    LAMINA_LR_READ(2, "ich_lr2_el2")
    LAMINA_LR_READ(3, "ich_lr3_el2")
    LAMINA_LR_READ(4, "ich_lr4_el2")
    LAMINA_LR_READ(5, "ich_lr5_el2")
    LAMINA_LR_READ(6, "ich_lr6_el2")
    LAMINA_LR_READ(7, "ich_lr7_el2")
    LAMINA_LR_READ(8, "ich_lr8_el2")
    LAMINA_LR_READ(9, "ich_lr9_el2")
    LAMINA_LR_READ(10, "ich_lr10_el2")
    LAMINA_LR_READ(11, "ich_lr11_el2")
    LAMINA_LR_READ(12, "ich_lr12_el2")
    LAMINA_LR_READ(13, "ich_lr13_el2")
    LAMINA_LR_READ(14, "ich_lr14_el2")
    LAMINA_LR_READ(15, "ich_lr15_el2")
    default: break;
  }
#undef LAMINA_LR_READ
  return v;
}

void write_lr(uint32_t n, uint64_t v) {
#define LAMINA_LR_WRITE(i, name) \
  case i: asm volatile("msr " name ", %0" ::"r"(v)); break;
  switch (n) {
    LAMINA_LR_WRITE(0, "ich_lr0_el2")
    LAMINA_LR_WRITE(1, "ich_lr1_el2")
    LAMINA_LR_WRITE(2, "ich_lr2_el2")
    LAMINA_LR_WRITE(3, "ich_lr3_el2")
    LAMINA_LR_WRITE(4, "ich_lr4_el2")
    LAMINA_LR_WRITE(5, "ich_lr5_el2")
    LAMINA_LR_WRITE(6, "ich_lr6_el2")
    LAMINA_LR_WRITE(7, "ich_lr7_el2")
    LAMINA_LR_WRITE(8, "ich_lr8_el2")
    LAMINA_LR_WRITE(9, "ich_lr9_el2")
    LAMINA_LR_WRITE(10, "ich_lr10_el2")
    LAMINA_LR_WRITE(11, "ich_lr11_el2")
    LAMINA_LR_WRITE(12, "ich_lr12_el2")
    LAMINA_LR_WRITE(13, "ich_lr13_el2")
    LAMINA_LR_WRITE(14, "ich_lr14_el2")
    LAMINA_LR_WRITE(15, "ich_lr15_el2")
    default: break;
  }
#undef LAMINA_LR_WRITE
}

uint32_t list_register_count() {
  uint64_t vtr;
  asm volatile("mrs %0, ich_vtr_el2" : "=r"(vtr));
  return vgic::list_register_count(arch::IchVtrEl2::from_raw(vtr));
}

arch::IchVmcrEl2 read_vmcr() {
  uint64_t v;
  asm volatile("mrs %0, ich_vmcr_el2" : "=r"(v));
  return arch::IchVmcrEl2::from_raw(v);
}

void write_ich_hcr(arch::IchHcrEl2 hcr) { asm volatile("msr ich_hcr_el2, %0" ::"r"(hcr.raw())); }

// GICv2 hosts: the same through this CPU's GICH frame (IHI 0048B 5.3 "GIC
// virtual interface control registers"; every CPU sees its own interface at
// the same address). Set by vgic_create on the boot CPU, before any vCPU is
// published to its CPU.
uint64_t g_gich = 0;
uint32_t g_gich_lrs = 0;

uint32_t gich_read(uint64_t offset) { return arch::mmio_read32(g_gich + offset); }
void gich_write(uint64_t offset, uint32_t value) { arch::mmio_write32(g_gich + offset, value); }
uint64_t gich_lr(uint32_t n) { return arch::gic::gich::kLr0 + 4 * uint64_t{n}; }
void gich_clear_lrs() {
  for (uint32_t i = 0; i < g_gich_lrs; ++i) gich_write(gich_lr(i), 0);
}

[[nodiscard]] bool is_v2(const Vm& vm) { return vm.vgic.model() == vgic::GicModel::kV2; }

// The vGIC lock of `vm`, held for one scope.
class VgicLock : public SpinLockGuard {
 public:
  explicit VgicLock(Vm& vm) : SpinLockGuard(vm.vgic_lock, this_cpu().index) {}
};

// The SGI exits a running vCPU and wakes a WFI wait; the SEV wakes a wait
// in WFE (see vgic_wfi_wait()).
void kick_cpu_of(Vcpu& target) {
  gic_send_sgi(target.cpu().mpidr, kKickSgi);
  arch::sev();
}

// ICC_DIR_EL1 for the PPIs other CPUs left owed to `vcpu` (on its CPU).
void apply_owed_deactivations(Vcpu& vcpu) {
  uint32_t owed = vcpu.owed_ppi_deactivations.exchange(0, std::memory_order_acq_rel);
  while (owed != 0) {
    const auto intid = static_cast<uint32_t>(__builtin_ctz(owed));
    owed &= owed - 1;
    gic_deactivate(intid);
  }
}

// Deactivations the model queued (under the lock, into `out`); returns how
// many.
size_t take_deactivations(Vm& vm, std::span<vgic::HwDeactivation> out) { return vm.vgic.take_hw_deactivations(out); }

void deliver_deactivations(Vcpu& self, std::span<const vgic::HwDeactivation> list) {
  Vm& vm = self.vm();
  for (const vgic::HwDeactivation& d : list) {
    if (d.vcpu == vgic::kNoVcpu || d.vcpu == self.index()) {
      gic_deactivate(d.pintid);
    } else if (d.vcpu < vm.vcpu_count() && d.pintid < 32) {
      Vcpu& owner = vm.vcpu(d.vcpu);
      owner.owed_ppi_deactivations.fetch_or(1u << d.pintid, std::memory_order_acq_rel);
      kick_cpu_of(owner);
    }
  }
}

// Kicks the CPU of each vCPU of `vm` in `kicks` (bit k = vCPU k).
void kick_vcpus(Vm& vm, uint32_t kicks) {
  while (kicks != 0) {
    const auto k = static_cast<uint32_t>(__builtin_ctz(kicks));
    kicks &= kicks - 1;
    if (k < vm.vcpu_count()) kick_cpu_of(vm.vcpu(k));
  }
}

// A vCPU about to resume needs no kick of its own: it loads now.
void deliver_kicks(Vcpu& self, uint32_t kicks) { kick_vcpus(self.vm(), kicks & ~(1u << self.index())); }

// SPI `intid`'s line in `vm`'s vGIC, then the kicks it caused. `self`: the
// vCPU of `vm` this CPU runs, which folds and loads before it resumes
// anyway (no SGI to itself); null from elsewhere.
bool set_spi_line(Vm& vm, uint32_t intid, bool level, Vcpu* self) {
  if (!vm.has_vgic) return false;
  uint32_t kicks = 0;
  {
    VgicLock lock(vm);
    if (!vm.vgic.set_line(0, intid, level)) return false;
    kicks = vm.vgic.take_kicks();
  }
  if (self != nullptr) deliver_kicks(*self, kicks);
  else kick_vcpus(vm, kicks);
  return true;
}

}  // namespace

bool vgic_create(Vm& vm) {
  const bool v2 = gic_host_version() == GicVersion::kV2;
  if (v2 && vm.vcpu_count() > vgic::kMaxVcpus) {
    LOG_ERROR("vm {}: {} vCPUs, but a virtual GICv2 serves at most {} (GICD_ITARGETSR has a bit per CPU "
              "interface): give it fewer vCPUs, or run lamina on a GICv3 host",
              vm.name(), vm.vcpu_count(), vgic::kMaxVcpus);
    return false;
  }
  if (v2 && g_gich == 0) {
    g_gich = gic_host_desc().hyp_interface.base.value();
    g_gich_lrs = vgic::list_register_count(arch::GichVtr::from_raw(gich_read(arch::gic::gich::kVtr)));
  }
  vgic::VgicConfig config;
  config.model = v2 ? vgic::GicModel::kV2 : vgic::GicModel::kV3;
  config.vcpu_count = vm.vcpu_count();
  // vCPU n has MPIDR Aff0 = n (Vcpu::init, the guest DT's cpu@n).
  for (uint32_t i = 0; i < vm.vcpu_count(); ++i) config.mpidr[i] = i;
  config.spi_count = kGuestSpis;
  if (auto r = vm.vgic.init(config); !r.ok()) {
    LOG_ERROR("vm {}: cannot configure its virtual GIC ({} vCPUs)", vm.name(), vm.vcpu_count());
    return false;
  }
  for (uint32_t i = 0; i < vm.vcpu_count(); ++i) {
    (void)vm.vgic.map_hw(i, kVtimerPpi, kVtimerPpi);
    (void)vm.vgic.map_hw(i, kPtimerPpi, kPtimerPpi);
  }
  if (v2) {
    vm.gicd_v2.attach(&vm.vgic);
  } else {
    vm.gicd.attach(&vm.vgic);
    vm.gicr.attach(&vm.vgic);
  }
  vm.has_vgic = true;
  return true;
}

void vgic_vcpu_start(Vcpu& vcpu) {
  if (!vcpu.vm().has_vgic) return;
  if (is_v2(vcpu.vm())) {
    gich_write(arch::gic::gich::kVmcr, 0);
    gich_write(arch::gic::gich::kApr, 0);
    gich_clear_lrs();
    vgic_flush_to_guest(vcpu);
    return;
  }
  asm volatile("msr ich_vmcr_el2, xzr\n\tmsr ich_ap0r0_el2, xzr\n\tmsr ich_ap1r0_el2, xzr");
  const uint32_t n = list_register_count();
  for (uint32_t i = 0; i < n; ++i) write_lr(i, 0);
  vgic_flush_to_guest(vcpu);
}

void vgic_vcpu_stop(Vcpu& vcpu) {
  if (!vcpu.vm().has_vgic) return;
  vgic_sync_from_guest(vcpu);
  if (is_v2(vcpu.vm())) {
    gich_clear_lrs();
    gich_write(arch::gic::gich::kHcr, 0);
    arch::dsb_sy();
    gic_hw_forwarding_watch(false);
  } else {
    const uint32_t n = list_register_count();
    for (uint32_t i = 0; i < n; ++i) write_lr(i, 0);
    write_ich_hcr(arch::IchHcrEl2::from_raw(0));
    arch::isb();
  }
  if (vcpu.maintenance_active) {
    gic_deactivate(gic_maintenance_intid());
    vcpu.maintenance_active = false;
  }
}

void vgic_sync_from_guest(Vcpu& vcpu) {
  Vm& vm = vcpu.vm();
  if (!vm.has_vgic) return;
  vcpu.vgic_dirty = true;
  // Only this CPU loads and folds this vCPU's list registers (and reset()
  // runs while no vCPU is in), so its count needs no lock.
  if (vm.vgic.loaded_count(vcpu.index()) == 0) return;
  std::array<vgic::VirqState, kMaxListRegisters> states{};
  VgicLock lock(vm);
  const uint32_t n = vm.vgic.loaded_count(vcpu.index());
  if (is_v2(vm)) {
    bool hw_deactivated = false;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t lr = gich_read(gich_lr(i));
      states[i] = vgic::gich_lr_state(lr);
      hw_deactivated = hw_deactivated || vgic::gich_lr_hw_deactivated(lr);
    }
    if (hw_deactivated) gic_resample_after_hw_deactivation();
  } else {
    for (uint32_t i = 0; i < n; ++i) states[i] = vgic::ich_lr_state(read_lr(i));
  }
  vm.vgic.fold_list_registers(vcpu.index(), std::span<const vgic::VirqState>(states.data(), n));
}

void vgic_flush_to_guest(Vcpu& vcpu) {
  Vm& vm = vcpu.vm();
  if (!vm.has_vgic) return;
  vcpu.vgic_dirty = false;
  apply_owed_deactivations(vcpu);
  const bool v2 = is_v2(vm);
  const uint32_t lrs = v2 ? g_gich_lrs : list_register_count();
  std::array<vgic::Virq, kMaxListRegisters> virqs{};
  std::array<vgic::HwDeactivation, 8> deactivations{};
  size_t deactivation_count = 0;
  vgic::LoadResult load;
  uint32_t kicks = 0;
  {
    VgicLock lock(vm);
    load = vm.vgic.load_list_registers(vcpu.index(), std::span<vgic::Virq>(virqs.data(), lrs));
    kicks = vm.vgic.take_kicks();
    deactivation_count = take_deactivations(vm, deactivations);
  }
  if (v2) {
    bool hw_loaded = false;
    for (uint32_t i = 0; i < lrs; ++i) {
      gich_write(gich_lr(i), i < load.loaded ? vgic::encode_gich_lr(virqs[i]) : 0);
      hw_loaded = hw_loaded || (i < load.loaded && virqs[i].hw);
    }
    gic_hw_forwarding_watch(hw_loaded);
    gich_write(arch::gic::gich::kHcr,
               static_cast<uint32_t>(
                   vgic::gich_hcr_for_entry(arch::GichHcr::from_raw(0).with(arch::GichHcr::en, true), load).raw()));
  } else {
    for (uint32_t i = 0; i < lrs; ++i) write_lr(i, i < load.loaded ? vgic::encode_ich_lr(virqs[i]) : 0);
    write_ich_hcr(vgic::ich_hcr_for_entry(arch::IchHcrEl2::from_raw(0).with(arch::IchHcrEl2::en, true), load));
  }
  if (vcpu.maintenance_active) {
    // The new list registers and ICH_HCR_EL2 / GICH_HCR decide the
    // maintenance condition from here on (the writes take effect first: ISB
    // for the system registers, DSB for the GICH frame, a different
    // peripheral from the GICC frame the deactivation goes to).
    if (v2) arch::dsb_sy();
    else arch::isb();
    gic_deactivate(gic_maintenance_intid());
    vcpu.maintenance_active = false;
  }
  deliver_kicks(vcpu, kicks);
  deliver_deactivations(vcpu, std::span<const vgic::HwDeactivation>(deactivations.data(), deactivation_count));
  // More deactivations than one batch: the rest on the next entry (a kick
  // to ourselves brings it soon).
  if (deactivation_count == deactivations.size()) kick_cpu_of(vcpu);
}

void vgic_handle_irqs(Vcpu& vcpu) {
  Vm& vm = vcpu.vm();
  // A kick or a maintenance interrupt asks for exactly this: fold, and
  // load again before resuming.
  vgic_sync_from_guest(vcpu);
  for (;;) {
    const uint32_t intid = gic_acknowledge();
    if (intid >= arch::gic::kFirstSpecialIntid) break;
    if ((intid == kVtimerPpi || intid == kPtimerPpi) && vm.has_vgic) {
      // EOImode 1: drop the priority, leave it active; the guest's
      // deactivation of virtual PPI 27 / 30 (HW bit) deactivates it.
      gic_priority_drop(intid);
      if (intid == kVtimerPpi) ++vcpu.stats.vtimer_irqs;
      VgicLock lock(vm);
      (void)vm.vgic.set_line(vcpu.index(), intid, true);
      continue;
    }
    if (Vm* owner = passthrough_owner(intid); owner != nullptr) {
      // A passthrough device's SPI (hyp/passthrough.hpp): like the timer,
      // left active for the guest's deactivation through the HW bit. Routed
      // to this vCPU's CPU, so normally this VM's. The guest may have routed
      // the virtual SPI to another vCPU: kick it now (this CPU may be about
      // to wait in vgic_wfi_wait, and would deliver kicks only at its next
      // load); this vCPU itself folds and loads anyway.
      gic_priority_drop(intid);
      (void)set_spi_line(*owner, intid, true, owner == &vm ? &vcpu : nullptr);
      continue;
    }
    if (intid == gic_maintenance_intid()) {
      // Level-sensitive, and asserted until the list registers and
      // ICH_HCR_EL2 / GICH_HCR change: deactivated only after the next load
      // (vgic_flush_to_guest), or it would be pending again at once.
      gic_priority_drop(intid);
      vcpu.maintenance_active = true;
      continue;
    }
    // The GICv2 HW-forwarding watch (gic_hw_forwarding_watch) expired: the
    // fold around this exit was its purpose; disarmed before deactivation,
    // or its level would be pending again at once.
    if (intid == kHypTimerPpi) gic_hw_forwarding_watch(false);
    (void)guest_console_irq(vcpu, intid);  // the console's receive interrupt (hyp/guest_console.hpp)
    gic_priority_drop(intid);
    gic_deactivate(intid);
  }
}

ExitAction vgic_wfi_wait(Vcpu& vcpu) {
  Vm& vm = vcpu.vm();
  vgic_sync_from_guest(vcpu);
  for (;;) {
    vgic_handle_irqs(vcpu);
    apply_owed_deactivations(vcpu);
    if (vtimer_interrupt_asserted() || ptimer_interrupt_asserted()) return ExitAction::kResume;
    std::optional<uint8_t> best;
    {
      VgicLock lock(vm);
      best = vm.vgic.highest_pending_priority(vcpu.index());
    }
    const bool wakes = is_v2(vm) ? vgic::wfi_wakes(best, arch::GichVmcr::from_raw(gich_read(arch::gic::gich::kVmcr)))
                                 : vgic::wfi_wakes(best, read_vmcr());
    if (wakes) return ExitAction::kResume;
    if (vm.state() != VmState::kRunning) return ExitAction::kLeave;
    // WFI, not WFE: a physical interrupt (the timer, a kick) wakes WFI even
    // with PSTATE.I masked; WFE it would not. But while the forwarded timer
    // PPI is still owed to the guest (physically active), the timer cannot
    // interrupt: then WFE, bounded by the counter's event stream, keeps the
    // timer-condition wake-up above working (kicks also SEV).
    bool timer_owed;
    {
      VgicLock lock(vm);
      timer_owed = vm.vgic.hw_owed(vcpu.index(), kVtimerPpi) || vm.vgic.hw_owed(vcpu.index(), kPtimerPpi);
    }
    if (timer_owed) arch::wfe();
    else arch::wfi();
  }
}

bool vgic_trapped_sgi(Vcpu& vcpu, const arch::SysRegAccess& access, uint64_t value) {
  Vm& vm = vcpu.vm();
  // GICv2 has no SGI system registers: the guest's write is UNDEFINED
  // (the caller's default), its SGIs go through GICD_SGIR.
  if (!vm.has_vgic || access.is_read() || is_v2(vm)) return false;
  const auto reg = vgic::sgi_register_for(access.op0(), access.op1(), access.crn(), access.crm(), access.op2());
  if (!reg.has_value()) return false;
  vgic_sync_from_guest(vcpu);
  VgicLock lock(vm);
  vm.vgic.send_sgi_v3(vcpu.index(), arch::IccSgi1rEl1::from_raw(value), *reg);
  return true;
}

bool vgic_set_spi_level(Vm& vm, uint32_t intid, bool level) { return set_spi_line(vm, intid, level, nullptr); }

void vgic_vm_reset(Vm& vm) {
  if (!vm.has_vgic) return;
  std::array<vgic::HwDeactivation, 8> batch{};
  VgicLock lock(vm);
  vm.vgic.reset();
  if (!is_v2(vm)) vm.gicr.reset();
  (void)vm.vgic.take_kicks();  // every vCPU is out; each loads afresh at its start
  for (;;) {
    const size_t n = vm.vgic.take_hw_deactivations(batch);
    for (size_t i = 0; i < n; ++i) {
      const vgic::HwDeactivation& d = batch[i];
      if (d.vcpu < vm.vcpu_count() && d.pintid < 32)
        vm.vcpu(d.vcpu).owed_ppi_deactivations.fetch_or(1u << d.pintid, std::memory_order_acq_rel);
      else gic_deactivate(d.pintid);
    }
    if (n < batch.size()) break;
  }
}

void vgic_kick_all(Vm& vm) {
  if (!vm.has_vgic) return;
  for (uint32_t i = 0; i < vm.vcpu_count(); ++i) kick_cpu_of(vm.vcpu(i));
}

}  // namespace lamina::hyp
