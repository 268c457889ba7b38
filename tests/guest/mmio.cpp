// mmio: lamina's emulated-access path, through its test device
// (--guest-test-device 0x0b000000, a 4 KiB window):
//   0x000-0x7ff  read-only pattern: byte at offset o = (o * 0x1f + 0x80) &
//                0xff, multi-byte reads assemble it little-endian; writes
//                are ignored but recorded
//   0x800        64-bit scratch register (a store of width w writes the low
//                w bytes of the register at that offset within it)
//   0x808        last write width (bytes)   0x810 last write value
//   0x818        last write offset          0x820 write count
//   0x828        read count
// Every access size, sign extension into W and X registers, W loads zeroing
// bits 63:32 (DDI 0487, "Registers in AArch64 state": a write to Wn zeroes
// Xn[63:32]), loads into XZR/WZR (no register changes, the read still
// happens), stores of XZR/WZR (value 0), acquire/release forms, every
// Rt = 0..30 (mmio_sweep.S) and several addressing modes.
//
// mmio-mmu.elf (GUEST_PARAM(mmu)) runs the same with an identity stage 1 on.
#include "guest.hpp"
#include "mmu.hpp"

extern const char kGuestName[] = "mmio";

extern "C" {
void mmio_sweep_ldr_x(uintptr_t, uint64_t*);
void mmio_sweep_ldr_w(uintptr_t, uint64_t*);
void mmio_sweep_ldrh(uintptr_t, uint64_t*);
void mmio_sweep_ldrb(uintptr_t, uint64_t*);
void mmio_sweep_ldrsb_x(uintptr_t, uint64_t*);
void mmio_sweep_ldrsb_w(uintptr_t, uint64_t*);
void mmio_sweep_ldrsh_x(uintptr_t, uint64_t*);
void mmio_sweep_ldrsh_w(uintptr_t, uint64_t*);
void mmio_sweep_ldrsw(uintptr_t, uint64_t*);
void mmio_sweep_ldar_x(uintptr_t, uint64_t*);
void mmio_sweep_ldar_w(uintptr_t, uint64_t*);
void mmio_sweep_ldarh(uintptr_t, uint64_t*);
void mmio_sweep_ldarb(uintptr_t, uint64_t*);
void mmio_sweep_str_x(uintptr_t, uint64_t*);
void mmio_sweep_str_w(uintptr_t, uint64_t*);
void mmio_sweep_strh(uintptr_t, uint64_t*);
void mmio_sweep_strb(uintptr_t, uint64_t*);
void mmio_sweep_stlr_x(uintptr_t, uint64_t*);
void mmio_sweep_stlr_w(uintptr_t, uint64_t*);
void mmio_sweep_stlrh(uintptr_t, uint64_t*);
void mmio_sweep_stlrb(uintptr_t, uint64_t*);
void mmio_zr_loads(uintptr_t, uint64_t*);
}

namespace {

using namespace guest;

constexpr uintptr_t kDev = kTestDeviceBase;
constexpr uintptr_t kScratch = kDev + 0x800;
constexpr uintptr_t kLastWidth = kDev + 0x808;
constexpr uintptr_t kLastValue = kDev + 0x810;
constexpr uintptr_t kLastOffset = kDev + 0x818;
constexpr uintptr_t kWriteCount = kDev + 0x820;
constexpr uintptr_t kReadCount = kDev + 0x828;

// The device's pattern, computed here from its definition.
constexpr uint64_t pat(uint64_t o) { return (o * 0x1f + 0x80) & 0xff; }
constexpr uint64_t pattern_le(uint64_t o, unsigned width) {
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i) v |= pat(o + i) << (8 * i);
  return v;
}
static_assert(pattern_le(0, 4) == 0xddbe9f80);  // 0x80, 0x9f, 0xbe, 0xdd
static_assert(pat(5) == 0x1b);

