// abort: accesses lamina cannot emulate or that hit nothing must reach the
// guest as a synchronous external abort, delivered exactly as the
// architecture would deliver it (DDI 0487, "Exception entry" and the ESR_EL1
// data/instruction abort ISS encodings):
//   - data aborts: ESR_EL1 EC 0x25 from EL1 (0x24 from EL0), IL 1, ISV 0,
//     DFSC 0b010000 (synchronous external abort, not on a table walk), WnR
//     = the access direction, every other ISS bit 0; FAR_EL1 = the VA;
//     ELR_EL1 = the faulting instruction;
//   - instruction aborts: EC 0x21 (0x20 from EL0), IL 1, IFSC 0b010000,
//     FAR_EL1 = ELR_EL1 = the target;
//   - taken at VBAR_EL1 + 0x200 from EL1h (+0x400 from EL0), with SPSR_EL1
//     the interrupted mode and DAIF, and DAIF masked in the handler.
// Cases: ISV = 0 instructions on the emulated test device (load/store pair,
// pre/post-index writeback), which also must not reach the device; loads,
// stores and fetches in a hole (IPA 0x0e000000) and just past guest RAM.
//
// abort.elf runs with the MMU off (VA = IPA, EL1 and EL0); abort-mmu.elf
// (GUEST_PARAM(mmu)) first turns on an identity stage 1 (lib/mmu.hpp).
// Needs --guest-test-device 0x0b000000.
#include "guest.hpp"
#include "mmu.hpp"

extern const char kGuestName[] = "abort";

