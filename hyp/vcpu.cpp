#include "hyp/vcpu.hpp"

#include "arch/barrier.hpp"
#include "arch/sysreg.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vm.hpp"

extern "C" void fpsimd_load(const lamina::hyp::FpsimdState* state);
extern "C" void fpsimd_save(lamina::hyp::FpsimdState* state);

namespace lamina::hyp {

namespace {

// SCTLR_EL1 at reset: the RES1 bits of the Armv8.0 layout (DDI 0487 K.a
// D23.2 "SCTLR_EL1": bits 29, 28, 23, 22, 20 and 11 are RES1 unless a later
// feature gives them a meaning, and then their reset value is 1 too), MMU,
// caches and alignment checks off.
constexpr uint64_t kSctlrEl1ResetValue = (1ull << 29) | (1ull << 28) | (1ull << 23) | (1ull << 22) |
                                         (1ull << 20) | (1ull << 11);

// MPIDR_EL1 bit 31 is RES1 (DDI 0487 K.a D23.2 "MPIDR_EL1").
constexpr uint64_t kMpidrRes1 = 1ull << 31;

}  // namespace

void Vcpu::init(Vm* vm, uint32_t index, PerCpu* cpu) {
  vm_ = vm;
  regs.vcpu = this;
  index_ = index;
  cpu_ = cpu;
  mpidr_ = index;  // Aff0 = vCPU index: the guest DT's cpu@N reg
}

void Vcpu::reset(uint64_t entry, uint64_t context) {
  regs = GuestRegs{};
  regs.vcpu = this;
  regs.x[0] = context;
  regs.pc = entry;
  regs.pstate = arch::Spsr::from_scratch()
                    .with(arch::Spsr::m, arch::Aarch64Mode::kEl1h)
                    .with(arch::Spsr::d, true)
                    .with(arch::Spsr::a, true)
                    .with(arch::Spsr::i, true)
                    .with(arch::Spsr::f, true)
                    .raw();
  el1 = El1State{};
  el1.sctlr_el1 = kSctlrEl1ResetValue;
  fpsimd = FpsimdState{};
  injected_vector = ~uint64_t{0};
}

void Vcpu::load() {
  const Vm& vm = *vm_;
  arch::write(arch::HcrEl2::from_raw(vm.hcr));
  arch::write(arch::MdcrEl2::from_raw(vm.mdcr));
  arch::write(arch::VtcrEl2::from_raw(vm.vtcr));
  arch::write(vm.stage2.vttbr());
  arch::write(arch::VmpidrEl2(kMpidrRes1 | mpidr_));
  arch::write(arch::CntvoffEl2(vm.cntvoff));
#define LAMINA_LOAD_EL1(name) asm volatile("msr " #name ", %0" ::"r"(el1.name));
  LAMINA_VCPU_EL1_REGS(LAMINA_LOAD_EL1)
#undef LAMINA_LOAD_EL1
  fpsimd_load(&fpsimd);
  arch::isb();
  // The guest's translation regime changed under the same VMID after a
  // reset: drop what the previous run of this VMID left in this CPU's TLB.
  asm volatile("tlbi vmalle1\n\tdsb nsh" ::: "memory");
  arch::isb();
}

void Vcpu::save() {
#define LAMINA_SAVE_EL1(name) asm volatile("mrs %0, " #name : "=r"(el1.name));
  LAMINA_VCPU_EL1_REGS(LAMINA_SAVE_EL1)
#undef LAMINA_SAVE_EL1
  // The guest's physical timer must not fire once its vCPU has stopped
  // (PPI 30 is enabled at EL2 and would wake this CPU's wait for good).
  arch::write(arch::CntpCtlEl0::from_scratch());
  arch::isb();
  fpsimd_save(&fpsimd);
}

void Vcpu::request_start(uint64_t entry, uint64_t context) {
  start_entry = entry;
  start_context = context;
  start_pending.store(true, std::memory_order_release);
  arch::dsb_ishst();
  arch::sev();
}

}  // namespace lamina::hyp