constexpr uint64_t mask(unsigned width) { return width == 8 ? ~0ULL : (1ULL << (8 * width)) - 1; }
// Sign-extends the low `width` bytes of v to 64 bits.
constexpr uint64_t sext(uint64_t v, unsigned width) {
  const uint64_t sign = 1ULL << (8 * width - 1);
  v &= mask(width);
  return (v ^ sign) - sign;
}
constexpr uint64_t wreg(uint64_t v) { return v & 0xffffffffULL; }

enum class Ext { kZero, kSignX, kSignW };

uint64_t expected_load(uint64_t offset, unsigned width, Ext ext) {
  const uint64_t raw = pattern_le(offset, width);
  switch (ext) {
    case Ext::kZero: return raw;
    case Ext::kSignX: return sext(raw, width);
    case Ext::kSignW: return wreg(sext(raw, width));
  }
  return raw;
}

uint64_t reads() { return mmio_read64(kReadCount); }
uint64_t writes() { return mmio_read64(kWriteCount); }

void check_pattern_everywhere() {
  const uint64_t r0 = reads();
  unsigned bad = 0;
  uint64_t first = 0, got = 0;
  for (uint64_t o = 0; o < 0x800; ++o) {
    const uint64_t v = mmio_read8(kDev + o);
    if (v != pat(o) && bad++ == 0) {
      first = o;
      got = v;
    }
  }
  check("mmio.pattern.every-byte", bad == 0, "%u bytes wrong, first at 0x%lx: expected 0x%lx actual 0x%lx", bad,
        first, pat(first), got);
  bad = 0;
  for (uint64_t o = 0; o < 0x800; o += 8) {
    const uint64_t v = mmio_read64(kDev + o);
    if (v != pattern_le(o, 8) && bad++ == 0) {
      first = o;
      got = v;
    }
  }
  check("mmio.pattern.every-dword", bad == 0, "%u dwords wrong, first at 0x%lx: expected 0x%lx actual 0x%lx", bad,
        first, pattern_le(first, 8), got);
  // 2048 + 256 reads, and the read of the count itself.
  check_eq("mmio.read-count.pattern-scan", reads() - r0, 2048 + 256 + 1);

  // Last words of the pattern window, each width.
  check_eq("mmio.pattern.ldrb-0x7ff", mmio_read8(kDev + 0x7ff), pat(0x7ff));
  check_eq("mmio.pattern.ldrh-0x7fe", mmio_read16(kDev + 0x7fe), pattern_le(0x7fe, 2));
  check_eq("mmio.pattern.ldr-w-0x7fc", mmio_read32(kDev + 0x7fc), pattern_le(0x7fc, 4));
  check_eq("mmio.pattern.ldr-x-0x7f8", mmio_read64(kDev + 0x7f8), pattern_le(0x7f8, 8));
}

struct LoadSweep {
  const char* what;
  void (*fn)(uintptr_t, uint64_t*);
  unsigned width;
  Ext ext;
};

void check_load_sweeps() {
  static const LoadSweep kSweeps[] = {
      {"ldr-x", mmio_sweep_ldr_x, 8, Ext::kZero},      {"ldr-w", mmio_sweep_ldr_w, 4, Ext::kZero},
      {"ldrh", mmio_sweep_ldrh, 2, Ext::kZero},        {"ldrb", mmio_sweep_ldrb, 1, Ext::kZero},
      {"ldrsb-x", mmio_sweep_ldrsb_x, 1, Ext::kSignX}, {"ldrsb-w", mmio_sweep_ldrsb_w, 1, Ext::kSignW},
      {"ldrsh-x", mmio_sweep_ldrsh_x, 2, Ext::kSignX}, {"ldrsh-w", mmio_sweep_ldrsh_w, 2, Ext::kSignW},
      {"ldrsw", mmio_sweep_ldrsw, 4, Ext::kSignX},     {"ldar-x", mmio_sweep_ldar_x, 8, Ext::kZero},
      {"ldar-w", mmio_sweep_ldar_w, 4, Ext::kZero},    {"ldarh", mmio_sweep_ldarh, 2, Ext::kZero},
      {"ldarb", mmio_sweep_ldarb, 1, Ext::kZero},
  };
  for (const LoadSweep& s : kSweeps) {
    uint64_t out[31];
    const uint64_t r0 = reads();
    s.fn(kDev, out);
    const uint64_t r1 = reads();
    unsigned bad = 0, first = 0;
    for (unsigned n = 0; n < 31; ++n) {
      if (out[n] != expected_load(s.width * n, s.width, s.ext) && bad++ == 0) first = n;
    }
    check(name("mmio.rt-sweep.%s", s.what), bad == 0, "%u of 31 registers wrong, first x%u: expected 0x%lx actual 0x%lx",
          bad, first, expected_load(s.width * first, s.width, s.ext), out[first]);
    check_eq(name("mmio.rt-sweep.%s.read-count", s.what), r1 - r0, 31 + 1);
  }
}

