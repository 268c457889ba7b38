// Boot and secondary C entry, timer helpers, and the freestanding runtime.
#include "guest.hpp"

extern "C" char secondary_entry[];
extern "C" char secondary_entry_alt[];

// Written by lib/start.S before .bss is zeroed, so they live in .data.
extern "C" {
__attribute__((section(".data"))) guest::EntryState g_boot_entry = {};
__attribute__((section(".data"))) guest::EntryState g_secondary_entry[GUEST_MAX_CPUS] = {};
}

// Each guest may name itself (printed in the first line).
extern const char kGuestName[] __attribute__((weak));

namespace guest {
namespace {

// CNTKCTL_EL1 (DDI 0487, "CNTKCTL_EL1, Counter-timer Kernel Control
// Register"): EL0VCTEN [1], EVNTEN [2], EVNTDIR [3], EVNTI [7:4].
constexpr uint64_t kCntkctlEl0Vcten = 1u << 1;
constexpr uint64_t kCntkctlEvnten = 1u << 2;
constexpr unsigned kCntkctlEvntiShift = 4;

// The counter's event stream wakes WFE about every 64 us, so wait_until()
// needs no SEV to notice its deadline: one event per transition of counter
// bit EVNTI, i.e. every 2^(EVNTI+1) ticks.
void enable_event_stream() {
  const uint64_t ticks = counter_freq() / 15625;  // 64 us
  unsigned bit = 0;
  while (bit < 15 && (2ULL << (bit + 1)) <= ticks) ++bit;
  GUEST_WRITE_SYSREG(cntkctl_el1, kCntkctlEl0Vcten | kCntkctlEvnten | (uint64_t{bit} << kCntkctlEvntiShift));
  isb();
}

}  // namespace

const EntryState& boot_entry() { return g_boot_entry; }
const EntryState& secondary_entry_state(unsigned cpu) { return g_secondary_entry[cpu % GUEST_MAX_CPUS]; }
uintptr_t secondary_entry_address() { return reinterpret_cast<uintptr_t>(secondary_entry); }
uintptr_t secondary_entry_alt_address() { return reinterpret_cast<uintptr_t>(secondary_entry_alt); }
unsigned cpu_index() { return static_cast<unsigned>(GUEST_READ_SYSREG(mpidr_el1) & 0xff) % GUEST_MAX_CPUS; }

uint64_t counter() {
  isb();
  return GUEST_READ_SYSREG(cntvct_el0);
}
uint64_t counter_freq() { return GUEST_READ_SYSREG(cntfrq_el0); }
uint64_t us_to_ticks(uint64_t us) { return us * counter_freq() / 1000000; }
void delay_us(uint64_t us) {
  const uint64_t end = counter() + us_to_ticks(us);
  while (counter() < end) wfe();
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

bool streq(const char* a, const char* b) {
  for (; *a == *b; ++a, ++b)
    if (*a == '\0') return true;
  return false;
}

}  // namespace guest

extern "C" void* memset(void* d, int c, size_t n) {
  auto* p = static_cast<unsigned char*>(d);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(c);
  return d;
}

extern "C" void* memcpy(void* d, const void* s, size_t n) {
  auto* dp = static_cast<unsigned char*>(d);
  const auto* sp = static_cast<const unsigned char*>(s);
  for (size_t i = 0; i < n; ++i) dp[i] = sp[i];
  return d;
}

extern "C" void* memmove(void* d, const void* s, size_t n) {
  auto* dp = static_cast<unsigned char*>(d);
  const auto* sp = static_cast<const unsigned char*>(s);
  if (dp < sp) {
    for (size_t i = 0; i < n; ++i) dp[i] = sp[i];
  } else {
    for (size_t i = n; i > 0; --i) dp[i - 1] = sp[i - 1];
  }
  return d;
}

extern "C" int memcmp(const void* a, const void* b, size_t n) {
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i)
    if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
  return 0;
}

__attribute__((weak)) void guest_secondary(unsigned, uint64_t, const guest::EntryState&) {}

extern "C" [[noreturn]] void guest_boot_main(guest::EntryState*) {
  guest::console_init();
  guest::enable_event_stream();
  guest::printf("\nGUEST-INFO start %s (CPU MPIDR 0x%lx, counter %lu Hz)\n", &kGuestName ? kGuestName : "guest",
                GUEST_READ_SYSREG(mpidr_el1), guest::counter_freq());
  guest_main();
  guest::finish();
}

extern "C" [[noreturn]] void guest_secondary_main(uint64_t context, guest::EntryState* entry) {
  guest::enable_event_stream();
  guest_secondary(guest::cpu_index(), context, *entry);
  // CPU_OFF does not return on success (DEN 0022 "CPU_OFF").
  guest::psci_call(guest::Conduit::kHvc, guest::psci::kCpuOff);
  for (;;) guest::wfi();
}
