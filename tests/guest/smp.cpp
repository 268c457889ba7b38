// smp: CPU_ON of every secondary vCPU (DEN 0022 "CPU_ON"): each starts at
// the entry point it was given, with x0 = the context ID, at EL1h with the
// MMU and D-cache off and DAIF masked (DEN 0022 6.4 "Implementation
// responsibilities", CPU_ON; the arm64 boot protocol asks the same), with
// its own MPIDR_EL1 (Aff0 = vCPU index, bit 31 set); it makes PSCI calls of
// its own over both conduits, reports, and powers itself off with CPU_OFF;
// the boot vCPU then sees AFFINITY_INFO OFF. Every secondary is started
// twice: one at a time (alternating entry points and conduits), then all at
// once. Every vCPU sees one virtual counter: CNTPCT_EL0 - CNTVCT_EL0 (the
// offset CNTVOFF_EL2 the hypervisor applies, DDI 0487 K.a D12.1.2) is the
// same on each.
#include "guest.hpp"

extern const char kGuestName[] = "smp";

namespace {

using namespace guest;

struct Report {
  volatile uint64_t arrived;
  volatile uint64_t context;
  volatile uint64_t psci_version_hvc;
  volatile uint64_t psci_version_smc;
  volatile uint64_t cpu_index;
  volatile uint64_t offset_lo;  // CNTVOFF_EL2 lies in [offset_lo, offset_hi]
  volatile uint64_t offset_hi;
};
Report g_report[GUEST_MAX_CPUS];

constexpr uint64_t kSctlrM = 1u << 0;
constexpr uint64_t kSctlrC = 1u << 2;

uint64_t context_for(unsigned cpu, unsigned round) {
  return 0x5e00000000000000ULL | (uint64_t{round} << 32) | (0xc0de0000u + cpu);
}

// Brackets the counter offset CNTPCT - CNTVCT seen by this vCPU: with v1,
// p, v2 read in that order (ISB between), p - v2 <= offset <= p - v1.
void measure_offset(Report& r) {
  isb();
  const uint64_t v1 = GUEST_READ_SYSREG(cntvct_el0);
  isb();
  const uint64_t p = GUEST_READ_SYSREG(cntpct_el0);
  isb();
  const uint64_t v2 = GUEST_READ_SYSREG(cntvct_el0);
  r.offset_lo = p - v2;
  r.offset_hi = p - v1;
}

// Checks what vCPU `cpu` recorded at entry and reported.
void check_secondary(const char* tag, unsigned cpu, uint64_t context, uintptr_t entry) {
  const Report& r = g_report[cpu];
  const EntryState& e = secondary_entry_state(cpu);
  check_eq(name("smp.%s.cpu%u.context-id", tag, cpu), e.x[0], context);
  check_eq(name("smp.%s.cpu%u.reported-context", tag, cpu), r.context, context);
  check_eq(name("smp.%s.cpu%u.entry-point", tag, cpu), e.pc, entry);
  check_eq(name("smp.%s.cpu%u.el1", tag, cpu), bits(e.current_el, 3, 2), 1);
  check_eq(name("smp.%s.cpu%u.spsel-el1h", tag, cpu), e.spsel & 1, 1);
  check_eq(name("smp.%s.cpu%u.daif-masked", tag, cpu), e.daif & PSTATE_DAIF_MASKED, PSTATE_DAIF_MASKED);
  check_eq(name("smp.%s.cpu%u.mmu-dcache-off", tag, cpu), e.sctlr_el1 & (kSctlrM | kSctlrC), 0);
  check_eq(name("smp.%s.cpu%u.mpidr", tag, cpu), e.mpidr & 0xff80ffffffULL, 0x80000000ULL | cpu);
  check_eq(name("smp.%s.cpu%u.psci-version-hvc", tag, cpu), r.psci_version_hvc, 0x10001);
  check_eq(name("smp.%s.cpu%u.psci-version-smc", tag, cpu), r.psci_version_smc, 0x10001);
}

void clear_report(unsigned cpu) {
  g_report[cpu] = Report{};
  memset(const_cast<EntryState*>(&secondary_entry_state(cpu)), 0, sizeof(EntryState));
  dsb_sy();
}

bool wait_off(Conduit c, unsigned cpu, int64_t* last) {
  return wait_until(
      [&] {
        *last = psci_call(c, psci::kAffinityInfo64, target_cpu(cpu), 0);
        return *last == psci::kAffinityOff;
      },
      5000000);
}

}  // namespace

