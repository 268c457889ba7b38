// debugregs: the debug registers are the guest's own (lamina does not trap
// them, MDCR_EL2.TDA/TDOSA/TDRA = 0, and switches them with the vCPU), so
// what Linux's early CPU setup does works: MDSCR_EL1 written and read back,
// the OS lock released through OSLAR_EL1 and seen released in OSLSR_EL1,
// the OS double lock cleared, a breakpoint value register written and read
// back (DDI 0487 D2 "AArch64 Self-hosted Debug", D23.3 register
// descriptions). Any trap here would be an unexpected exception: a FAIL.
#include "guest.hpp"

extern const char kGuestName[] = "debugregs";

namespace {

constexpr uint64_t kMdscrTdcc = 1u << 12;  // MDSCR_EL1.TDCC
constexpr uint64_t kMdscrMde = 1u << 15;   // MDSCR_EL1.MDE
constexpr uint64_t kOslsrOslk = 1u << 1;   // OSLSR_EL1.OSLK
constexpr uint64_t kBreakpointAddress = 0x4008'1234'5678'0000ull & 0x0000'ffff'ffff'fffcull;

}  // namespace

int guest_main() {
  using namespace guest;
  uint64_t v;
  asm volatile("msr mdscr_el1, %0\n\tisb" ::"r"(kMdscrTdcc | kMdscrMde));
  asm volatile("mrs %0, mdscr_el1" : "=r"(v));
  check_eq("debugregs.mdscr_el1.write-read", v & (kMdscrTdcc | kMdscrMde), kMdscrTdcc | kMdscrMde);
  asm volatile("msr mdscr_el1, xzr\n\tisb");
  asm volatile("mrs %0, mdscr_el1" : "=r"(v));
  check_eq("debugregs.mdscr_el1.cleared", v & (kMdscrTdcc | kMdscrMde), 0);

  // Linux's clear_os_lock(): OSDLR_EL1 = 0, OSLAR_EL1 = 0.
  asm volatile("msr osdlr_el1, xzr\n\tmsr oslar_el1, xzr\n\tisb");
  asm volatile("mrs %0, oslsr_el1" : "=r"(v));
  check_eq("debugregs.oslsr_el1.unlocked", v & kOslsrOslk, 0);

  asm volatile("msr dbgbvr0_el1, %0\n\tisb" ::"r"(kBreakpointAddress));
  asm volatile("mrs %0, dbgbvr0_el1" : "=r"(v));
  check_eq("debugregs.dbgbvr0_el1.write-read", v, kBreakpointAddress);
  asm volatile("msr dbgbvr0_el1, xzr");
  return 0;
}
