// lamina-cntvct: prints the virtual counter and its frequency for /init,
//   cntvct=<CNTVCT_EL0> cntfrq=<CNTFRQ_EL0>
// so that the guest can time its own boot: on bare QEMU (CNTVOFF = 0) the
// counter counts from machine reset; under lamina add the CNTVOFF lamina
// applied. busybox cannot read the counter, so this is its own tiny static
// program (no libc: two system calls).
//
// Linux lets EL0 read both registers (it sets CNTKCTL_EL1.EL0VCTEN, DDI 0487
// K.a, CNTKCTL_EL1). A counter read may be performed out of order with
// respect to earlier instructions unless an ISB precedes it (DDI 0487 K.a,
// the Generic Timer's counter reads), as Linux's __arch_counter_get_cntvct
// does.
#include <cstddef>
#include <cstdint>

namespace {

// Linux arm64 system call numbers (include/uapi/asm-generic/unistd.h).
constexpr long kSysWrite = 64;
constexpr long kSysExitGroup = 94;

long syscall3(long nr, long a0, long a1, long a2) {
  register long x8 asm("x8") = nr;
  register long x0 asm("x0") = a0;
  register long x1 asm("x1") = a1;
  register long x2 asm("x2") = a2;
  asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}

char* put_decimal(char* p, uint64_t v) {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n != 0) *p++ = digits[--n];
  return p;
}

char* put_string(char* p, const char* s) {
  while (*s != '\0') *p++ = *s++;
  return p;
}

}  // namespace

extern "C" [[noreturn]] void _start() {
  uint64_t cntvct = 0;
  uint64_t cntfrq = 0;
  asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(cntvct) : : "memory");
  asm volatile("mrs %0, cntfrq_el0" : "=r"(cntfrq));

  char line[64];
  char* p = put_string(line, "cntvct=");
  p = put_decimal(p, cntvct);
  p = put_string(p, " cntfrq=");
  p = put_decimal(p, cntfrq);
  *p++ = '\n';
  const long len = p - line;
  const long status = syscall3(kSysWrite, 1, reinterpret_cast<long>(line), len) == len ? 0 : 1;
  syscall3(kSysExitGroup, status, 0, 0);
  __builtin_unreachable();
}