void guest_secondary(unsigned cpu, uint64_t context, const EntryState&) {
  Report& r = g_report[cpu];
  r.context = context;
  r.cpu_index = cpu;
  measure_offset(r);
  r.psci_version_hvc = static_cast<uint64_t>(psci_call(Conduit::kHvc, psci::kVersion));
  r.psci_version_smc = static_cast<uint64_t>(psci_call(Conduit::kSmc, psci::kVersion));
  dsb_sy();
  r.arrived = 1;
  dsb_sy();
  sev();
  // Returning makes the framework call CPU_OFF.
}

int guest_main() {
  const unsigned ncpus = fdt_cpu_count(dtb());
  info("%u vCPUs in the DT", ncpus);
  check_ge("smp.needs-2-vcpus", ncpus, 2);
  if (ncpus > GUEST_MAX_CPUS) {
    check("smp.vcpu-count-supported", false, "%u vCPUs, the guest handles %u", ncpus, GUEST_MAX_CPUS);
    return 0;
  }
  // Every vCPU but the boot one starts OFF.
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    check_eq(name("smp.initial.cpu%u.off", cpu), static_cast<uint64_t>(psci_call(Conduit::kHvc, psci::kAffinityInfo64,
                                                                                  target_cpu(cpu), 0)),
             psci::kAffinityOff);
  }
  // The vCPU after the last one does not exist.
  check_eq("smp.no-vcpu-past-dt",
           static_cast<uint64_t>(psci_call(Conduit::kHvc, psci::kAffinityInfo64, target_cpu(ncpus), 0)),
           static_cast<uint64_t>(psci::kInvalidParameters));

  // One at a time.
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    const Conduit c = cpu % 2 != 0 ? Conduit::kHvc : Conduit::kSmc;
    const uintptr_t entry = cpu % 2 != 0 ? secondary_entry_address() : secondary_entry_alt_address();
    const uint64_t ctx = context_for(cpu, 1);
    clear_report(cpu);
    const int64_t r = psci_call(c, psci::kCpuOn64, target_cpu(cpu), entry, ctx);
    if (!check_eq(name("smp.one.cpu%u.cpu-on", cpu), static_cast<uint64_t>(r), 0)) continue;
    const bool arrived = wait_until([&] { return g_report[cpu].arrived != 0; }, 5000000);
    if (!check(name("smp.one.cpu%u.started", cpu), arrived, "no report within 5 s")) continue;
    check_secondary("one", cpu, ctx, entry);
    int64_t last = 0;
    check(name("smp.one.cpu%u.off-after-cpu-off", cpu), wait_off(c, cpu, &last),
          "AFFINITY_INFO still %ld 5 s after the report", last);
  }

  // All at once, then each again reports and goes off.
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) clear_report(cpu);
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    const int64_t r =
        psci_call(Conduit::kSmc, psci::kCpuOn64, target_cpu(cpu), secondary_entry_address(), context_for(cpu, 2));
    check_eq(name("smp.all.cpu%u.cpu-on", cpu), static_cast<uint64_t>(r), 0);
  }
  const bool all = wait_until(
      [&] {
        for (unsigned cpu = 1; cpu < ncpus; ++cpu)
          if (g_report[cpu].arrived == 0) return false;
        return true;
      },
      10000000);
  check("smp.all.started", all, "not every secondary reported within 10 s");
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    if (g_report[cpu].arrived == 0) continue;
    check_secondary("all", cpu, context_for(cpu, 2), secondary_entry_address());
    int64_t last = 0;
    check(name("smp.all.cpu%u.off-after-cpu-off", cpu), wait_off(Conduit::kHvc, cpu, &last),
          "AFFINITY_INFO still %ld 5 s after the report", last);
  }

  // One virtual counter for the whole VM: every bracket holds the boot
  // vCPU's offset.
  measure_offset(g_report[0]);
  const uint64_t lo = g_report[0].offset_lo;
  const uint64_t hi = g_report[0].offset_hi;
  info("counter offset (CNTPCT - CNTVCT) in [%lu, %lu]", lo, hi);
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    if (g_report[cpu].arrived == 0) continue;
    check(name("smp.cpu%u.same-counter-offset", cpu), g_report[cpu].offset_lo <= hi && lo <= g_report[cpu].offset_hi,
          "offset in [%lu, %lu], the boot vCPU's in [%lu, %lu]", g_report[cpu].offset_lo, g_report[cpu].offset_hi, lo,
          hi);
  }
  return 0;
}