struct StoreSweep {
  const char* what;
  void (*fn)(uintptr_t, uint64_t*);
  unsigned width;
};

void check_store_sweeps() {
  static const StoreSweep kSweeps[] = {
      {"str-x", mmio_sweep_str_x, 8},   {"str-w", mmio_sweep_str_w, 4},   {"strh", mmio_sweep_strh, 2},
      {"strb", mmio_sweep_strb, 1},     {"stlr-x", mmio_sweep_stlr_x, 8}, {"stlr-w", mmio_sweep_stlr_w, 4},
      {"stlrh", mmio_sweep_stlrh, 2},   {"stlrb", mmio_sweep_stlrb, 1},
  };
  for (const StoreSweep& s : kSweeps) {
    uint64_t io[93];
    for (unsigned n = 0; n < 31; ++n) io[n] = 0x8877665544332211ULL + n * 0x0101010101010101ULL;
    const uint64_t w0 = writes();
    s.fn(kDev, io);
    const uint64_t w1 = writes();
    unsigned bad = 0, first = 0;
    for (unsigned n = 0; n < 31; ++n) {
      const uint64_t value = (0x8877665544332211ULL + n * 0x0101010101010101ULL) & mask(s.width);
      const bool ok = io[n] == value && io[31 + n] == s.width && io[62 + n] == 0x100 + 8 * n;
      if (!ok && bad++ == 0) first = n;
    }
    const uint64_t fv = (0x8877665544332211ULL + first * 0x0101010101010101ULL) & mask(s.width);
    check(name("mmio.rt-sweep.%s", s.what), bad == 0,
          "%u of 31 registers wrong, first x%u: value expected 0x%lx actual 0x%lx, width expected %u actual %lu, "
          "offset expected 0x%x actual 0x%lx",
          bad, first, fv, io[first], s.width, io[31 + first], 0x100 + 8 * first, io[62 + first]);
    check_eq(name("mmio.rt-sweep.%s.write-count", s.what), w1 - w0, 31);
  }
  // Stores to the pattern window are ignored.
  check_eq("mmio.pattern.unchanged-by-writes", mmio_read64(kDev + 0x100), pattern_le(0x100, 8));
}

