// wfi: WFI returns when the vCPU has something to do. With DAIF.I masked
// and the EL1 virtual timer armed (CNTV_CVAL_EL0 = now + N, CNTV_CTL_EL0
// ENABLE 1, IMASK 0), WFI must not return before the timer condition is met
// (CNTVCT_EL0 >= CVAL), and then ISTATUS reads 1 (DDI 0487, "The Generic
// Timer in AArch64 state": timer condition and CNTV_CTL_EL0). Also: a timer
// that has already fired does not block WFI, and WFE returns on its own
// event (SEVL) and on the counter's event stream.
#include "guest.hpp"

extern const char kGuestName[] = "wfi";

namespace {

using namespace guest;

// CNTV_CTL_EL0: ENABLE [0], IMASK [1], ISTATUS [2].
constexpr uint64_t kEnable = 1u << 0;
constexpr uint64_t kIstatus = 1u << 2;

void arm_timer(uint64_t cval) {
  GUEST_WRITE_SYSREG(cntv_ctl_el0, 0);
  GUEST_WRITE_SYSREG(cntv_cval_el0, cval);
  GUEST_WRITE_SYSREG(cntv_ctl_el0, kEnable);
  isb();
}

void disarm_timer() {
  GUEST_WRITE_SYSREG(cntv_ctl_el0, 0);
  isb();
}

}  // namespace

int guest_main() {
  check_ne("wfi.cntfrq-nonzero", counter_freq(), 0);
  check_eq("wfi.irqs-masked", GUEST_READ_SYSREG(daif) & PSTATE_DAIF_MASKED, PSTATE_DAIF_MASKED);

  // Not yet due: ISTATUS 0.
  arm_timer(counter() + us_to_ticks(1000000));
  check_eq("wfi.timer.not-yet-due", GUEST_READ_SYSREG(cntv_ctl_el0) & kIstatus, 0);
  disarm_timer();

  static const uint64_t kDelaysUs[] = {100, 1000, 5000, 20000, 100000};
  for (const uint64_t us : kDelaysUs) {
    const uint64_t start = counter();
    const uint64_t cval = start + us_to_ticks(us);
    arm_timer(cval);
    wfi();
    const uint64_t woke = counter();
    const uint64_t ctl = GUEST_READ_SYSREG(cntv_ctl_el0);
    disarm_timer();
    check(name("wfi.timer-%luus.not-early", us), woke >= cval,
          "WFI returned 0x%lx ticks before CNTV_CVAL (started 0x%lx, CVAL 0x%lx, woke 0x%lx)", cval - woke, start,
          cval, woke);
    check_eq(name("wfi.timer-%luus.istatus", us), ctl & kIstatus, kIstatus);
    info("timer %lu us: woke %lu us after arming", us, (woke - start) * 1000000 / counter_freq());
  }

  // The timer condition already holds: WFI must not wait (a hang here is a
  // test timeout).
  arm_timer(counter() - 1);
  wfi();
  check_eq("wfi.already-fired.istatus", GUEST_READ_SYSREG(cntv_ctl_el0) & kIstatus, kIstatus);
  disarm_timer();

  // WFE: SEVL sets the local event register, so WFE returns at once.
  asm volatile("sevl\n wfe" ::: "memory");
  check("wfe.after-sevl", true, "unreachable");
  // WFE with the event register clear returns on the event stream
  // (CNTKCTL_EL1.EVNTEN, set by the framework): bounded in time.
  asm volatile("sevl\n wfe" ::: "memory");  // clear the event register
  const uint64_t before = counter();
  wfe();
  check_ge("wfe.event-stream.time-passes", counter(), before);
  return 0;
}
