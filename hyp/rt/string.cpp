// The C string and memory functions the EL2 image needs: the compiler emits
// calls to memcpy/memset/memmove/memcmp, and Debian's libfdt.a links against
// memchr, strlen, strnlen, strchr, strrchr and strtoul.
//
// Safe to run with the MMU off (where all memory is Device and unaligned
// accesses fault): every access is either a byte or naturally aligned.
// Compiled with -fno-tree-loop-distribute-patterns so GCC cannot turn these
// loops back into calls to themselves.
#include <cstddef>
#include <cstdint>

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (((reinterpret_cast<uintptr_t>(d) | reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
    // 128 bytes per iteration, all loads before the stores (GCC pairs them
    // into eight LDP and eight STP): 20 instructions per 128 bytes instead of
    // 80 a word at a time. A VM's kernel and initrd (tens of MiB) are copied
    // with this at boot. Loading a whole block first also keeps memmove's
    // forward copy (dst below src) correct.
    for (; n >= 128; n -= 128, d += 128, s += 128) {
      const auto* from = reinterpret_cast<const uint64_t*>(s);
      auto* to = reinterpret_cast<uint64_t*>(d);
      const uint64_t w0 = from[0], w1 = from[1], w2 = from[2], w3 = from[3];
      const uint64_t w4 = from[4], w5 = from[5], w6 = from[6], w7 = from[7];
      const uint64_t w8 = from[8], w9 = from[9], w10 = from[10], w11 = from[11];
      const uint64_t w12 = from[12], w13 = from[13], w14 = from[14], w15 = from[15];
      to[0] = w0, to[1] = w1, to[2] = w2, to[3] = w3, to[4] = w4, to[5] = w5, to[6] = w6, to[7] = w7;
      to[8] = w8, to[9] = w9, to[10] = w10, to[11] = w11, to[12] = w12, to[13] = w13, to[14] = w14, to[15] = w15;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
      *reinterpret_cast<uint64_t*>(d) = *reinterpret_cast<const uint64_t*>(s);
  }
  while (n-- > 0) *d++ = *s++;
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dst;
  if (d < s || d >= s + n) return memcpy(dst, src, n);
  // Overlapping with dst above src: copy backwards.
  while (n-- > 0) d[n] = s[n];
  return dst;
}

void* memset(void* dst, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto byte = static_cast<unsigned char>(c);
  while (n > 0 && (reinterpret_cast<uintptr_t>(d) & 7) != 0) {
    *d++ = byte;
    --n;
  }
  const uint64_t word = byte * 0x0101010101010101ull;
  // 64 bytes per iteration (four STP), as memcpy.
  for (; n >= 64; n -= 64, d += 64) {
    auto* to = reinterpret_cast<uint64_t*>(d);
    to[0] = word, to[1] = word, to[2] = word, to[3] = word;
    to[4] = word, to[5] = word, to[6] = word, to[7] = word;
  }
  for (; n >= 8; n -= 8, d += 8) *reinterpret_cast<uint64_t*>(d) = word;
  while (n-- > 0) *d++ = byte;
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* p = static_cast<const unsigned char*>(a);
  const auto* q = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i)
    if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
  return 0;
}

void* memchr(const void* s, int c, size_t n) {
  const auto* p = static_cast<const unsigned char*>(s);
  for (size_t i = 0; i < n; ++i)
    if (p[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p + i);
  return nullptr;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

size_t strnlen(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n] != '\0') ++n;
  return n;
}

char* strchr(const char* s, int c) {
  for (;; ++s) {
    if (*s == static_cast<char>(c)) return const_cast<char*>(s);
    if (*s == '\0') return nullptr;
  }
}

char* strrchr(const char* s, int c) {
  const char* last = nullptr;
  for (;; ++s) {
    if (*s == static_cast<char>(c)) last = s;
    if (*s == '\0') return const_cast<char*>(last);
  }
}

int strcmp(const char* a, const char* b) {
  for (; *a != '\0' && *a == *b; ++a, ++b) {
  }
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b) return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
    if (*a == '\0') return 0;
  }
  return 0;
}

// C11 7.22.1.4: optional whitespace and sign, base 0 (prefix-detected), 8,
// 10 or 16 (with optional 0x), saturating at ULONG_MAX on overflow.
unsigned long strtoul(const char* nptr, char** endptr, int base) {
  const char* s = nptr;
  while (*s == ' ' || (*s >= '\t' && *s <= '\r')) ++s;
  bool negative = false;
  if (*s == '+' || *s == '-') negative = *s++ == '-';
  const bool hex_prefix = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if ((base == 0 || base == 16) && hex_prefix) {
    const char c = s[2];
    const bool hex_digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (hex_digit) {
      s += 2;
      base = 16;
    }
  }
  if (base == 0) base = s[0] == '0' ? 8 : 10;
  if (base < 2 || base > 36) {
    if (endptr != nullptr) *endptr = const_cast<char*>(nptr);
    return 0;
  }
  unsigned long value = 0;
  bool overflow = false;
  const char* digits_start = s;
  for (;; ++s) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (*s >= 'a' && *s <= 'z') d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'Z') d = *s - 'A' + 10;
    else break;
    if (d >= base) break;
    const auto ubase = static_cast<unsigned long>(base);
    const auto ud = static_cast<unsigned long>(d);
    if (value > (~0ul - ud) / ubase) overflow = true;
    value = value * ubase + ud;
  }
  if (s == digits_start) {
    if (endptr != nullptr) *endptr = const_cast<char*>(nptr);
    return 0;
  }
  if (endptr != nullptr) *endptr = const_cast<char*>(s);
  if (overflow) return ~0ul;
  return negative ? (~value + 1) : value;
}

}  // extern "C"
