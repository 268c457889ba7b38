// The freestanding framework for lamina's guest test programs.
//
// A guest defines `int guest_main()` (and, if it starts secondaries,
// `guest_secondary(cpu, context, entry)`), runs checks with the check_*
// functions, and returns; the framework prints the result line and powers
// the VM off with PSCI SYSTEM_OFF.
//
// Output protocol (read by tests/guest/guest_tests.cmake):
//   GUEST-CHECK <name>: PASS
//   GUEST-CHECK <name>: FAIL <details, expected/actual in hex>
//   GUEST-RESULT: PASS <n> checks   |   GUEST-RESULT: FAIL <k> of <n>
//   GUEST-INFO ...                   (informational, never matched)
//
// Environment: EL1, MMU off unless a guest turns it on (lib/mmu.hpp), so
// every data access is Device-nGnRnE: accesses must be aligned
// (-mstrict-align) and nothing relies on exclusives. Only the boot CPU
// prints; secondaries report through memory and SEV. Code is built with
// -mgeneral-regs-only: the framework never touches FP/SIMD.
#pragma once

#include <cstddef>
#include <cstdint>

#include "layout.h"

namespace guest {

// ---------------------------------------------------------------- barriers
inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb_sy() { asm volatile("dsb sy" ::: "memory"); }
inline void dmb_sy() { asm volatile("dmb sy" ::: "memory"); }
inline void sev() { asm volatile("sev" ::: "memory"); }
inline void wfe() { asm volatile("wfe" ::: "memory"); }
inline void wfi() { asm volatile("wfi" ::: "memory"); }
inline void compiler_barrier() { asm volatile("" ::: "memory"); }

// ---------------------------------------------------------- system registers
// `name` is an assembler register name or an S<op0>_<op1>_C<n>_C<m>_<op2>
// encoding (for registers the assembler may not know, e.g. ID_AA64ZFR0_EL1
// = S3_0_C0_C4_4).
#define GUEST_READ_SYSREG(name)                      \
  ({                                                 \
    uint64_t guest_v_;                               \
    asm volatile("mrs %0, " #name : "=r"(guest_v_)); \
    guest_v_;                                        \
  })
#define GUEST_WRITE_SYSREG(name, value) \
  asm volatile("msr " #name ", %0" ::"r"(static_cast<uint64_t>(value)) : "memory")

// Bits [hi:lo] of v, as in the Arm ARM's field tables.
constexpr uint64_t bits(uint64_t v, unsigned hi, unsigned lo) {
  return (v >> lo) & ((hi - lo >= 63) ? ~0ULL : ((1ULL << (hi - lo + 1)) - 1));
}

// ----------------------------------------------------------------- MMIO
// Single-copy accesses of exactly the given width (the compiler must not
// split or merge them: MMIO and Device memory).
inline uint8_t mmio_read8(uintptr_t a) { return *reinterpret_cast<volatile uint8_t*>(a); }
inline uint16_t mmio_read16(uintptr_t a) { return *reinterpret_cast<volatile uint16_t*>(a); }
inline uint32_t mmio_read32(uintptr_t a) { return *reinterpret_cast<volatile uint32_t*>(a); }
inline uint64_t mmio_read64(uintptr_t a) { return *reinterpret_cast<volatile uint64_t*>(a); }
inline void mmio_write8(uintptr_t a, uint8_t v) { *reinterpret_cast<volatile uint8_t*>(a) = v; }
inline void mmio_write16(uintptr_t a, uint16_t v) { *reinterpret_cast<volatile uint16_t*>(a) = v; }
inline void mmio_write32(uintptr_t a, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(a) = v; }
inline void mmio_write64(uintptr_t a, uint64_t v) { *reinterpret_cast<volatile uint64_t*>(a) = v; }

// --------------------------------------------------------------- platform
// The guest platform mirrors QEMU virt (RAM at 0x4000_0000, PL011 at
// 0x0900_0000); lamina's test device is where the harness puts it.
inline constexpr uintptr_t kRamBase = 0x40000000;
inline constexpr uintptr_t kPl011Base = 0x09000000;
inline constexpr uintptr_t kTestDeviceBase = 0x0b000000;
// An IPA inside QEMU virt's device area that neither QEMU virt nor lamina
// maps (between the virtio-mmio transports and the PCIe windows).
inline constexpr uintptr_t kHoleIpa = 0x0e000000;

// ------------------------------------------------------------- console
void console_init();
void putc(char c);
void puts(const char* s);  // no newline added
void printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Formats into buf (always NUL-terminated); returns the length written.
size_t snprintf(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// A name for a check built with printf syntax; valid until 8 more calls.
const char* name(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// -------------------------------------------------------------- checks
// Each prints one GUEST-CHECK line and returns whether it passed.
bool check_eq(const char* check, uint64_t actual, uint64_t expected);
bool check_ne(const char* check, uint64_t actual, uint64_t unexpected);
bool check_ge(const char* check, uint64_t actual, uint64_t minimum);
// Passes when ok; otherwise the printf-style details are printed after FAIL.
bool check(const char* check, bool ok, const char* fail_fmt = "", ...) __attribute__((format(printf, 3, 4)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));  // a GUEST-INFO line
unsigned checks_run();
unsigned checks_failed();
// Adds results counted elsewhere (checks of earlier boots in the SYSTEM_RESET
// guest; an unexpected exception).
void add_results(unsigned run, unsigned failed);
// Prints GUEST-RESULT and powers the VM off; never returns.
[[noreturn]] void finish();

// --------------------------------------------------------- PSCI / SMCCC
enum class Conduit { kHvc, kSmc };
inline const char* conduit_name(Conduit c) { return c == Conduit::kHvc ? "hvc" : "smc"; }

struct SmcccResult {
  uint64_t x0, x1, x2, x3;
};
SmcccResult smccc_call(Conduit c, uint64_t fid, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0);
inline int64_t psci_call(Conduit c, uint64_t fid, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
  return static_cast<int64_t>(smccc_call(c, fid, a1, a2, a3).x0);
}

// Function IDs: DEN 0022 (PSCI) 5.1 "Function prototypes"; DEN 0028 (SMCCC)
// 7 "Arm Architecture Calls". Written here independently of lamina's
// hyp/lib/psci_abi.hpp so that a wrong ID there is caught.
namespace psci {
inline constexpr uint32_t kVersion = 0x84000000;
inline constexpr uint32_t kCpuSuspend32 = 0x84000001;
inline constexpr uint32_t kCpuSuspend64 = 0xc4000001;
inline constexpr uint32_t kCpuOff = 0x84000002;
inline constexpr uint32_t kCpuOn32 = 0x84000003;
inline constexpr uint32_t kCpuOn64 = 0xc4000003;
inline constexpr uint32_t kAffinityInfo32 = 0x84000004;
inline constexpr uint32_t kAffinityInfo64 = 0xc4000004;
inline constexpr uint32_t kMigrate32 = 0x84000005;
inline constexpr uint32_t kMigrate64 = 0xc4000005;
inline constexpr uint32_t kMigrateInfoType = 0x84000006;
inline constexpr uint32_t kMigrateInfoUpCpu32 = 0x84000007;
inline constexpr uint32_t kMigrateInfoUpCpu64 = 0xc4000007;
inline constexpr uint32_t kSystemOff = 0x84000008;
inline constexpr uint32_t kSystemReset = 0x84000009;
inline constexpr uint32_t kFeatures = 0x8400000a;
inline constexpr uint32_t kCpuFreeze = 0x8400000b;
inline constexpr uint32_t kCpuDefaultSuspend32 = 0x8400000c;
inline constexpr uint32_t kCpuDefaultSuspend64 = 0xc400000c;
inline constexpr uint32_t kNodeHwState32 = 0x8400000d;
inline constexpr uint32_t kNodeHwState64 = 0xc400000d;
inline constexpr uint32_t kSystemSuspend32 = 0x8400000e;
inline constexpr uint32_t kSystemSuspend64 = 0xc400000e;
inline constexpr uint32_t kSetSuspendMode = 0x8400000f;
inline constexpr uint32_t kStatResidency32 = 0x84000010;
inline constexpr uint32_t kStatResidency64 = 0xc4000010;
inline constexpr uint32_t kStatCount32 = 0x84000011;
inline constexpr uint32_t kStatCount64 = 0xc4000011;
inline constexpr uint32_t kSystemReset2_32 = 0x84000012;
inline constexpr uint32_t kSystemReset2_64 = 0xc4000012;
inline constexpr uint32_t kMemProtect = 0x84000013;
inline constexpr uint32_t kMemProtectCheckRange32 = 0x84000014;
inline constexpr uint32_t kMemProtectCheckRange64 = 0xc4000014;

// DEN 0022 5.2.2 "Return error codes".
inline constexpr int64_t kSuccess = 0;
inline constexpr int64_t kNotSupported = -1;
inline constexpr int64_t kInvalidParameters = -2;
inline constexpr int64_t kDenied = -3;
inline constexpr int64_t kAlreadyOn = -4;
inline constexpr int64_t kOnPending = -5;
inline constexpr int64_t kInternalFailure = -6;
inline constexpr int64_t kNotPresent = -7;
inline constexpr int64_t kDisabled = -8;
inline constexpr int64_t kInvalidAddress = -9;

// AFFINITY_INFO results.
inline constexpr int64_t kAffinityOn = 0;
inline constexpr int64_t kAffinityOff = 1;
inline constexpr int64_t kAffinityOnPending = 2;
}  // namespace psci

namespace smccc {
inline constexpr uint32_t kVersion = 0x80000000;
inline constexpr uint32_t kArchFeatures = 0x80000001;
inline constexpr uint32_t kArchWorkaround1 = 0x80008000;
inline constexpr uint32_t kArchWorkaround2 = 0x80007fff;
inline constexpr uint32_t kArchWorkaround3 = 0x80003fff;
inline constexpr int64_t kNotSupported = -1;
inline constexpr int64_t kNotRequired = -2;
}  // namespace smccc

// PSCI target_cpu for vCPU i: Aff0 = i (MPIDR_EL1 without bit 31, the RES1
// bit, which is not part of an affinity value; DEN 0022 "CPU_ON").
inline constexpr uint64_t target_cpu(unsigned i) { return i; }

// ------------------------------------------------------------ CPU state
struct EntryState {
  uint64_t x[4];           // x0..x3 at entry
  uint64_t pc;             // where the entry point actually ran
  uint64_t current_el;     // CurrentEL (EL in bits 3:2)
  uint64_t daif;
  uint64_t spsel;
  uint64_t sctlr_el1;
  uint64_t mpidr;
  uint64_t bss_dirty;      // boot CPU: first nonzero .bss address at entry, or 0
  uint64_t valid;          // 1 once recorded
  uint64_t reserved[4];
};
static_assert(sizeof(EntryState) == (1u << ENTRY_SIZE_SHIFT));
static_assert(__builtin_offsetof(EntryState, pc) == ENTRY_PC);
static_assert(__builtin_offsetof(EntryState, current_el) == ENTRY_CURRENT_EL);
static_assert(__builtin_offsetof(EntryState, daif) == ENTRY_DAIF);
static_assert(__builtin_offsetof(EntryState, spsel) == ENTRY_SPSEL);
static_assert(__builtin_offsetof(EntryState, sctlr_el1) == ENTRY_SCTLR);
static_assert(__builtin_offsetof(EntryState, mpidr) == ENTRY_MPIDR);
static_assert(__builtin_offsetof(EntryState, bss_dirty) == ENTRY_BSS_DIRTY);
static_assert(__builtin_offsetof(EntryState, valid) == ENTRY_VALID);

const EntryState& boot_entry();
const EntryState& secondary_entry_state(unsigned cpu);  // as last recorded
// The addresses CPU_ON can start a secondary at (lib/start.S); both end
// in guest_secondary(), EntryState::pc tells which one ran.
uintptr_t secondary_entry_address();
uintptr_t secondary_entry_alt_address();
// The index (MPIDR_EL1.Aff0) of the calling CPU.
unsigned cpu_index();

// -------------------------------------------------------------- timer
uint64_t counter();  // CNTVCT_EL0, ordered by an ISB
uint64_t counter_freq();
uint64_t us_to_ticks(uint64_t us);
void delay_us(uint64_t us);
// Waits with WFE (woken by SEV or the counter's event stream) until
// done() or timeout_us has passed; returns done()'s last value.
template <typename Pred>
bool wait_until(Pred done, uint64_t timeout_us) {
  const uint64_t deadline = counter() + us_to_ticks(timeout_us);
  for (;;) {
    if (done()) return true;
    if (counter() > deadline) return done();
    wfe();
  }
}

// ------------------------------------------------------------ exceptions
struct Frame {
  uint64_t x[31];
  uint64_t sp;
  uint64_t elr, spsr, esr, far;
  uint64_t daif;    // PSTATE.DAIF in the handler
  uint64_t vector;  // offset in the vector table: 0x200 = current EL SPx sync
  uint64_t sp_el0;
  uint64_t pad;
};
static_assert(sizeof(Frame) == FRAME_SIZE);
static_assert(__builtin_offsetof(Frame, sp) == FRAME_SP);
static_assert(__builtin_offsetof(Frame, elr) == FRAME_ELR);
static_assert(__builtin_offsetof(Frame, spsr) == FRAME_SPSR);
static_assert(__builtin_offsetof(Frame, esr) == FRAME_ESR);
static_assert(__builtin_offsetof(Frame, far) == FRAME_FAR);
static_assert(__builtin_offsetof(Frame, daif) == FRAME_DAIF);
static_assert(__builtin_offsetof(Frame, vector) == FRAME_VECTOR);
static_assert(__builtin_offsetof(Frame, sp_el0) == FRAME_SP_EL0);

// Vector offsets (DDI 0487, "Exception vectors": VBAR_EL1 + 0x000/0x200/0x400/0x600
// for current EL with SP_EL0 / current EL with SP_ELx / lower EL AArch64 / AArch32).
inline constexpr uint64_t kVectorCurrentSp0Sync = 0x000;
inline constexpr uint64_t kVectorCurrentSpxSync = 0x200;
inline constexpr uint64_t kVectorLowerA64Sync = 0x400;

// ESR_EL1 (DDI 0487, "ESR_EL1, Exception Syndrome Register (EL1)"): EC [31:26],
// IL [25], ISS [24:0]; for data aborts (ISS encoding for an exception from a
// Data Abort) ISV [24], WnR [6], DFSC [5:0].
namespace esr {
inline constexpr uint64_t kEcUnknown = 0x00;
inline constexpr uint64_t kEcSvc64 = 0x15;
inline constexpr uint64_t kEcInstructionAbortLower = 0x20;
inline constexpr uint64_t kEcInstructionAbortSame = 0x21;
inline constexpr uint64_t kEcDataAbortLower = 0x24;
inline constexpr uint64_t kEcDataAbortSame = 0x25;
inline constexpr uint64_t kIl = 1ULL << 25;
inline constexpr uint64_t kIsv = 1ULL << 24;
inline constexpr uint64_t kWnR = 1ULL << 6;
// DFSC/IFSC 0b010000: synchronous external abort, not on a table walk.
inline constexpr uint64_t kFscSyncExternal = 0x10;
constexpr uint64_t ec(uint64_t e) { return bits(e, 31, 26); }
constexpr uint64_t make(uint64_t ec, uint64_t iss) { return (ec << 26) | kIl | iss; }
}  // namespace esr

// What the handler does after recording an expected exception.
enum class Resume {
  kNextInstruction,  // ELR += 4: skip the faulting instruction
  kLinkRegister,     // ELR = x30: return from a `blr` into a faulting target
};

struct TrapRecord {
  unsigned count = 0;  // exceptions taken while armed (expected: exactly 1)
  uint64_t esr = 0, far = 0, elr = 0, spsr = 0, vector = 0, daif = 0;
};

// Arms the handler to accept synchronous exceptions; disarm returns what it
// recorded (the first one). Anything taken while not armed is a FAIL
// ("unexpected-exception") and, where possible, skipped.
void arm_exception(Resume how);
TrapRecord disarm_exception();

template <typename F>
TrapRecord catch_exception(F&& f, Resume how = Resume::kNextInstruction) {
  arm_exception(how);
  f();
  compiler_barrier();
  return disarm_exception();
}

// Checks one recorded exception against the expected ESR (exact, all 64
// bits), FAR (if check_far), ELR, vector offset, SPSR mode and DAIF bits
// (NZCV and other PSTATE bits are not compared) and DAIF masked in the
// handler. Prints one check line named `check`.
bool check_exception(const char* check, const TrapRecord& t, uint64_t expected_esr, uint64_t expected_elr,
                     bool check_far, uint64_t expected_far, uint64_t expected_vector, uint64_t expected_spsr_mode);

// IRQs (vector +0x080/+0x280): the handler installed here runs for every
// IRQ vector taken (nullptr: an IRQ is an unexpected exception). It must
// acknowledge the interrupt itself.
using IrqHandler = void (*)(Frame*);
void set_irq_handler(IrqHandler handler);

// Runs fn(arg) at EL0t on stack el0_sp and returns when it returns.
extern "C" void guest_run_el0(void (*fn)(uint64_t), uintptr_t el0_sp, uint64_t arg);

// --------------------------------------------------------- device tree
struct MemoryRange {
  uint64_t base = 0, size = 0;
};
// The guest DT: x0 at entry if it holds a valid blob, else the one at RAM
// base (QEMU virt's placement for ELF payloads), else 0.
uintptr_t dtb();
bool fdt_valid(uintptr_t blob);
uint32_t fdt_total_size(uintptr_t blob);
MemoryRange fdt_memory(uintptr_t blob);  // the first /memory reg entry
unsigned fdt_cpu_count(uintptr_t blob);  // /cpus/cpu@* nodes
// Some node's "compatible" list holds `compatible`.
bool fdt_has_compatible(uintptr_t blob, const char* compatible);
// /psci "method" ("hvc"/"smc"), copied into buf; false if absent.
bool fdt_psci_method(uintptr_t blob, char* buf, size_t size);

// ------------------------------------------------------ link parameters
// Per-variant constants given at link time with
// -Wl,--defsym=guest_param_<name>=<value> (tests/guest/guests.mk); 0 when
// a variant does not define them.
// (The empty asm keeps the compiler from constant-folding the address of a
// weak symbol, which GCC 12 cannot always do.)
#define GUEST_PARAM(param)                                                     \
  ({                                                                           \
    extern char guest_param_##param __attribute__((weak));                     \
    uint64_t guest_p_ = reinterpret_cast<uintptr_t>(&guest_param_##param);     \
    asm("" : "+r"(guest_p_));                                                  \
    guest_p_;                                                                  \
  })

// --------------------------------------------------------- runtime
extern "C" void* memset(void* d, int c, size_t n);
extern "C" void* memcpy(void* d, const void* s, size_t n);
extern "C" int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
bool streq(const char* a, const char* b);

}  // namespace guest

// Defined by each guest.
int guest_main();
// Runs on a secondary started by CPU_ON at secondary_entry_address()
// (context = x0 at entry). The default powers the CPU off again.
void guest_secondary(unsigned cpu, uint64_t context, const guest::EntryState& entry);
