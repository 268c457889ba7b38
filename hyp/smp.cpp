#include "hyp/smp.hpp"

#include "arch/barrier.hpp"
#include "arch/cache.hpp"
#include "arch/sysreg.hpp"
#include "boot/hyp_mmu.hpp"
#include "boot/secondary_boot.hpp"
#include "hyp/el2_setup.hpp"
#include "hyp/firmware.hpp"
#include "hyp/lib/psci_abi.hpp"
#include "hyp/gic_host.hpp"
#include "hyp/log.hpp"
#include "hyp/percpu.hpp"
#include "hyp/run_loop.hpp"

extern "C" char secondary_entry[];

namespace lamina::hyp {

namespace {

// How long the boot CPU waits for all secondaries, in seconds of counter time.
constexpr uint64_t kOnlineTimeoutSeconds = 5;

const char* method_name(CpuEnableMethod m) {
  switch (m) {
    case CpuEnableMethod::kNone: return "none";
    case CpuEnableMethod::kPsci: return "psci";
    case CpuEnableMethod::kSpinTable: return "spin-table";
  }
  return "?";
}

// Releases a spin-table CPU: it polls its release address (with caches off)
// and jumps to what it finds there. Linux Documentation/arch/arm64/booting.rst,
// "spin-table".
bool release_spin_table(mm::PhysAddr release_addr, uint64_t entry_pa) {
  if (!release_addr.is_aligned(8) ||
      !boot::map_ram({release_addr.align_down(mm::kPageSize), mm::kPageSize}).ok())
    return false;
  auto* slot = mm::to_ptr<volatile uint64_t>(mm::to_va(release_addr));
  *slot = entry_pa;
  arch::clean_dcache_to_poc(release_addr.value(), sizeof(uint64_t));
  arch::dsb_sy();
  arch::sev();
  return true;
}

bool request_start(const Platform& platform, const CpuDesc& desc, size_t index, uint64_t entry_pa) {
  switch (desc.enable_method) {
    case CpuEnableMethod::kPsci: {
      const int64_t status = firmware::psci_call(platform.psci.conduit,
                                                 platform.psci.standard_function_ids
                                                     ? psci::kCpuOn64
                                                     : platform.psci.cpu_on_function_id,
                                                 desc.mpidr, entry_pa, index);
      if (status == static_cast<int64_t>(psci::Status::kSuccess)) return true;
      LOG_ERROR("cpu{} (MPIDR {:x}): PSCI CPU_ON failed: {}", index, desc.mpidr, psci::status_name(status));
      return false;
    }
    case CpuEnableMethod::kSpinTable:
      if (release_spin_table(desc.release_addr, entry_pa)) return true;
      LOG_ERROR("cpu{} (MPIDR {:x}): cannot write its spin-table release address {}", index, desc.mpidr,
                desc.release_addr);
      return false;
    case CpuEnableMethod::kNone: break;
  }
  LOG_ERROR("cpu{} (MPIDR {:x}): no enable-method in the device tree", index, desc.mpidr);
  return false;
}

}  // namespace

SmpResult start_secondary_cpus(const Platform& platform) {
  SmpResult result;
  result.online = 1;
  const uint64_t boot_mpidr = this_cpu().mpidr;
  const uint64_t entry_pa = mm::to_pa(mm::va_of(secondary_entry)).value();
  arch::clean_dcache_to_poc(reinterpret_cast<uint64_t>(&boot::g_mmu_config), sizeof(boot::g_mmu_config));

  size_t next = 1;
  for (size_t i = 0; i < platform.cpu_count; ++i) {
    const CpuDesc& desc = platform.cpus[i];
    if (desc.mpidr == boot_mpidr) continue;
    if (next >= kMaxCpus) {
      LOG_WARN("MPIDR {:x}: not started: lamina is built for at most {} CPUs (LAMINA_MAX_CPUS)", desc.mpidr,
               kMaxCpus);
      ++result.skipped;
      continue;
    }
    const size_t index = next++;
    PerCpu& cpu = g_percpu[index];
    cpu.index = static_cast<uint32_t>(index);
    cpu.mpidr = desc.mpidr;
    assign_stacks(cpu, index);
    cpu.state.store(CpuState::kStarting, std::memory_order_release);

    boot::SecondaryBoot& slot = boot::g_secondary_boot[index];
    slot.mpidr = desc.mpidr;
    slot.percpu = &cpu;
    slot.stack_top = cpu.stack_top;
    // The CPU reads its slot with the MMU off: push it out to memory.
    arch::clean_dcache_to_poc(reinterpret_cast<uint64_t>(&slot), sizeof(slot));

    LOG_DEBUG("cpu{}: starting MPIDR {:x} via {}", index, desc.mpidr, method_name(desc.enable_method));
    if (!request_start(platform, desc, index, entry_pa)) cpu.state.store(CpuState::kFailed);
  }

  // Wait for every started CPU to report, sleeping in WFE between checks:
  // secondaries SEV when online, and the counter's event stream
  // (CNTHCTL_EL2.EVNTEN) wakes us for the timeout.
  const uint64_t hz = arch::read<arch::CntfrqEl0>().value();
  const uint64_t deadline = arch::read<arch::CntpctEl0>().value() + kOnlineTimeoutSeconds * hz;
  for (;;) {
    bool pending = false;
    for (size_t i = 1; i < next; ++i)
      pending |= g_percpu[i].state.load(std::memory_order_acquire) == CpuState::kStarting;
    if (!pending || arch::read<arch::CntpctEl0>().value() > deadline) break;
    arch::wfe();
  }

  for (size_t i = 1; i < next; ++i) {
    PerCpu& cpu = g_percpu[i];
    const CpuState state = cpu.state.load(std::memory_order_acquire);
    if (state == CpuState::kOnline) {
      ++result.online;
      LOG_INFO("cpu{} (MPIDR {:x}): online", i, cpu.mpidr);
    } else {
      ++result.failed;
      if (state == CpuState::kStarting)
        LOG_ERROR("cpu{} (MPIDR {:x}): did not come online within {} s", i, cpu.mpidr, kOnlineTimeoutSeconds);
    }
  }
  return result;
}

// Entered from boot/entry.S with the MMU on, on this CPU's own stack.
extern "C" [[noreturn]] void secondary_main(PerCpu* cpu) {
  cpu->features = CpuFeatures::from_id_registers(
      arch::read<arch::IdAa64Mmfr0>(), arch::read<arch::IdAa64Mmfr1>(), arch::read<arch::IdAa64Mmfr2>(),
      arch::read<arch::IdAa64Pfr0>(), arch::read<arch::CtrEl0>());
  setup_el2_cpu_state(cpu->features);
  if (gic_host_ready()) (void)init_gic_cpu(arch::read<arch::MpidrEl1>().raw());
  cpu->state.store(CpuState::kOnline, std::memory_order_release);
  arch::dsb_ishst();
  arch::sev();
  run_cpu(*cpu);
}

}  // namespace lamina::hyp
