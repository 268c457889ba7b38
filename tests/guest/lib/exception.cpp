// The C side of the vector table (lib/vectors.S): expected exceptions are
// recorded and resumed; anything else is reported as a failed check.
#include "guest.hpp"

extern "C" char guest_el0_exit[];
extern "C" char guest_el0_return[];

namespace guest {
namespace {

struct CpuTrapState {
  bool armed;
  Resume resume;
  unsigned depth;
  TrapRecord record;
};
CpuTrapState g_trap[GUEST_MAX_CPUS];
unsigned g_unexpected;
IrqHandler volatile g_irq_handler;

// An armed handler that keeps taking exceptions (e.g. an instruction abort
// resumed at the same address) is stopped after this many.
constexpr unsigned kMaxArmedExceptions = 16;
// Unexpected synchronous exceptions skipped before the guest gives up.
constexpr unsigned kMaxUnexpected = 8;

const char* vector_name(uint64_t vector) {
  static const char* const kGroups[] = {"current EL SP0", "current EL SPx", "lower EL AArch64", "lower EL AArch32"};
  static const char* const kKinds[] = {"sync", "IRQ", "FIQ", "SError"};
  static char buf[48];
  snprintf(buf, sizeof buf, "%s %s", kGroups[(vector >> 9) & 3], kKinds[(vector >> 7) & 3]);
  return buf;
}

[[noreturn]] void power_off_now() {
  psci_call(Conduit::kHvc, psci::kSystemOff);
  for (;;) wfi();
}

void unexpected(Frame* f, CpuTrapState& st) {
  ++g_unexpected;
  printf("GUEST-CHECK unexpected-exception.cpu%u: FAIL %s at vector +0x%lx: ESR 0x%lx (EC 0x%lx) ELR 0x%lx FAR 0x%lx "
         "SPSR 0x%lx\n",
         cpu_index(), vector_name(f->vector), f->vector, f->esr, esr::ec(f->esr), f->elr, f->far, f->spsr);
  add_results(1, 1);
  const bool sync = (f->vector & 0x180) == 0;
  const uint64_t ec = esr::ec(f->esr);
  const bool ifetch = ec == esr::kEcInstructionAbortLower || ec == esr::kEcInstructionAbortSame;
  if (st.depth > 1) {
    printf("GUEST-RESULT: FAIL nested exception in the exception handler\n");
    power_off_now();
  }
  if (sync && !ifetch && g_unexpected <= kMaxUnexpected) {
    f->elr += 4;  // skip it and carry on: the check that caused it fails on its own
    return;
  }
  finish();
}

}  // namespace

extern "C" void guest_exception(Frame* f) {
  CpuTrapState& st = g_trap[cpu_index()];
  ++st.depth;
  const uint64_t ec = esr::ec(f->esr);
  const bool sync = (f->vector & 0x180) == 0;
  const bool irq = (f->vector & 0x180) == 0x080;
  if (irq && g_irq_handler != nullptr) {
    g_irq_handler(f);
  } else if (f->vector == kVectorLowerA64Sync && ec == esr::kEcSvc64 &&
      f->elr == reinterpret_cast<uintptr_t>(guest_el0_exit) + 4) {
    // guest_run_el0's function returned: back to EL1h, DAIF masked.
    f->elr = reinterpret_cast<uintptr_t>(guest_el0_return);
    f->spsr = PSTATE_DAIF_MASKED | PSTATE_EL1H;
  } else if (st.armed && sync && st.depth == 1 && st.record.count < kMaxArmedExceptions) {
    if (st.record.count++ == 0) {
      st.record.esr = f->esr;
      st.record.far = f->far;
      st.record.elr = f->elr;
      st.record.spsr = f->spsr;
      st.record.vector = f->vector;
      st.record.daif = f->daif;
    }
    f->elr = st.resume == Resume::kNextInstruction ? f->elr + 4 : f->x[30];
  } else {
    unexpected(f, st);
  }
  --st.depth;
}

void set_irq_handler(IrqHandler handler) {
  g_irq_handler = handler;
  dsb_sy();
}

void arm_exception(Resume how) {
  CpuTrapState& st = g_trap[cpu_index()];
  st.record = TrapRecord{};
  st.resume = how;
  compiler_barrier();
  st.armed = true;
  compiler_barrier();
}

TrapRecord disarm_exception() {
  CpuTrapState& st = g_trap[cpu_index()];
  compiler_barrier();
  st.armed = false;
  compiler_barrier();
  return st.record;
}

bool check_exception(const char* check_name, const TrapRecord& t, uint64_t expected_esr, uint64_t expected_elr,
                     bool check_far, uint64_t expected_far, uint64_t expected_vector, uint64_t expected_spsr_mode) {
  // SPSR: M[4:0] and D, A, I, F (bits 9:6) are compared; NZCV, PAN, SSBS
  // etc. depend on what ran before. The handler runs with DAIF all masked
  // (DDI 0487, "Exception entry": PSTATE.{D,A,I,F} are set to 1).
  constexpr uint64_t kSpsrCompared = 0x3df;
  const uint64_t expected_spsr = PSTATE_DAIF_MASKED | expected_spsr_mode;
  const bool ok = t.count == 1 && t.esr == expected_esr && t.elr == expected_elr &&
                  (!check_far || t.far == expected_far) && t.vector == expected_vector &&
                  (t.spsr & kSpsrCompared) == expected_spsr && (t.daif & PSTATE_DAIF_MASKED) == PSTATE_DAIF_MASKED;
  if (t.count == 0) {
    return check(check_name, false, "no exception taken (expected ESR 0x%lx at ELR 0x%lx)", expected_esr,
                 expected_elr);
  }
  return check(check_name, ok,
               "taken %u time(s); ESR expected 0x%lx actual 0x%lx; ELR expected 0x%lx actual 0x%lx; FAR expected "
               "0x%lx actual 0x%lx%s; vector expected +0x%lx actual +0x%lx; SPSR[9:0] expected 0x%lx actual "
               "0x%lx (SPSR 0x%lx); handler DAIF 0x%lx",
               t.count, expected_esr, t.esr, expected_elr, t.elr, expected_far, t.far,
               check_far ? "" : " (not compared)", expected_vector, t.vector, expected_spsr,
               t.spsr & kSpsrCompared, t.spsr, t.daif);
}

}  // namespace guest
