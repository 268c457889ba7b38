// ptimer: the EL1 physical timer is the guest's (CNTHCTL_EL2.EL1PCEN = 1:
// DDI 0487 K.a D12.1.2 "Control of the Generic Timer when EL2 is
// implemented"). The guest reads CNTPCT_EL0 and programs CNTP_CVAL_EL0 /
// CNTP_TVAL_EL0 / CNTP_CTL_EL0 without an UNDEFINED exception, and the
// timer's interrupt (PPI 14, INTID 30 on QEMU virt), forwarded by lamina with
// the HW bit, reaches it through the virtual GIC (v3 or v2, as the DT says):
//  - a WFI with PSTATE.I masked wakes when the timer condition is met, and
//    the interrupt is taken at the IRQ vector once PSTATE.I is cleared,
//    exactly once per arming, never before CNTP_CVAL (read against
//    CNTPCT_EL0), ICC_IAR1_EL1 / GICC_IAR = 30; afterwards it is neither pending nor
//    active; re-armed, it fires again (the guest's EOI deactivated the
//    physical PPI through the HW bit);
//  - the same while running with IRQs unmasked;
//  - armed with CNTP_TVAL_EL0 (a down-counter view of CVAL, D12.2.4 "The
//    timer condition"), CVAL reads as CNTPCT + TVAL;
//  - the virtual timer stays off throughout: no other interrupt arrives.
#include "gic.hpp"
#include "guest.hpp"

extern const char kGuestName[] = "ptimer";

namespace {

using namespace guest;

// QEMU virt's GIC, v3 or v2 (lib/gic.hpp); one vCPU, so its Redistributor
// is the first frame.
using namespace gic;

constexpr uint32_t kPtimerIntid = 30;  // PPI 14
constexpr uint8_t kPriority = 0x80;
constexpr uint64_t kPmr = 0xf0;
// CNTP_CTL_EL0: ENABLE [0], IMASK [1], ISTATUS [2].
constexpr uint64_t kTimerEnable = 1u << 0;
constexpr uint64_t kTimerIstatus = 1u << 2;

Version g_gic = Version::kNone;
volatile uint32_t g_timer_irqs;
volatile uint32_t g_other_irqs;
volatile uint32_t g_last_intid;
volatile uint64_t g_taken_at;  // CNTPCT_EL0 in the handler

uint64_t physical_counter() {
  isb();
  return GUEST_READ_SYSREG(cntpct_el0);
}

void irq_handler(Frame*) {
  const uint64_t iar = acknowledge(g_gic);
  const uint32_t intid = intid_of(g_gic, iar);
  if (intid == kSpurious) return;
  g_last_intid = intid;
  if (intid == kPtimerIntid) {
    g_taken_at = physical_counter();
    g_timer_irqs = g_timer_irqs + 1;
    // Quiet the source before the EOI, as a timer driver does.
    GUEST_WRITE_SYSREG(cntp_ctl_el0, 0);
    isb();
  } else {
    g_other_irqs = g_other_irqs + 1;
  }
  end_of_interrupt(g_gic, iar);
}

bool enable_gic() {
  enable_distributor(g_gic);
  return enable_cpu(g_gic, kGicr, 1u << kPtimerIntid, kPriority, kPmr);
}

void arm_cval(uint64_t cval) {
  GUEST_WRITE_SYSREG(cntp_ctl_el0, 0);
  GUEST_WRITE_SYSREG(cntp_cval_el0, cval);
  GUEST_WRITE_SYSREG(cntp_ctl_el0, kTimerEnable);
  isb();
}

void unmask_irqs() { asm volatile("msr daifclr, #2\n\tisb" ::: "memory"); }
void mask_irqs() { asm volatile("msr daifset, #2\n\tisb" ::: "memory"); }

void check_idle(const char* tag) {
  const uintptr_t frame = private_frame(g_gic, kGicr);
  check_eq(name("ptimer.%s.not-pending", tag), mmio_read32(frame + kIspendr0) & (1u << kPtimerIntid), 0);
  check_eq(name("ptimer.%s.not-active", tag), mmio_read32(frame + kIsactiver0) & (1u << kPtimerIntid), 0);
}

void check_taken(const char* tag, uint32_t before, uint64_t cval) {
  check_eq(name("ptimer.%s.irqs", tag), g_timer_irqs - before, 1);
  check_eq(name("ptimer.%s.intid", tag), g_last_intid, kPtimerIntid);
  check(name("ptimer.%s.not-early", tag), g_taken_at >= cval, "taken at 0x%lx, CVAL 0x%lx",
        static_cast<uint64_t>(g_taken_at), cval);
  check_idle(tag);
}

}  // namespace

