// Polled PL011 console and a small printf (%s %c %d %i %u %x %X %p, flags
// '0' '-', width, l/ll/z length modifiers). PL011 registers: Arm DDI 0183
// "PrimeCell UART (PL011) Technical Reference Manual", 3.2 "Summary of
// registers": UARTDR 0x000, UARTFR 0x018 (TXFF bit 5), UARTCR 0x030 (UARTEN
// bit 0, TXE bit 8, RXE bit 9).
#include "guest.hpp"

namespace guest {
namespace {

constexpr uintptr_t kUartDr = kPl011Base + 0x000;
constexpr uintptr_t kUartFr = kPl011Base + 0x018;
constexpr uintptr_t kUartCr = kPl011Base + 0x030;
constexpr uint32_t kFrTxff = 1u << 5;
constexpr uint32_t kCrEnable = (1u << 0) | (1u << 8) | (1u << 9);  // UARTEN | TXE | RXE

// A bound on TXFF polling so that a console that never drains cannot hang a
// guest silently (the character is written anyway).
constexpr unsigned kTxPollLimit = 1u << 20;

struct Sink {
  char* buf;
  size_t size;
  size_t len;
  void put(char c) {
    if (buf == nullptr) {
      guest::putc(c);
    } else if (len + 1 < size) {
      buf[len] = c;
    }
    ++len;
  }
};

void put_unsigned(Sink& out, uint64_t v, unsigned base, bool upper, int width, bool zero, bool left,
                  bool negative) {
  char digits[24];
  int n = 0;
  const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[n++] = set[v % base];
    v /= base;
  } while (v != 0);
  int len = n + (negative ? 1 : 0);
  if (!left && !zero) {
    for (; len < width; ++len) out.put(' ');
  }
  if (negative) out.put('-');
  if (!left && zero) {
    for (; len < width; ++len) out.put('0');
  }
  while (n > 0) out.put(digits[--n]);
  if (left) {
    for (; len < width; ++len) out.put(' ');
  }
}

void vformat(Sink& out, const char* fmt, __builtin_va_list ap) {
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      out.put(*p);
      continue;
    }
    ++p;
    bool zero = false, left = false;
    for (;; ++p) {
      if (*p == '0') zero = true;
      else if (*p == '-') left = true;
      else break;
    }
    int width = 0;
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int longs = 0;
    while (*p == 'l' || *p == 'z') {
      ++longs;
      ++p;
    }
    switch (*p) {
      case '%': out.put('%'); break;
      case 'c': out.put(static_cast<char>(__builtin_va_arg(ap, int))); break;
      case 's': {
        const char* s = __builtin_va_arg(ap, const char*);
        if (s == nullptr) s = "(null)";
        int len = static_cast<int>(strlen(s));
        if (!left)
          for (; len < width; ++len) out.put(' ');
        while (*s != '\0') out.put(*s++);
        if (left)
          for (; len < width; ++len) out.put(' ');
        break;
      }
      case 'd':
      case 'i': {
        const int64_t v = longs > 0 ? __builtin_va_arg(ap, int64_t) : __builtin_va_arg(ap, int);
        const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        put_unsigned(out, mag, 10, false, width, zero, left, v < 0);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        const uint64_t v = longs > 0 ? __builtin_va_arg(ap, uint64_t) : __builtin_va_arg(ap, unsigned);
        put_unsigned(out, v, *p == 'u' ? 10 : 16, *p == 'X', width, zero, left, false);
        break;
      }
      case 'p': {
        out.put('0');
        out.put('x');
        put_unsigned(out, reinterpret_cast<uintptr_t>(__builtin_va_arg(ap, void*)), 16, false, width, zero, left,
                     false);
        break;
      }
      case '\0': return;
      default:
        out.put('%');
        out.put(*p);
        break;
    }
  }
}

}  // namespace

void console_init() {
  // Enable the UART only if it is not: lamina's emulated PL011 and QEMU's
  // both transmit when enabled; a firmware-enabled UART is left alone.
  const uint32_t cr = mmio_read32(kUartCr);
  if ((cr & kCrEnable) != kCrEnable) mmio_write32(kUartCr, cr | kCrEnable);
}

void putc(char c) {
  if (c == '\n') putc('\r');
  for (unsigned i = 0; i < kTxPollLimit && (mmio_read32(kUartFr) & kFrTxff) != 0; ++i) {
  }
  mmio_write32(kUartDr, static_cast<uint8_t>(c));
}

void puts(const char* s) {
  while (*s != '\0') putc(*s++);
}

void printf(const char* fmt, ...) {
  Sink out{nullptr, 0, 0};
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  vformat(out, fmt, ap);
  __builtin_va_end(ap);
}

size_t snprintf(char* buf, size_t size, const char* fmt, ...) {
  Sink out{buf, size, 0};
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  vformat(out, fmt, ap);
  __builtin_va_end(ap);
  if (size > 0) buf[out.len < size ? out.len : size - 1] = '\0';
  return out.len;
}

const char* name(const char* fmt, ...) {
  static char bufs[8][96];
  static unsigned next;
  char* buf = bufs[next++ % 8];
  Sink out{buf, sizeof bufs[0], 0};
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  vformat(out, fmt, ap);
  __builtin_va_end(ap);
  buf[out.len < sizeof bufs[0] ? out.len : sizeof bufs[0] - 1] = '\0';
  return buf;
}

// Used by check.cpp for the FAIL details.
void vprintf_details(const char* fmt, __builtin_va_list ap) {
  Sink out{nullptr, 0, 0};
  vformat(out, fmt, ap);
}

}  // namespace guest
