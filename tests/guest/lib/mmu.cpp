// Identity stage 1 (see mmu.hpp). Register and descriptor fields from DDI
// 0487: "TCR_EL1", "MAIR_EL1", "SCTLR_EL1", and "VMSAv8-64 translation table
// format descriptors" (block and table descriptors, stage 1 attributes).
#include "mmu.hpp"

#include "guest.hpp"

namespace guest {
namespace {

constexpr uint64_t kGiB = 1ULL << 30;
constexpr uint64_t kTwoMiB = 1ULL << 21;

// MAIR_EL1 attribute indexes: Attr0 Device-nGnRnE (0x00), Attr1 Normal
// inner/outer write-back read/write-allocate non-transient (0xff).
constexpr uint64_t kMairDevice = 0;
constexpr uint64_t kMairNormal = 1;
constexpr uint64_t kMairValue = 0x00ULL | (0xffULL << 8);

// Descriptor fields.
constexpr uint64_t kDescBlock = 0b01;
constexpr uint64_t kDescTable = 0b11;
constexpr unsigned kAttrIndxShift = 2;     // AttrIndx [4:2]
constexpr uint64_t kShInner = 0b11ULL << 8;  // SH [9:8]
constexpr uint64_t kAf = 1ULL << 10;         // AF [10]
constexpr uint64_t kPxn = 1ULL << 53;
constexpr uint64_t kUxn = 1ULL << 54;
// AP [7:6] = 0b00: EL1 read-write, EL0 no access.

// TCR_EL1 fields.
constexpr uint64_t kTcrT0sz39 = 25;             // T0SZ [5:0]
constexpr uint64_t kTcrIrgn0Wbwa = 0b01ULL << 8;
constexpr uint64_t kTcrOrgn0Wbwa = 0b01ULL << 10;
constexpr uint64_t kTcrSh0Inner = 0b11ULL << 12;
constexpr uint64_t kTcrTg0_4k = 0b00ULL << 14;
constexpr uint64_t kTcrEpd1 = 1ULL << 23;       // no TTBR1 walks
constexpr unsigned kTcrIpsShift = 32;           // IPS [34:32], PARange encoding

// SCTLR_EL1: M [0], C [2], I [12].
constexpr uint64_t kSctlrM = 1ULL << 0;
constexpr uint64_t kSctlrC = 1ULL << 2;
constexpr uint64_t kSctlrI = 1ULL << 12;

// PARange encodings (ID_AA64MMFR0_EL1.PARange [3:0]) to bits.
constexpr unsigned kPaBits[] = {32, 36, 40, 42, 44, 48, 52};

alignas(4096) uint64_t g_level1[512];
alignas(4096) uint64_t g_level2_first_gib[512];

void clean_invalidate(const void* p, uint64_t size) {
  for (uint64_t a = reinterpret_cast<uintptr_t>(p); a < reinterpret_cast<uintptr_t>(p) + size; a += 64)
    asm volatile("dc civac, %0" ::"r"(a) : "memory");
  dsb_sy();
}

}  // namespace

void mmu_enable_identity(uint64_t map_end) {
  const uint64_t parange = bits(GUEST_READ_SYSREG(id_aa64mmfr0_el1), 3, 0);
  const unsigned pa_bits = parange < 7 ? kPaBits[parange] : 48;
  const uint64_t ips = parange < 6 ? parange : 5;  // 39-bit VAs: 48-bit outputs suffice
  uint64_t limit = pa_bits >= 39 ? 512 * kGiB : (1ULL << pa_bits);
  map_end = (map_end + kGiB - 1) & ~(kGiB - 1);
  if (map_end > limit) map_end = limit;

  const uint64_t device = kDescBlock | (kMairDevice << kAttrIndxShift) | kAf | kPxn | kUxn;
  const uint64_t normal = kDescBlock | (kMairNormal << kAttrIndxShift) | kShInner | kAf;
  for (uint64_t i = 0; i < 512; ++i) {
    const uint64_t pa = i * kTwoMiB;
    g_level2_first_gib[i] = pa | (pa == (kHoleIpa & ~(kTwoMiB - 1)) ? normal : device);
  }
  g_level1[0] = reinterpret_cast<uintptr_t>(g_level2_first_gib) | kDescTable;
  for (uint64_t i = 1; i < 512; ++i) g_level1[i] = i * kGiB < map_end ? (i * kGiB) | normal : 0;
  // The tables were written with the MMU off (non-cacheable); the walker
  // reads them through the caches, which may hold stale lines.
  clean_invalidate(g_level1, sizeof g_level1);
  clean_invalidate(g_level2_first_gib, sizeof g_level2_first_gib);

  GUEST_WRITE_SYSREG(mair_el1, kMairValue);
  GUEST_WRITE_SYSREG(tcr_el1, kTcrT0sz39 | kTcrIrgn0Wbwa | kTcrOrgn0Wbwa | kTcrSh0Inner | kTcrTg0_4k | kTcrEpd1 |
                                  (ips << kTcrIpsShift));
  GUEST_WRITE_SYSREG(ttbr0_el1, reinterpret_cast<uintptr_t>(g_level1));
  isb();
  asm volatile("tlbi vmalle1\n dsb nsh\n ic iallu\n dsb nsh\n isb" ::: "memory");
  GUEST_WRITE_SYSREG(sctlr_el1, GUEST_READ_SYSREG(sctlr_el1) | kSctlrM | kSctlrC | kSctlrI);
  isb();
}

bool mmu_enabled() { return (GUEST_READ_SYSREG(sctlr_el1) & kSctlrM) != 0; }

}  // namespace guest