int guest_main() {
  set_irq_handler(irq_handler);
  GUEST_WRITE_SYSREG(cntv_ctl_el0, 0);  // only the physical timer may interrupt

  // The counter and the timer's registers are the guest's: these would be
  // UNDEFINED (an exception the framework reports) if they trapped.
  const uint64_t t0 = physical_counter();
  const uint64_t t1 = physical_counter();
  check_ge("ptimer.cntpct.monotonic", t1, t0);
  GUEST_WRITE_SYSREG(cntp_ctl_el0, 0);
  GUEST_WRITE_SYSREG(cntp_cval_el0, t1 + us_to_ticks(1000000));
  GUEST_WRITE_SYSREG(cntp_ctl_el0, kTimerEnable);
  isb();
  check_eq("ptimer.cval.reads-back", GUEST_READ_SYSREG(cntp_cval_el0), t1 + us_to_ticks(1000000));
  check_eq("ptimer.ctl.not-yet-due", GUEST_READ_SYSREG(cntp_ctl_el0) & (kTimerEnable | kTimerIstatus),
           kTimerEnable);
  GUEST_WRITE_SYSREG(cntp_ctl_el0, 0);
  isb();

  g_gic = detect();
  info("GIC%s", g_gic == Version::kV2 ? "v2" : "v3");
  check("ptimer.gic", g_gic != Version::kNone && enable_gic(), "no GIC in the DT, or ICC_SRE_EL1.SRE reads 0");

  // 1. WFI with PSTATE.I masked, three armings.
  for (unsigned round = 0; round < 3; ++round) {
    const uint32_t before = g_timer_irqs;
    const uint64_t cval = physical_counter() + us_to_ticks(2000);
    arm_cval(cval);
    const uint64_t deadline = cval + us_to_ticks(1000000);
    while (g_timer_irqs == before && physical_counter() < deadline) {
      wfi();
      unmask_irqs();
      mask_irqs();
    }
    check_taken(name("wfi%u", round), before, cval);
  }

  // 2. Running with IRQs unmasked: the interrupt arrives without a WFI exit.
  {
    const uint32_t before = g_timer_irqs;
    const uint64_t cval = physical_counter() + us_to_ticks(2000);
    arm_cval(cval);
    unmask_irqs();
    const uint64_t deadline = cval + us_to_ticks(1000000);
    while (g_timer_irqs == before && physical_counter() < deadline) wfe();
    delay_us(5000);  // a second delivery would show here
    mask_irqs();
    check_taken("running", before, cval);
  }

  // 3. Armed through TVAL: CVAL = CNTPCT at the write + TVAL.
  {
    const uint32_t before = g_timer_irqs;
    const uint64_t ticks = us_to_ticks(3000);
    GUEST_WRITE_SYSREG(cntp_ctl_el0, 0);
    const uint64_t lo = physical_counter();
    GUEST_WRITE_SYSREG(cntp_tval_el0, ticks);
    isb();
    const uint64_t hi = physical_counter();
    const uint64_t cval = GUEST_READ_SYSREG(cntp_cval_el0);
    check("ptimer.tval.cval", cval >= lo + ticks && cval <= hi + ticks, "CVAL 0x%lx not in [0x%lx, 0x%lx]",
          cval, lo + ticks, hi + ticks);
    GUEST_WRITE_SYSREG(cntp_ctl_el0, kTimerEnable);
    isb();
    const uint64_t deadline = cval + us_to_ticks(1000000);
    while (g_timer_irqs == before && physical_counter() < deadline) {
      wfi();
      unmask_irqs();
      mask_irqs();
    }
    check_taken("tval", before, cval);
  }
  check_eq("ptimer.other-irqs", g_other_irqs, 0);
  return 0;
}
