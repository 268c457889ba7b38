// The hypervisor proper, on the boot CPU, once boot/boot.cpp has the MMU on:
// EL2 state, console, platform discovery, the VM descriptions, memory, the
// other CPUs, the VMs; then this CPU runs its vCPU like every other CPU.
// With no VM to run, it powers the machine off.
#include <cstdint>

#include "arch/barrier.hpp"
#include "arch/sysreg.hpp"
#include "boot/hyp_mmu.hpp"
#include "boot/image_layout.hpp"
#include "hyp/console.hpp"
#include "hyp/guest_console.hpp"
#include "hyp/crash.hpp"
#include "hyp/el2_setup.hpp"
#include "hyp/firmware.hpp"
#include "hyp/lib/boot_options.hpp"
#include "hyp/gic_host.hpp"
#include "hyp/log.hpp"
#include "hyp/memory.hpp"
#include "hyp/panic.hpp"
#include "hyp/percpu.hpp"
#include "hyp/platform/platform.hpp"
#include "hyp/power.hpp"
#include "hyp/run_loop.hpp"
#include "hyp/selftest_stage2.hpp"
#include "hyp/smp.hpp"
#include "hyp/vm.hpp"
#include "hyp/vm/vm_description.hpp"
#include "hyp/vm_boot.hpp"

#ifndef LAMINA_VERSION
#define LAMINA_VERSION "unknown"
#endif

