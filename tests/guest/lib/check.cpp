// GUEST-CHECK / GUEST-RESULT reporting.
#include "guest.hpp"

namespace guest {

void vprintf_details(const char* fmt, __builtin_va_list ap);

namespace {
unsigned g_run;
unsigned g_failed;

bool report(const char* check, bool ok) {
  ++g_run;
  if (!ok) ++g_failed;
  printf("GUEST-CHECK %s: %s", check, ok ? "PASS\n" : "FAIL ");
  return ok;
}
}  // namespace

bool check_eq(const char* check, uint64_t actual, uint64_t expected) {
  if (report(check, actual == expected)) return true;
  printf("expected 0x%lx actual 0x%lx\n", expected, actual);
  return false;
}

bool check_ne(const char* check, uint64_t actual, uint64_t unexpected) {
  if (report(check, actual != unexpected)) return true;
  printf("expected anything but 0x%lx actual 0x%lx\n", unexpected, actual);
  return false;
}

bool check_ge(const char* check, uint64_t actual, uint64_t minimum) {
  if (report(check, actual >= minimum)) return true;
  printf("expected >= 0x%lx actual 0x%lx\n", minimum, actual);
  return false;
}

bool check(const char* check, bool ok, const char* fail_fmt, ...) {
  if (report(check, ok)) return true;
  __builtin_va_list ap;
  __builtin_va_start(ap, fail_fmt);
  vprintf_details(fail_fmt, ap);
  __builtin_va_end(ap);
  putc('\n');
  return false;
}

void info(const char* fmt, ...) {
  puts("GUEST-INFO ");
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  vprintf_details(fmt, ap);
  __builtin_va_end(ap);
  putc('\n');
}

unsigned checks_run() { return g_run; }
unsigned checks_failed() { return g_failed; }

void add_results(unsigned run, unsigned failed) {
  g_run += run;
  g_failed += failed;
}

void finish() {
  if (g_run == 0) {
    printf("GUEST-RESULT: FAIL 1 of 1 (no checks ran)\n");
  } else if (g_failed == 0) {
    printf("GUEST-RESULT: PASS %u checks\n", g_run);
  } else {
    printf("GUEST-RESULT: FAIL %u of %u\n", g_failed, g_run);
  }
  // SYSTEM_OFF does not return (DEN 0022 "SYSTEM_OFF"); over HVC, which
  // both lamina and QEMU at EL1 serve.
  const int64_t r = psci_call(Conduit::kHvc, psci::kSystemOff);
  printf("GUEST-CHECK psci.system-off: FAIL returned 0x%lx\n", static_cast<uint64_t>(r));
  for (;;) wfi();
}

}  // namespace guest
