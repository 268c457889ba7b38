// lamina-cntvct: reads the virtual counter and its frequency for /init, then
// prints, in one write:
//   lamina-cntvct                 cntvct=<CNTVCT_EL0> cntfrq=<CNTFRQ_EL0>
//   lamina-cntvct [LINE...] LABEL each LINE on its own line, then
//                                 LABEL cntvct=<CNTVCT_EL0> cntfrq=<CNTFRQ_EL0>
// so that the guest can time its own boot: on bare QEMU (CNTVOFF = 0) the
// counter counts from machine reset; under lamina add the CNTVOFF lamina
// applied. The counter is read first thing, and the marker lines a
// benchmark times (LINE) are written right after it by the same write(2):
// nothing (no fork, no exec) runs between the reading and the marker.
// busybox cannot read the counter, so this is its own tiny static program
// (no libc: two system calls).
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

// What one run prints at most; longer arguments are cut.
constexpr size_t kOutputBytes = 1024;
constexpr size_t kCounterFieldsBytes = 64;  // " cntvct=<20 digits> cntfrq=<20 digits>\n"

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

// Copies `s` up to `end` (exclusive).
char* put_string(char* p, const char* s, const char* end) {
  while (*s != '\0' && p < end) *p++ = *s++;
  return p;
}

}  // namespace

// The process entry, from _start below: `stack` is the initial stack pointer,
// where the kernel left argc, then argv[0..argc-1] and a null pointer (the
// System V ABI's process stack, as Linux builds it: fs/binfmt_elf.c).
extern "C" [[noreturn]] void lamina_cntvct_main(const long* stack) {
  uint64_t cntvct = 0;
  uint64_t cntfrq = 0;
  asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(cntvct) : : "memory");
  asm volatile("mrs %0, cntfrq_el0" : "=r"(cntfrq));

  const long argc = stack[0];
  const char* const* argv = reinterpret_cast<const char* const*>(stack + 1);
  char out[kOutputBytes];
  char* p = out;
  char* const text_end = out + kOutputBytes - kCounterFieldsBytes;
  for (long i = 1; i < argc; ++i) {
    p = put_string(p, argv[i], text_end);
    if (i + 1 < argc && p < text_end) *p++ = '\n';  // a LINE; the last argument is the LABEL
    else if (i + 1 == argc && p < text_end) *p++ = ' ';
  }
  p = put_string(p, "cntvct=", out + kOutputBytes);
  p = put_decimal(p, cntvct);
  p = put_string(p, " cntfrq=", out + kOutputBytes);
  p = put_decimal(p, cntfrq);
  *p++ = '\n';
  const long len = p - out;
  const long status = syscall3(kSysWrite, 1, reinterpret_cast<long>(out), len) == len ? 0 : 1;
  syscall3(kSysExitGroup, status, 0, 0);
  __builtin_unreachable();
}

// The ELF entry point: hand the initial stack pointer to C++ (the frame
// pointer and link register are cleared, the ABI's "outermost frame").
asm(R"(
  .text
  .globl _start
  .type _start, %function
_start:
  mov x29, xzr
  mov x30, xzr
  mov x0, sp
  b lamina_cntvct_main
  .size _start, . - _start
)");
