// psci: every PSCI 1.1 and SMCCC 1.1 call lamina serves, and their error
// codes, over both conduits (HVC and SMC: DEN 0028 "SMC Calling
// Convention" serves both the same way). Expected values: Arm DEN 0022 "Arm Power State
// Coordination Interface" (PSCI 1.1, issue D), as lamina implements it
// (every vCPU at affinity Aff0 = index; no Trusted OS; CPU_SUSPEND served as
// standby; original power_state format; SMCCC 1.1).
//
// Needs at least 2 vCPUs (vCPU 1 is started and stopped repeatedly).
#include <initializer_list>

#include "guest.hpp"

extern const char kGuestName[] = "psci";

namespace {

using namespace guest;

struct Mailbox {
  volatile uint64_t arrived;
  volatile uint64_t context;
  volatile uint64_t release;
};
Mailbox g_mail[GUEST_MAX_CPUS];

// CNTV_CTL_EL0 (DDI 0487, "CNTV_CTL_EL0"): ENABLE [0], IMASK [1], ISTATUS [2].
constexpr uint64_t kCntvEnable = 1;

int64_t call(Conduit c, uint64_t fid, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
  return psci_call(c, fid, a1, a2, a3);
}

uint64_t s(int64_t v) { return static_cast<uint64_t>(v); }

void check_versions(Conduit c) {
  const char* cn = conduit_name(c);
  check_eq(name("psci.%s.version", cn), s(call(c, psci::kVersion)), 0x10001);
  check_eq(name("smccc.%s.version", cn), s(call(c, smccc::kVersion)), 0x10001);
  // Only W0 is the function ID (DEN 0028 "SMC and HVC Function Identifiers").
  check_eq(name("psci.%s.version.fid-upper-bits-ignored", cn), s(call(c, 0xffffffff00000000ULL | psci::kVersion)),
           0x10001);
  check_eq(name("psci.%s.migrate-info-type", cn), s(call(c, psci::kMigrateInfoType)), 2);
}

// PSCI_FEATURES (DEN 0022 "PSCI_FEATURES"): 0 for an implemented function
// (for CPU_SUSPEND the feature flags: bit 1 power_state format, 0 original;
// bit 0 OS-initiated mode, 0 not supported), NOT_SUPPORTED otherwise.
void check_features(Conduit c) {
  struct Expect {
    uint32_t fid;
    int64_t result;
  };
  static const Expect kTable[] = {
      {psci::kVersion, 0},
      {psci::kCpuSuspend32, 0},
      {psci::kCpuSuspend64, 0},
      {psci::kCpuOff, 0},
      {psci::kCpuOn32, 0},
      {psci::kCpuOn64, 0},
      {psci::kAffinityInfo32, 0},
      {psci::kAffinityInfo64, 0},
      {psci::kMigrateInfoType, 0},
      {psci::kSystemOff, 0},
      {psci::kSystemReset, 0},
      {psci::kFeatures, 0},
      {psci::kSystemReset2_32, 0},
      {psci::kSystemReset2_64, 0},
      // SMCCC 1.1 is discovered this way (DEN 0028 "SMCCC_VERSION").
      {smccc::kVersion, 0},
      // MIGRATE and MIGRATE_INFO_UP_CPU are optional with no Trusted OS
      // (MIGRATE_INFO_TYPE 2); the rest are optional and not implemented.
      {psci::kMigrate32, psci::kNotSupported},
      {psci::kMigrate64, psci::kNotSupported},
      {psci::kMigrateInfoUpCpu32, psci::kNotSupported},
      {psci::kMigrateInfoUpCpu64, psci::kNotSupported},
      {psci::kCpuFreeze, psci::kNotSupported},
      {psci::kCpuDefaultSuspend32, psci::kNotSupported},
      {psci::kCpuDefaultSuspend64, psci::kNotSupported},
      {psci::kNodeHwState32, psci::kNotSupported},
      {psci::kNodeHwState64, psci::kNotSupported},
      {psci::kSystemSuspend32, psci::kNotSupported},
      {psci::kSystemSuspend64, psci::kNotSupported},
      {psci::kSetSuspendMode, psci::kNotSupported},
      {psci::kStatResidency32, psci::kNotSupported},
      {psci::kStatResidency64, psci::kNotSupported},
      {psci::kStatCount32, psci::kNotSupported},
      {psci::kStatCount64, psci::kNotSupported},
      {psci::kMemProtect, psci::kNotSupported},
      {psci::kMemProtectCheckRange32, psci::kNotSupported},
      {psci::kMemProtectCheckRange64, psci::kNotSupported},
      // Not PSCI functions, or not assigned.
      {smccc::kArchFeatures, psci::kNotSupported},
      {0x84000020, psci::kNotSupported},
      {0xc400001f, psci::kNotSupported},
      {0x8600ff00, psci::kNotSupported},
      {0x00000000, psci::kNotSupported},
  };
  const char* cn = conduit_name(c);
  for (const Expect& e : kTable) {
    check_eq(name("psci.%s.features.0x%08x", cn, e.fid), s(call(c, psci::kFeatures, e.fid)), s(e.result));
  }
  // PSCI_FEATURES is SMC32: only W1 is the queried ID.
  check_eq(name("psci.%s.features.arg-upper-bits-ignored", cn),
           s(call(c, psci::kFeatures, 0xdead000000000000ULL | psci::kCpuOn64)), 0);
}

// SMCCC_ARCH_FEATURES (DEN 0028 "SMCCC_ARCH_FEATURES"): 0 for the
// implemented Arm Architecture Calls, NOT_SUPPORTED for anything else. The
// workaround queries are answered for the host CPU (DEN 0028
// "SMCCC_ARCH_WORKAROUND_1/2/3", discovery): _1 and _3 give 0 (call it), 1
// (not needed on this PE) or -1; _2 gives 0, -2 (NOT_REQUIRED) or -1.
void check_arch_features(Conduit c) {
  const char* cn = conduit_name(c);
  check_eq(name("smccc.%s.arch-features.version", cn), s(call(c, smccc::kArchFeatures, smccc::kVersion)), 0);
  check_eq(name("smccc.%s.arch-features.arch-features", cn), s(call(c, smccc::kArchFeatures, smccc::kArchFeatures)),
           0);
  check_eq(name("smccc.%s.arch-features.unassigned-arch-call", cn), s(call(c, smccc::kArchFeatures, 0x80000002)),
           s(smccc::kNotSupported));
  check_eq(name("smccc.%s.arch-features.psci-version", cn), s(call(c, smccc::kArchFeatures, psci::kVersion)),
           s(smccc::kNotSupported));
  const int64_t w1 = call(c, smccc::kArchFeatures, smccc::kArchWorkaround1);
  const int64_t w2 = call(c, smccc::kArchFeatures, smccc::kArchWorkaround2);
  const int64_t w3 = call(c, smccc::kArchFeatures, smccc::kArchWorkaround3);
  info("%s: SMCCC_ARCH_FEATURES WORKAROUND_1 %ld, _2 %ld, _3 %ld", cn, w1, w2, w3);
  check(name("smccc.%s.arch-features.workaround-1", cn), w1 == 0 || w1 == 1 || w1 == -1, "got %ld", w1);
  check(name("smccc.%s.arch-features.workaround-2", cn), w2 == 0 || w2 == -2 || w2 == -1, "got %ld", w2);
  check(name("smccc.%s.arch-features.workaround-3", cn), w3 == 0 || w3 == 1 || w3 == -1, "got %ld", w3);
}

// Unknown function IDs give NOT_SUPPORTED (-1) in the whole of X0 (DEN 0028
// "Unknown Function Identifier"; lamina returns it sign-extended).
void check_unknown(Conduit c) {
  static const uint32_t kUnknown[] = {
      psci::kMigrate32,        psci::kMigrate64, psci::kMigrateInfoUpCpu32, psci::kCpuFreeze,
      psci::kSystemSuspend64,  0x84000020,       0xc40000ff,                0x80000002,
      0x82000000 /* SiP */,    0x83000000 /* OEM */, 0xc5000000 /* standard hypervisor */,
      0x86000000 /* vendor hypervisor */, 0x12345678,
  };
  for (const uint32_t fid : kUnknown) {
    check_eq(name("psci.%s.unknown.0x%08x", conduit_name(c), fid), s(call(c, fid)), s(psci::kNotSupported));
  }
}

void check_affinity_and_suspend(Conduit c, unsigned ncpus) {
  const char* cn = conduit_name(c);
  check_eq(name("psci.%s.affinity-info32.self-on", cn), s(call(c, psci::kAffinityInfo32, target_cpu(0), 0)),
           s(psci::kAffinityOn));
  check_eq(name("psci.%s.affinity-info64.self-on", cn), s(call(c, psci::kAffinityInfo64, target_cpu(0), 0)),
           s(psci::kAffinityOn));
  if (ncpus >= 2) {
    check_eq(name("psci.%s.affinity-info.cpu1-off", cn), s(call(c, psci::kAffinityInfo64, target_cpu(1), 0)),
             s(psci::kAffinityOff));
  }
  check_eq(name("psci.%s.affinity-info.no-such-cpu", cn), s(call(c, psci::kAffinityInfo64, target_cpu(ncpus), 0)),
           s(psci::kInvalidParameters));
  // Bit 31 of MPIDR_EL1 is not part of an affinity value.
  check_eq(name("psci.%s.affinity-info.mpidr-bit31", cn), s(call(c, psci::kAffinityInfo64, 0x80000000ULL, 0)),
           s(psci::kInvalidParameters));
  // Only lowest_affinity_level 0 is served (levels above are optional from
  // PSCI 1.0 on).
  check_eq(name("psci.%s.affinity-info.level1", cn), s(call(c, psci::kAffinityInfo64, target_cpu(0), 1)),
           s(psci::kInvalidParameters));

  // CPU_SUSPEND with an original-format standby power_state (0) returns
  // SUCCESS. It may wait for a wake-up event like WFI, so a timer is armed
  // to bound it.
  for (const uint32_t fid : {psci::kCpuSuspend32, psci::kCpuSuspend64}) {
    GUEST_WRITE_SYSREG(cntv_ctl_el0, 0);
    GUEST_WRITE_SYSREG(cntv_cval_el0, counter() + us_to_ticks(1000));
    GUEST_WRITE_SYSREG(cntv_ctl_el0, kCntvEnable);
    isb();
    check_eq(name("psci.%s.cpu-suspend.0x%08x.standby", cn, fid), s(call(c, fid, 0, 0, 0)), 0);
    GUEST_WRITE_SYSREG(cntv_ctl_el0, 0);
    isb();
  }
  // power_state bits [31:26] and [23:17] are reserved in the original format.
  check_eq(name("psci.%s.cpu-suspend.reserved-bits", cn), s(call(c, psci::kCpuSuspend64, 1u << 26, 0, 0)),
           s(psci::kInvalidParameters));
  check_eq(name("psci.%s.cpu-suspend.reserved-bit17", cn), s(call(c, psci::kCpuSuspend32, 1u << 17, 0, 0)),
           s(psci::kInvalidParameters));

  // SYSTEM_RESET2 reset_type 1..0x7fffffff is reserved: INVALID_PARAMETERS
  // (DEN 0022 "SYSTEM_RESET2"), and the call returns.
  check_eq(name("psci.%s.system-reset2.reserved-type", cn), s(call(c, psci::kSystemReset2_64, 1, 0)),
           s(psci::kInvalidParameters));
  check_eq(name("psci.%s.system-reset2.reserved-type-max", cn), s(call(c, psci::kSystemReset2_32, 0x7fffffff, 0)),
           s(psci::kInvalidParameters));
}

void check_cpu_on_errors(Conduit c, unsigned ncpus, const MemoryRange& ram) {
  const char* cn = conduit_name(c);
  const uintptr_t entry = secondary_entry_address();
  check_eq(name("psci.%s.cpu-on.self-already-on", cn), s(call(c, psci::kCpuOn64, target_cpu(0), entry, 0)),
           s(psci::kAlreadyOn));
  check_eq(name("psci.%s.cpu-on.no-such-cpu", cn), s(call(c, psci::kCpuOn64, target_cpu(ncpus), entry, 0)),
           s(psci::kInvalidParameters));
  check_eq(name("psci.%s.cpu-on.mpidr-bit31", cn), s(call(c, psci::kCpuOn64, 0x80000001ULL, entry, 0)),
           s(psci::kInvalidParameters));
  if (ncpus < 2) return;
  struct BadEntry {
    const char* what;
    uint64_t entry;
  };
  const BadEntry kBad[] = {
      {"misaligned", entry + 2},
      {"hole", kHoleIpa},
      {"zero", 0},
      {"past-ram", ram.base + ram.size},
      {"below-ram", ram.base - 0x1000},
  };
  for (const BadEntry& b : kBad) {
    check_eq(name("psci.%s.cpu-on.entry-%s", cn, b.what), s(call(c, psci::kCpuOn64, target_cpu(1), b.entry, 0)),
             s(psci::kInvalidAddress));
    // A refused CPU_ON leaves the CPU off.
    check_eq(name("psci.%s.cpu-on.entry-%s.still-off", cn, b.what), s(call(c, psci::kAffinityInfo64, target_cpu(1), 0)),
             s(psci::kAffinityOff));
  }
}

// Starts vCPU 1 with CPU_ON (fid), checks the states on the way, and stops
// it again. `context` is what is passed; `expected_context` what vCPU 1
// must see in x0 (SMC32 calls pass 32-bit arguments: the upper halves of
// X1..X3 are not part of them).
void cpu_on_cycle(Conduit c, uint32_t fid, uint64_t target, uint64_t context, uint64_t expected_context) {
  const char* cn = conduit_name(c);
  const char* cc = fid == psci::kCpuOn32 ? "cpu-on32" : "cpu-on64";
  Mailbox& m = g_mail[1];
  m.arrived = 0;
  m.context = 0;
  m.release = 0;
  dsb_sy();
  const int64_t r = call(c, fid, target, secondary_entry_address(), context);
  if (!check_eq(name("psci.%s.%s.success", cn, cc), s(r), 0)) return;
  // Until vCPU 1 runs, a second CPU_ON gives ON_PENDING (or ALREADY_ON if
  // it is already running) and AFFINITY_INFO ON_PENDING (or ON).
  const int64_t again = call(c, psci::kCpuOn64, target_cpu(1), secondary_entry_address(), 0);
  check(name("psci.%s.%s.again-while-starting", cn, cc), again == psci::kOnPending || again == psci::kAlreadyOn,
        "expected -5 (ON_PENDING) or -4 (ALREADY_ON) actual %ld", again);
  const int64_t aff = call(c, psci::kAffinityInfo32, target_cpu(1), 0);
  check(name("psci.%s.%s.affinity-while-starting", cn, cc),
        aff == psci::kAffinityOnPending || aff == psci::kAffinityOn, "expected 2 (ON_PENDING) or 0 (ON) actual %ld",
        aff);
  const bool arrived = wait_until([&] { return m.arrived != 0; }, 5000000);
  if (!check(name("psci.%s.%s.secondary-ran", cn, cc), arrived, "vCPU 1 did not report within 5 s")) return;
  check_eq(name("psci.%s.%s.context-id", cn, cc), m.context, expected_context);
  check_eq(name("psci.%s.%s.running-already-on", cn, cc),
           s(call(c, psci::kCpuOn32, target_cpu(1), secondary_entry_address(), 0)), s(psci::kAlreadyOn));
  check_eq(name("psci.%s.%s.affinity-on", cn, cc), s(call(c, psci::kAffinityInfo64, target_cpu(1), 0)),
           s(psci::kAffinityOn));
  m.release = 1;
  dsb_sy();
  sev();
  int64_t state = -100;
  const bool off = wait_until(
      [&] {
        state = call(c, psci::kAffinityInfo64, target_cpu(1), 0);
        return state == psci::kAffinityOff;
      },
      5000000);
  check(name("psci.%s.%s.cpu-off-seen", cn, cc), off, "AFFINITY_INFO still %ld 5 s after release", state);
}

}  // namespace