void check_zero_register() {
  uint64_t out[33];
  const uint64_t r0 = reads();
  mmio_zr_loads(kDev + 0x40, out);
  const uint64_t r1 = reads();
  unsigned bad = 0, first = 0;
  uint64_t want_first = 0;
  for (unsigned n = 0; n < 31; ++n) {
    const uint64_t want = n == 15 ? kDev + 0x40 : (n + 1) * 0x0101010101010101ULL;
    if (out[n] != want && bad++ == 0) {
      first = n;
      want_first = want;
    }
  }
  check("mmio.zr-loads.registers-unchanged", bad == 0,
        "%u registers changed by loads into XZR/WZR, first x%u: expected 0x%lx actual 0x%lx", bad, first, want_first,
        out[first]);
  check_eq("mmio.zr-loads.sp-unchanged", out[32], out[31]);
  check_eq("mmio.zr-loads.read-count", r1 - r0, 13 + 1);

  // Stores of XZR/WZR write 0 of the access width.
  struct ZrStore {
    const char* what;
    unsigned width;
  };
  static const ZrStore kStores[] = {{"str-xzr", 8}, {"str-wzr", 4}, {"strh-wzr", 2}, {"strb-wzr", 1},
                                    {"stlr-xzr", 8}, {"stlr-wzr", 4}};
  for (unsigned i = 0; i < sizeof kStores / sizeof kStores[0]; ++i) {
    mmio_write64(kDev + 0x200, ~0ULL);  // a nonzero last value first
    const uint64_t w0 = writes();
    const uint64_t a = kDev + 0x208;
    switch (i) {
      case 0: asm volatile("str xzr, [%0]" ::"r"(a) : "memory"); break;
      case 1: asm volatile("str wzr, [%0]" ::"r"(a) : "memory"); break;
      case 2: asm volatile("strh wzr, [%0]" ::"r"(a) : "memory"); break;
      case 3: asm volatile("strb wzr, [%0]" ::"r"(a) : "memory"); break;
      case 4: asm volatile("stlr xzr, [%0]" ::"r"(a) : "memory"); break;
      case 5: asm volatile("stlr wzr, [%0]" ::"r"(a) : "memory"); break;
    }
    const uint64_t w1 = writes();
    check_eq(name("mmio.zr-store.%s.value", kStores[i].what), mmio_read64(kLastValue), 0);
    check_eq(name("mmio.zr-store.%s.width", kStores[i].what), mmio_read64(kLastWidth), kStores[i].width);
    check_eq(name("mmio.zr-store.%s.offset", kStores[i].what), mmio_read64(kLastOffset), 0x208);
    check_eq(name("mmio.zr-store.%s.write-count", kStores[i].what), w1 - w0, 1);
  }
}

void check_scratch() {
  mmio_write64(kScratch, 0x1122334455667788ULL);
  check_eq("mmio.scratch.str-x", mmio_read64(kScratch), 0x1122334455667788ULL);
  check_eq("mmio.scratch.last-width", mmio_read64(kLastWidth), 8);
  check_eq("mmio.scratch.last-value", mmio_read64(kLastValue), 0x1122334455667788ULL);
  check_eq("mmio.scratch.last-offset", mmio_read64(kLastOffset), 0x800);
  // Narrow stores replace only their bytes (little-endian byte lanes).
  mmio_write8(kScratch + 3, 0xaa);
  check_eq("mmio.scratch.strb-byte3", mmio_read64(kScratch), 0x11223344aa667788ULL);
  check_eq("mmio.scratch.strb-byte3.last-offset", mmio_read64(kLastOffset), 0x803);
  check_eq("mmio.scratch.strb-byte3.last-width", mmio_read64(kLastWidth), 1);
  mmio_write16(kScratch + 6, 0xbeef);
  check_eq("mmio.scratch.strh-bytes6-7", mmio_read64(kScratch), 0xbeef3344aa667788ULL);
  mmio_write32(kScratch, 0xcafef00d);
  check_eq("mmio.scratch.str-w-low", mmio_read64(kScratch), 0xbeef3344cafef00dULL);
  mmio_write32(kScratch + 4, 0x01020304);
  check_eq("mmio.scratch.str-w-high", mmio_read64(kScratch), 0x01020304cafef00dULL);
  // Narrow loads at an offset within the register read those bytes.
  check_eq("mmio.scratch.ldrb-byte5", mmio_read8(kScratch + 5), 0x03);
  check_eq("mmio.scratch.ldrh-bytes2-3", mmio_read16(kScratch + 2), 0xcafe);
  check_eq("mmio.scratch.ldr-w-high", mmio_read32(kScratch + 4), 0x01020304);
  // Sign extension of a value the guest wrote.
  mmio_write64(kScratch, 0x00000000ffff8081ULL);
  int64_t sb, sh;
  int32_t sw32;
  const uint64_t a = kScratch;
  asm volatile("ldrsb %0, [%1]" : "=r"(sb) : "r"(a) : "memory");
  check_eq("mmio.scratch.ldrsb-x-negative", static_cast<uint64_t>(sb), 0xffffffffffffff81ULL);
  asm volatile("ldrsh %0, [%1]" : "=r"(sh) : "r"(a) : "memory");
  check_eq("mmio.scratch.ldrsh-x-negative", static_cast<uint64_t>(sh), 0xffffffffffff8081ULL);
  asm volatile("ldrsh %w0, [%1]" : "=r"(sw32) : "r"(a) : "memory");
  check_eq("mmio.scratch.ldrsh-w-negative", static_cast<uint32_t>(sw32), 0xffff8081u);
}

