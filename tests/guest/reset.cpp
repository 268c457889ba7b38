// reset: SYSTEM_RESET restarts the VM from its pristine payload: the ELF is
// loaded again (.data re-initialised, .bss zeroed by the loader), only the
// boot vCPU runs, at the entry point; RAM outside the payload is not
// scrubbed. A record at RAM end - 4 KiB (outside the image) counts the
// boots and carries the check results across them:
//   boot 1: vCPU 1 left running, SYSTEM_RESET (HVC);
//   boot 2: vCPU 1 must be OFF; SYSTEM_RESET2(SYSTEM_WARM_RESET) over SMC
//           if PSCI_FEATURES offers it, else SYSTEM_RESET over SMC;
//   boot 3: the count must be 3; SYSTEM_OFF (the framework).
// The virtual counter restarts with each boot (lamina takes CNTVOFF_EL2 as
// the VM's boot begins): at entry CNTVCT_EL0 is below CNTPCT_EL0, and the
// offset CNTPCT - CNTVCT grows from boot to boot.
// DEN 0022 "SYSTEM_RESET", "SYSTEM_RESET2" (reset_type 0 = SYSTEM_WARM_RESET).
#include "guest.hpp"

extern const char kGuestName[] = "reset";

namespace {

using namespace guest;

constexpr uint64_t kMagic = 0x5245534554424f4fULL;  // "RESETBOO"
constexpr uint64_t kExpectedBoots = 3;

struct Record {
  uint64_t magic;
  uint64_t boots;
  uint64_t checks_run;
  uint64_t checks_failed;
  uint64_t counter_offset;  // CNTPCT - CNTVCT at the previous boot's entry
};

// .data must come back as initialised, .bss as zero, on every boot.
volatile uint64_t g_data_word = 0x0da7a0da7a0da7a0ULL;
volatile uint64_t g_bss_word;
volatile uint64_t g_secondary_running;

Record* record_location(const MemoryRange& ram) {
  return reinterpret_cast<Record*>(ram.base + ram.size - 4096);
}

void save_results(volatile Record* rec, unsigned run_before, unsigned failed_before) {
  rec->checks_run = run_before + checks_run();
  rec->checks_failed = failed_before + checks_failed();
  dsb_sy();
}

}  // namespace

void guest_secondary(unsigned, uint64_t, const EntryState&) {
  g_secondary_running = 1;
  dsb_sy();
  sev();
  for (;;) wfe();  // stays ON until the reset
}

int guest_main() {
  const uintptr_t dt = dtb();
  const MemoryRange ram = fdt_memory(dt);
  if (!check("reset.dt-memory", ram.size >= 0x100000, "no usable /memory in the DT")) return 0;
  volatile Record* rec = record_location(ram);
  const uintptr_t rec_addr = reinterpret_cast<uintptr_t>(rec);
  if (!check("reset.record-outside-dt", rec_addr + sizeof(Record) <= dt || rec_addr >= dt + fdt_total_size(dt),
             "record at 0x%lx overlaps the DT at 0x%lx", rec_addr, dt))
    return 0;
  if (rec->magic != kMagic) {
    rec->magic = kMagic;
    rec->boots = 0;
    rec->checks_run = 0;
    rec->checks_failed = 0;
    rec->counter_offset = 0;
  }
  isb();
  const uint64_t virtual_count = GUEST_READ_SYSREG(cntvct_el0);
  isb();
  const uint64_t physical_count = GUEST_READ_SYSREG(cntpct_el0);
  const uint64_t boot = rec->boots + 1;
  rec->boots = boot;
  const unsigned run_before = static_cast<unsigned>(rec->checks_run);
  const unsigned failed_before = static_cast<unsigned>(rec->checks_failed);
  dsb_sy();
  info("boot %lu (record at 0x%lx)", boot, rec_addr);

  check_eq(name("reset.boot%lu.data-initialised", boot), g_data_word, 0x0da7a0da7a0da7a0ULL);
  check_eq(name("reset.boot%lu.bss-zero-at-entry", boot), boot_entry().bss_dirty, 0);
  check_eq(name("reset.boot%lu.entry-at-start", boot), boot_entry().mpidr & 0xff, 0);
  const uint64_t offset = physical_count - virtual_count;
  check(name("reset.boot%lu.virtual-counter-restarted", boot), virtual_count < physical_count && offset > rec->counter_offset,
        "CNTVCT 0x%lx, CNTPCT 0x%lx, offset 0x%lx, the previous boot's 0x%lx", virtual_count, physical_count, offset,
        rec->counter_offset);
  rec->counter_offset = offset;
  g_data_word = 0xdeadULL;
  g_bss_word = boot;
  const unsigned ncpus = fdt_cpu_count(dt);

  if (boot > kExpectedBoots) {
    check("reset.boot-count", false, "boot %lu: more boots than the %lu expected", boot, kExpectedBoots);
    rec->magic = 0;
    add_results(run_before, failed_before);
    return 0;
  }
  if (boot == 1) {
    check_eq("reset.boot1.features-system-reset",
             static_cast<uint64_t>(psci_call(Conduit::kHvc, psci::kFeatures, psci::kSystemReset)), 0);
    if (ncpus >= 2) {
      const int64_t on = psci_call(Conduit::kHvc, psci::kCpuOn64, target_cpu(1), secondary_entry_address(), 1);
      check_eq("reset.boot1.cpu1-on", static_cast<uint64_t>(on), 0);
      check("reset.boot1.cpu1-running", wait_until([] { return g_secondary_running != 0; }, 5000000),
            "vCPU 1 did not start within 5 s");
    }
    save_results(rec, run_before, failed_before);
    info("SYSTEM_RESET over hvc");
    const int64_t r = psci_call(Conduit::kHvc, psci::kSystemReset);
    check("reset.boot1.system-reset-returned", false, "SYSTEM_RESET returned 0x%lx", static_cast<uint64_t>(r));
  } else if (boot == 2) {
    if (ncpus >= 2) {
      check_eq("reset.boot2.cpu1-off-after-reset",
               static_cast<uint64_t>(psci_call(Conduit::kSmc, psci::kAffinityInfo64, target_cpu(1), 0)),
               psci::kAffinityOff);
    }
    const int64_t has_reset2 = psci_call(Conduit::kSmc, psci::kFeatures, psci::kSystemReset2_64);
    save_results(rec, run_before, failed_before);
    if (has_reset2 == 0) {
      info("SYSTEM_RESET2(SYSTEM_WARM_RESET) over smc");
      const int64_t r = psci_call(Conduit::kSmc, psci::kSystemReset2_64, 0, 0);
      check("reset.boot2.system-reset2-returned", false, "SYSTEM_RESET2 returned 0x%lx", static_cast<uint64_t>(r));
    } else {
      info("SYSTEM_RESET2 not offered (PSCI_FEATURES 0x%lx): SYSTEM_RESET over smc",
           static_cast<uint64_t>(has_reset2));
      const int64_t r = psci_call(Conduit::kSmc, psci::kSystemReset);
      check("reset.boot2.system-reset-returned", false, "SYSTEM_RESET returned 0x%lx", static_cast<uint64_t>(r));
    }
  } else {
    check_eq("reset.boot-count", boot, kExpectedBoots);
    rec->magic = 0;  // a later run in the same RAM starts again at boot 1
  }
  add_results(run_before, failed_before);
  return 0;
}
