// A top-level node by compatible, read from the flattened device tree
// (DTSpec v0.4, 5 "Flattened Devicetree (DTB) Format": header fields
// off_dt_struct at 8, off_dt_strings at 12, size_dt_struct at 36; tokens
// FDT_BEGIN_NODE 1, FDT_END_NODE 2, FDT_PROP 3, FDT_NOP 4, FDT_END 9).
// Aligned 32-bit and byte reads only: the guest's MMU is off.
#include "dt_lookup.hpp"

namespace bench {
namespace {

using guest::mmio_read32;
using guest::mmio_read8;

constexpr uint32_t kBeginNode = 1, kEndNode = 2, kProp = 3, kNop = 4;

uint32_t be32(uintptr_t a) { return __builtin_bswap32(mmio_read32(a)); }

bool str_eq_at(uintptr_t a, const char* s) {
  for (;; ++a, ++s) {
    const char c = static_cast<char>(mmio_read8(a));
    if (c != *s) return false;
    if (c == '\0') return true;
  }
}

// Does the string list [value, value + len) hold `s` as one of its entries
// (DTSpec 2.2.4.1: <stringlist>, NUL-separated)?
bool stringlist_has(uintptr_t value, uint32_t len, const char* s) {
  uintptr_t p = value;
  const uintptr_t end = value + len;
  while (p < end) {
    if (str_eq_at(p, s)) return true;
    while (p < end && mmio_read8(p) != 0) ++p;
    ++p;
  }
  return false;
}

uint64_t read_cells(uintptr_t a, uint32_t cells) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < cells; ++i) v = (v << 32) | be32(a + 4 * i);
  return v;
}

}  // namespace

guest::MemoryRange fdt_find_compatible(uintptr_t blob, const char* compatible) {
  guest::MemoryRange found;
  if (!guest::fdt_valid(blob)) return found;
  const uintptr_t strings = blob + be32(blob + 12);
  uintptr_t p = blob + be32(blob + 8);
  const uintptr_t end = p + be32(blob + 36);
  // Root #address-cells/#size-cells default to 2/1 (DTSpec 2.3.5) and come
  // before the root's subnodes.
  uint32_t acells = 2, scells = 1;
  int depth = 0;
  bool match = false;  // the current depth-1 node is compatible
  uintptr_t reg = 0;
  uint32_t reg_len = 0;
  while (p < end) {
    const uint32_t token = be32(p);
    p += 4;
    if (token == kBeginNode) {
      ++depth;
      if (depth == 2) {
        match = false;
        reg = 0;
        reg_len = 0;
      }
      while (mmio_read8(p) != 0) ++p;
      p = (p + 1 + 3) & ~uintptr_t{3};
    } else if (token == kEndNode) {
      if (depth == 2 && match && reg != 0 && reg_len >= 4 * (acells + scells)) {
        found.base = read_cells(reg, acells);
        found.size = read_cells(reg + 4 * acells, scells);
        return found;
      }
      --depth;
    } else if (token == kProp) {
      const uint32_t len = be32(p);
      const uintptr_t name = strings + be32(p + 4);
      const uintptr_t value = p + 8;
      if (depth == 1 && str_eq_at(name, "#address-cells")) acells = be32(value);
      if (depth == 1 && str_eq_at(name, "#size-cells")) scells = be32(value);
      if (depth == 2 && str_eq_at(name, "compatible")) match = stringlist_has(value, len, compatible);
      if (depth == 2 && str_eq_at(name, "reg")) {
        reg = value;
        reg_len = len;
      }
      p = (value + len + 3) & ~uintptr_t{3};
    } else if (token == kNop) {
      continue;
    } else {
      break;  // FDT_END, or a token this reader does not know
    }
  }
  return found;
}

}  // namespace bench