namespace lamina::hyp {

[[noreturn]] void hyp_main(mm::PhysAddr dtb);

namespace {

Platform g_platform;
VmDescriptions g_vm_descriptions;

// Proves that boot/boot.cpp ran the C++ static initialisers (and relocated
// .init_array): hyp_main checks the constructor's mark.
struct StaticInitProbe {
  static constexpr uint64_t kMark = 0x1a31a57a71c1417ull;
  StaticInitProbe() : mark(kMark) {}
  volatile uint64_t mark;
};
StaticInitProbe g_static_init_probe;

// The PSCI conduit to power off with when the DT cannot say which (an
// unusable DTB): the build's choice, SMC for QEMU virt by default.
PsciConduit fallback_conduit() {
  return LAMINA_FALLBACK_PSCI == 1 ? PsciConduit::kSmc
                                   : (LAMINA_FALLBACK_PSCI == 2 ? PsciConduit::kHvc : PsciConduit::kNone);
}

[[noreturn]] void stop_boot(const void* blob) {
  LOG_ERROR("lamina cannot continue: powering off");
  auto psci = find_psci(blob);
  firmware::power_off(psci.ok() ? psci.value().conduit : fallback_conduit());
}

void report_dt_error(const DtError& error) {
  char message[2 * kMaxDtPath + 128];
  describe_dt_error(error, message, sizeof(message));
  LOG_ERROR("{}", message);
}

// Console first: every later problem must be reportable.
void attach_console(const void* blob) {
  // On the fallback, the reason follows from platform discovery, which
  // fails the same way.
  if (console::attach_from_device_tree(blob) == console::ConsoleSource::kFallback)
    LOG_WARN("no usable console in the device tree; using the build's fallback UART {}",
             mm::PhysAddr(LAMINA_FALLBACK_UART));
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }

void log_cpu_features(const CpuFeatures& f) {
  const arch::MidrEl1 midr = arch::read<arch::MidrEl1>();
  LOG_INFO("CPU: MIDR {:08x} (implementer {:x}, part {:x}), PARange {} bits, VMID {} bits", midr.raw(),
           midr.get(arch::MidrEl1::implementer), midr.get(arch::MidrEl1::partnum), f.pa_bits, f.vmid_bits);
  LOG_INFO("CPU: VHE {}, stage-2 FWB {}, GIC system registers {}, CnP {}, XNX {}, SVE {}", yes_no(f.vhe),
           yes_no(f.s2fwb), yes_no(f.gic_sysreg), yes_no(f.cnp), yes_no(f.xnx), yes_no(f.sve));
  LOG_INFO("CPU: D-cache line {} B, I-cache line {} B, IDC {}, DIC {}, counter {} Hz", f.dcache_line, f.icache_line,
           yes_no(f.idc), yes_no(f.dic), arch::read<arch::CntfrqEl0>().value());
}

const char* gic_name(GicVersion v) {
  switch (v) {
    case GicVersion::kV2: return "GICv2";
    case GicVersion::kV3: return "GICv3";
    case GicVersion::kNone: break;
  }
  return "none";
}

const char* conduit_name(PsciConduit c) {
  switch (c) {
    case PsciConduit::kSmc: return "smc";
    case PsciConduit::kHvc: return "hvc";
    case PsciConduit::kNone: break;
  }
  return "none";
}

// The vGIC forwards the EL1 timers' PPIs and lamina's GICv2 HW watch uses
// the EL2 physical timer's, at the INTIDs Arm's BSA gives them (virtual 27,
// non-secure physical 30, EL2 physical 26: QEMU virt, the Pi 4). A host DT
// whose timer says otherwise gets no vGIC, with the reason.
bool timer_ppis_as_expected(const TimerDesc& timer) {
  if (!timer.present) return true;
  if (timer.virt_intid == kVtimerPpi && timer.nonsecure_phys_intid == kPtimerPpi &&
      timer.hyp_phys_intid == kHypTimerPpi)
    return true;
  LOG_WARN("timer: INTIDs virt {}, phys {}, hyp {} in the device tree; lamina's vGIC needs {}, {}, {}: VMs get no "
           "virtual GIC",
           timer.virt_intid, timer.nonsecure_phys_intid, timer.hyp_phys_intid, kVtimerPpi, kPtimerPpi, kHypTimerPpi);
  return false;
}

void log_platform(const Platform& p) {
  if (p.model[0] != '\0') LOG_INFO("machine: {}", p.model);
  LOG_INFO("device tree: {}", p.dtb);
  for (size_t i = 0; i < p.memory_count; ++i)
    LOG_INFO("RAM bank {}: {} ({} MiB)", i, p.memory[i], p.memory[i].size >> 20);
  for (size_t i = 0; i < p.reserved_count; ++i)
    LOG_INFO("reserved: {}{}", p.reserved[i].range,
             p.reserved[i].from_memreserve ? " (memreserve)" : (p.reserved[i].no_map ? " (no-map)" : ""));
  const GicDesc& g = p.gic;
  LOG_INFO("GIC: {}, GICD {}", gic_name(g.version), g.distributor.base);
  if (g.version == GicVersion::kV2) LOG_INFO("GIC: GICC {}", g.cpu_interface.base);
  for (size_t i = 0; i < g.redistributor_region_count; ++i) LOG_INFO("GIC: GICR {}", g.redistributors[i]);
  if (g.hyp_interface.size != 0) LOG_INFO("GIC: GICH {}, GICV {}", g.hyp_interface.base, g.vcpu_interface.base);
  if (g.has_maintenance_interrupt) LOG_INFO("GIC: maintenance interrupt INTID {}", g.maintenance_intid);
  LOG_INFO("UART: PL011 at {} ({})", p.uart.regs.base, p.uart.path);
  if (p.psci.conduit == PsciConduit::kNone) LOG_INFO("PSCI: none");
  else LOG_INFO("PSCI: conduit {}{}", conduit_name(p.psci.conduit), p.psci.standard_function_ids ? "" : " (PSCI 0.1 IDs)");
  LOG_INFO("timer: INTIDs secure phys {}, phys {}, virt {}, hyp {}", p.timer.secure_phys_intid,
           p.timer.nonsecure_phys_intid, p.timer.virt_intid, p.timer.hyp_phys_intid);
}

// Map the GIC's frames now, so later code finds them mapped.
bool map_gic(const GicDesc& g) {
  bool ok = boot::map_device(g.distributor).ok();
  if (g.cpu_interface.size != 0) ok = ok && boot::map_device(g.cpu_interface).ok();
  if (g.hyp_interface.size != 0) ok = ok && boot::map_device(g.hyp_interface).ok();
  if (g.vcpu_interface.size != 0) ok = ok && boot::map_device(g.vcpu_interface).ok();
  for (size_t i = 0; i < g.redistributor_region_count; ++i) ok = ok && boot::map_device(g.redistributors[i]).ok();
  return ok;
}

// Recurses until the stack runs into its guard page. (The depth bound is
// far beyond any stack; it only keeps the compiler from calling this an
// infinite recursion.)
[[gnu::noinline]] uint64_t overflow_stack(uint64_t depth) {
  volatile uint8_t frame[512];
  frame[0] = static_cast<uint8_t>(depth);
  if (depth > (uint64_t{1} << 40)) return frame[0];
  return overflow_stack(depth + 1) + frame[0];
}

// bootargs "lamina.selftest=...": crash on purpose, to prove the crash
// report and the W^X map (tests/boot).
[[noreturn]] void run_self_test(SelfTest test) {
  LOG_INFO("self-test: crashing on purpose");
  switch (test) {
    case SelfTest::kBrk: asm volatile("brk #0x1a1" ::: "memory"); break;
    case SelfTest::kWriteText: {
      // Text is mapped read-only: this store must take a permission fault.
      auto* text = reinterpret_cast<volatile uint32_t*>(&hyp_main);
      *text = 0xd503201f;  // NOP
      break;
    }
    case SelfTest::kExecData: {
      // Data is mapped execute-never: this branch must take an instruction abort.
      static uint32_t data_code[2] = {0xd65f03c0, 0};  // RET
      reinterpret_cast<void (*)()>(reinterpret_cast<uintptr_t>(data_code))();
      break;
    }
    case SelfTest::kStackOverflow: {
      const uint64_t sink = overflow_stack(0);
      LOG_ERROR("self-test: recursion returned {}", sink);
      break;
    }
    case SelfTest::kNone:
    case SelfTest::kStage2At:  // not a crash: hyp_main runs it and boots on
      break;
  }
  LOG_ERROR("self-test: the deliberate fault did not happen");
  arch::halt_cpu();
}

}  // namespace

[[noreturn]] void hyp_main(mm::PhysAddr dtb) {
  PerCpu& cpu = this_cpu();
  setup_el2_cpu_state(cpu.features);  // also lets libfdt use FP/SIMD (CPTR_EL2.TFP = 0)
  log::set_counter_frequency(arch::read<arch::CntfrqEl0>().value());

  const void* blob = mm::to_ptr<const void>(mm::to_va(dtb));
  attach_console(blob);
  LAMINA_CHECK(g_static_init_probe.mark == StaticInitProbe::kMark, "static initialisers did not run");
  LOG_INFO("lamina {}: bare-metal AArch64 hypervisor", LAMINA_VERSION);
  LOG_INFO("running at EL2 (non-VHE), loaded at {}, image {} KiB", mm::PhysAddr(load_base()),
           boot::image_layout().whole.size >> 10);

  if (auto r = discover_platform(blob, dtb, &g_platform); !r.ok()) {
    report_dt_error(r.error());
    stop_boot(blob);
  }
  const Platform& platform = g_platform;
  BootOptions options;
  if (platform.bootargs != nullptr) {
    const BootOptionsResult parsed = parse_boot_options(platform.bootargs);
    options = parsed.options;
    if (!parsed.bad_option.empty()) LOG_WARN("ignoring unknown or malformed option '{}'", parsed.bad_option);
  }
  log::set_level(options.log_level);
  set_exit_stats_enabled(options.stats);
  log_cpu_features(cpu.features);
  log_platform(platform);

  if (auto r = parse_vm_descriptions(blob, &g_vm_descriptions); !r.ok()) {
    report_dt_error(r.error());
    stop_boot(blob);
  }
  const VmModuleRanges modules = vm_module_ranges(g_vm_descriptions);

  if (!map_gic(platform.gic)) {
    LOG_ERROR("cannot map the GIC's registers: EL2 page-table pool exhausted");
    stop_boot(blob);
  }
  if (timer_ppis_as_expected(platform.timer) && init_gic_host(platform.gic, cpu.features.gic_sysreg)) {
    (void)init_gic_cpu(arch::read<arch::MpidrEl1>().raw());
    LOG_INFO("GIC: {} set up at EL2; VMs get a virtual {}", gic_name(platform.gic.version),
             gic_name(platform.gic.version));
  }
  if (auto r = init_memory(platform, boot::image_layout().whole,
                           std::span<const mm::PhysRange>(modules.ranges.data(), modules.count));
      !r.ok()) {
    if (r.error() == mm::Error::kOutOfRange)
      LOG_ERROR("a VM's payload module is not in free RAM (outside RAM, or overlapping lamina, its DTB or "
                "reserved memory): check the modules' reg in /chosen");
    else
      LOG_ERROR("memory setup failed: {}", mm::error_name(r.error()));
    stop_boot(blob);
  }

  const SmpResult smp = start_secondary_cpus(platform);
  LOG_INFO("CPUs: {} online of {} in the device tree{}", smp.online, platform.cpu_count,
           smp.failed != 0 ? " (some failed to start)" : "");

  // The stage-2 check returns and lets boot finish (and power off); the
  // others crash on purpose.
  if (options.self_test == SelfTest::kStage2At) run_stage2_at_check(platform, cpu.features);
  else if (options.self_test != SelfTest::kNone) run_self_test(options.self_test);

  if (!create_vms(g_vm_descriptions, platform, blob, cpu.features, smp.online)) stop_boot(blob);
  if (vm_count() == 0) {
    // No PSCI (e.g. a Raspberry Pi 4 with the stock firmware stub): lamina
    // cannot power the machine off, so it halts instead.
    power_off_machine(g_vm_descriptions.count == 0 ? "boot complete; no guest configured"
                                                   : "boot complete; no VM could be started");
  }
  LOG_INFO("boot complete: running {} VM{}", vm_count(), vm_count() == 1 ? "" : "s");
  start_guest_console_input(platform.uart);
  publish_vcpu_assignment();
  run_cpu(cpu);
}

}  // namespace lamina::hyp