void guest_secondary(unsigned cpu, uint64_t context, const EntryState&) {
  Mailbox& m = g_mail[cpu];
  m.context = context;
  dsb_sy();
  m.arrived = 1;
  dsb_sy();
  sev();
  wait_until([&] { return m.release != 0; }, 30000000);
  // Returning powers this vCPU off with CPU_OFF (lib/runtime.cpp).
}

int guest_main() {
  const uintptr_t dt = dtb();
  const unsigned ncpus = fdt_cpu_count(dt);
  const MemoryRange ram = fdt_memory(dt);
  info("%u vCPUs, RAM 0x%lx + 0x%lx", ncpus, ram.base, ram.size);
  check_ge("psci.needs-2-vcpus", ncpus, 2);

  for (const Conduit c : {Conduit::kHvc, Conduit::kSmc}) {
    check_versions(c);
    check_features(c);
    check_arch_features(c);
    check_unknown(c);
    check_cpu_on_errors(c, ncpus, ram);
    if (ncpus >= 2) {
      cpu_on_cycle(c, psci::kCpuOn64, target_cpu(1), 0xabcdef0123456789ULL, 0xabcdef0123456789ULL);
      // SMC32: the upper halves of target_cpu and context_id are ignored.
      cpu_on_cycle(c, psci::kCpuOn32, 0xffffffff00000000ULL | target_cpu(1), 0xabcdef0123456789ULL, 0x23456789ULL);
    }
    check_affinity_and_suspend(c, ncpus);
  }
  return 0;
}