namespace {

using namespace guest;

constexpr uintptr_t kDev = kTestDeviceBase;
constexpr uintptr_t kDevWriteCount = kDev + 0x820;

uint64_t dabt_esr(uint64_t ec, bool write) {
  return esr::make(ec, (write ? esr::kWnR : 0) | esr::kFscSyncExternal);
}

// Runs `insn` (an assembler string using %[pc] for its own address label and
// %[a] for the address register x1) once, returns the instruction's address.
#define AT(insn)                                                                          \
  [&](uint64_t addr) {                                                                    \
    uintptr_t pc;                                                                         \
    register uint64_t a asm("x1") = addr;                                                 \
    asm volatile("adr %[pc], 1f\n1: " insn : [pc] "=&r"(pc), [a] "+r"(a)::"x2", "x3", "memory"); \
    g_base_after = a;                                                                     \
    return pc;                                                                            \
  }

uint64_t g_base_after;

template <typename Insn>
void expect_data_abort(const char* check_name, Insn insn, uint64_t addr, uint64_t far, bool write) {
  uintptr_t pc = 0;
  const TrapRecord t = catch_exception([&] { pc = insn(addr); });
  check_exception(check_name, t, dabt_esr(esr::kEcDataAbortSame, write), pc, true, far, kVectorCurrentSpxSync,
                  PSTATE_EL1H);
}

void isv0_on_device() {
  const uint64_t writes_before = mmio_read64(kDevWriteCount);
  expect_data_abort("abort.isv0.ldp-x", AT("ldp x2, x3, [%[a]]"), kDev + 0x10, kDev + 0x10, false);
  expect_data_abort("abort.isv0.ldp-w", AT("ldp w2, w3, [%[a]]"), kDev + 0x20, kDev + 0x20, false);
  expect_data_abort("abort.isv0.ldpsw", AT("ldpsw x2, x3, [%[a]]"), kDev + 0x28, kDev + 0x28, false);
  expect_data_abort("abort.isv0.stp-x", AT("stp x2, x3, [%[a]]"), kDev + 0x800, kDev + 0x800, true);
  expect_data_abort("abort.isv0.stp-w", AT("stp w2, w3, [%[a]]"), kDev + 0x30, kDev + 0x30, true);
  // Writeback: FAR is the address accessed (base + offset for pre-index,
  // base for post-index); the base register keeps its value because the
  // instruction did not complete.
  expect_data_abort("abort.isv0.ldr-pre-index", AT("ldr x2, [%[a], #8]!"), kDev + 0x40, kDev + 0x48, false);
  check_eq("abort.isv0.ldr-pre-index.base-unchanged", g_base_after, kDev + 0x40);
  expect_data_abort("abort.isv0.ldr-post-index", AT("ldr x2, [%[a]], #8"), kDev + 0x40, kDev + 0x40, false);
  check_eq("abort.isv0.ldr-post-index.base-unchanged", g_base_after, kDev + 0x40);
  expect_data_abort("abort.isv0.ldrb-post-index", AT("ldrb w2, [%[a]], #1"), kDev + 0x41, kDev + 0x41, false);
  expect_data_abort("abort.isv0.str-pre-index", AT("str x2, [%[a], #-16]!"), kDev + 0x810, kDev + 0x800, true);
  check_eq("abort.isv0.str-pre-index.base-unchanged", g_base_after, kDev + 0x810);
  expect_data_abort("abort.isv0.strh-post-index", AT("strh w2, [%[a]], #2"), kDev + 0x802, kDev + 0x802, true);
  expect_data_abort("abort.isv0.ldp-post-index", AT("ldp x2, x3, [%[a]], #16"), kDev + 0x50, kDev + 0x50, false);
  // The injected aborts replaced the accesses: no write reached the device
  // (reading the count is itself not a write).
  check_eq("abort.isv0.no-device-writes", mmio_read64(kDevWriteCount) - writes_before, 0);
}

void holes(uint64_t ram_end) {
  struct Place {
    const char* what;
    uint64_t ipa;
  };
  const Place kPlaces[] = {{"hole", kHoleIpa}, {"past-ram", ram_end}};
  for (const Place& p : kPlaces) {
    expect_data_abort(name("abort.%s.ldr-x", p.what), AT("ldr x2, [%[a]]"), p.ipa, p.ipa, false);
    expect_data_abort(name("abort.%s.ldrb", p.what), AT("ldrb w2, [%[a]]"), p.ipa + 3, p.ipa + 3, false);
    expect_data_abort(name("abort.%s.ldrsh-x", p.what), AT("ldrsh x2, [%[a]]"), p.ipa + 6, p.ipa + 6, false);
    expect_data_abort(name("abort.%s.str-w", p.what), AT("str w2, [%[a]]"), p.ipa + 8, p.ipa + 8, true);
    expect_data_abort(name("abort.%s.strb", p.what), AT("strb w2, [%[a], #0x11]"), p.ipa, p.ipa + 0x11, true);
    expect_data_abort(name("abort.%s.ldar", p.what), AT("ldar x2, [%[a]]"), p.ipa + 0x18, p.ipa + 0x18, false);
    expect_data_abort(name("abort.%s.stp", p.what), AT("stp x2, x3, [%[a]]"), p.ipa + 0x20, p.ipa + 0x20, true);
    expect_data_abort(name("abort.%s.ldp-pre-index", p.what), AT("ldp x2, x3, [%[a], #16]!"), p.ipa,
                      p.ipa + 16, false);

    // Instruction fetch: branch with link into the hole, resume at the
    // return address.
    uintptr_t ret = 0;
    const TrapRecord t = catch_exception(
        [&] {
          register uint64_t target asm("x16") = p.ipa;
          asm volatile("adr %0, 1f\n blr %1\n1:" : "=&r"(ret) : "r"(target) : "x30", "memory");
        },
        Resume::kLinkRegister);
    check_exception(name("abort.%s.fetch", p.what), t,
                    esr::make(esr::kEcInstructionAbortSame, esr::kFscSyncExternal), p.ipa, true, p.ipa,
                    kVectorCurrentSpxSync, PSTATE_EL1H);
  }
}

// --- EL0 (MMU off: EL0 may access anything) --------------------------------
alignas(16) uint8_t g_el0_stack[4096];
volatile uint64_t g_el0_pc;

void el0_load(uint64_t addr) {
  uintptr_t pc;
  register uint64_t a asm("x1") = addr;
  asm volatile("adr %0, 1f\n1: ldr x2, [%1]" : "=&r"(pc), "+r"(a)::"x2", "memory");
  g_el0_pc = pc;
}

void el0_store(uint64_t addr) {
  uintptr_t pc;
  register uint64_t a asm("x1") = addr;
  asm volatile("adr %0, 1f\n1: stp xzr, xzr, [%1]" : "=&r"(pc), "+r"(a)::"memory");
  g_el0_pc = pc;
}

void el0_fetch(uint64_t addr) {
  register uint64_t target asm("x16") = addr;
  asm volatile("blr %0" ::"r"(target) : "x30", "memory");
}

void from_el0(uint64_t ram_end) {
  const uintptr_t sp = reinterpret_cast<uintptr_t>(g_el0_stack + sizeof g_el0_stack);
  struct Case {
    const char* what;
    void (*fn)(uint64_t);
    uint64_t addr;
    bool write;
  };
  const Case kCases[] = {
      {"el0.hole.ldr", el0_load, kHoleIpa, false},
      {"el0.past-ram.ldr", el0_load, ram_end, false},
      {"el0.hole.stp", el0_store, kHoleIpa + 0x40, true},
      {"el0.isv0.stp-device", el0_store, kDev + 0x800, true},
  };
  for (const Case& c : kCases) {
    g_el0_pc = 0;
    arm_exception(Resume::kNextInstruction);
    guest_run_el0(c.fn, sp, c.addr);
    const TrapRecord t = disarm_exception();
    check_exception(name("abort.%s", c.what), t, dabt_esr(esr::kEcDataAbortLower, c.write), g_el0_pc, true, c.addr,
                    kVectorLowerA64Sync, PSTATE_EL0T);
  }
  arm_exception(Resume::kLinkRegister);
  guest_run_el0(el0_fetch, sp, kHoleIpa);
  const TrapRecord t = disarm_exception();
  check_exception("abort.el0.hole.fetch", t, esr::make(esr::kEcInstructionAbortLower, esr::kFscSyncExternal),
                  kHoleIpa, true, kHoleIpa, kVectorLowerA64Sync, PSTATE_EL0T);
}

}  // namespace

int guest_main() {
  const MemoryRange ram = fdt_memory(dtb());
  const uint64_t ram_end = ram.base + ram.size;
  check("abort.dt-memory", ram.size != 0, "no /memory in the DT");
  const bool mmu = GUEST_PARAM(mmu) != 0;
  if (mmu) {
    mmu_enable_identity(ram_end + 1);
    check("abort.mmu-on", mmu_enabled(), "SCTLR_EL1.M still 0");
  }
  info("MMU %s, RAM ends at 0x%lx", mmu ? "on (identity)" : "off", ram_end);
  isv0_on_device();
  holes(ram_end);
  if (!mmu) from_el0(ram_end);
  return 0;
}