// Addressing modes that still give a valid syndrome (no writeback).
void check_addressing_modes() {
  // Plain "r" operands: a register variable would not survive the calls
  // between the asm statements.
  uint64_t v;
  const uint64_t base = kDev + 0x100;
  uint64_t idx = 0x18;
  asm volatile("ldr %0, [%1, %2]" : "=r"(v) : "r"(base), "r"(idx) : "memory");
  check_eq("mmio.mode.register-offset", v, pattern_le(0x118, 8));
  idx = 3;
  asm volatile("ldr %0, [%1, %2, lsl #3]" : "=r"(v) : "r"(base), "r"(idx) : "memory");
  check_eq("mmio.mode.scaled-register-offset", v, pattern_le(0x118, 8));
  idx = static_cast<uint64_t>(-4) & 0xffffffffULL;  // w3 = -4, sign-extended by sxtw
  asm volatile("ldr %w0, [%1, %w2, sxtw]" : "=r"(v) : "r"(base), "r"(idx) : "memory");
  check_eq("mmio.mode.sxtw-register-offset", v, pattern_le(0xfc, 4));
  asm volatile("ldur %0, [%1, #-8]" : "=r"(v) : "r"(base) : "memory");
  check_eq("mmio.mode.unscaled-negative", v, pattern_le(0xf8, 8));
  asm volatile("ldurh %w0, [%1, #-2]" : "=r"(v) : "r"(base) : "memory");
  check_eq("mmio.mode.ldurh", v, pattern_le(0xfe, 2));
  asm volatile("ldursb %0, [%1, #-3]" : "=r"(v) : "r"(base) : "memory");
  check_eq("mmio.mode.ldursb-x", v, sext(pat(0xfd), 1));
}

// LDAPR (FEAT_LRCPC, ID_AA64ISAR1_EL1.LRCPC [23:20] >= 1).
void check_ldapr() {
  const uint64_t lrcpc = bits(GUEST_READ_SYSREG(id_aa64isar1_el1), 23, 20);
  if (lrcpc == 0) {
    info("FEAT_LRCPC not offered: LDAPR not tested");
    return;
  }
  uint64_t v;
  const uint64_t a = kDev + 0x60;
  asm volatile(".arch_extension rcpc\n ldapr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
  check_eq("mmio.ldapr-x", v, pattern_le(0x60, 8));
  asm volatile(".arch_extension rcpc\n ldaprb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
  check_eq("mmio.ldaprb", v, pat(0x60));
}

}  // namespace

int guest_main() {
  if (GUEST_PARAM(mmu) != 0) {
    const MemoryRange ram = fdt_memory(dtb());
    mmu_enable_identity(ram.base + ram.size);
    check("mmio.mmu-on", mmu_enabled(), "SCTLR_EL1.M still 0");
  }
  check_pattern_everywhere();
  check_load_sweeps();
  check_store_sweeps();
  check_zero_register();
  check_scratch();
  check_addressing_modes();
  check_ldapr();
  return 0;
}
