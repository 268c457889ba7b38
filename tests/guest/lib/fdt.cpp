// A minimal flattened device tree reader (DTSpec v0.4, 5 "Flattened
// Devicetree (DTB) Format"): header, structure block tokens, strings block.
// Reads only aligned 32-bit words and bytes (the MMU is off: Device memory).
#include "guest.hpp"

namespace guest {
namespace {

constexpr uint32_t kFdtMagic = 0xd00dfeed;
constexpr uint32_t kBeginNode = 1, kEndNode = 2, kProp = 3, kNop = 4, kEnd = 9;

uint32_t be32(uintptr_t a) { return __builtin_bswap32(mmio_read32(a)); }
uint8_t byte(uintptr_t a) { return mmio_read8(a); }

bool str_eq_at(uintptr_t a, const char* s) {
  for (;; ++a, ++s) {
    const char c = static_cast<char>(byte(a));
    if (c != *s) return false;
    if (c == '\0') return true;
  }
}

// Does the node name at `a` equal `base` or start with "base@"?
bool node_is(uintptr_t a, const char* base) {
  for (; *base != '\0'; ++a, ++base)
    if (static_cast<char>(byte(a)) != *base) return false;
  const char c = static_cast<char>(byte(a));
  return c == '\0' || c == '@';
}

uintptr_t skip_string(uintptr_t a) {
  while (byte(a) != 0) ++a;
  return (a + 1 + 3) & ~uintptr_t{3};
}

// Walks the structure block; for every property calls
// visit(depth, node names at depth 1 and 2, prop name, value address, len).
template <typename Visit>
void walk(uintptr_t blob, Visit visit) {
  if (!fdt_valid(blob)) return;
  const uintptr_t strings = blob + be32(blob + 12);
  uintptr_t p = blob + be32(blob + 8);
  const uintptr_t end = p + be32(blob + 36);
  int depth = 0;
  uintptr_t names[3] = {0, 0, 0};
  while (p < end) {
    const uint32_t token = be32(p);
    p += 4;
    switch (token) {
      case kBeginNode:
        if (depth < 3) names[depth] = p;
        ++depth;
        p = skip_string(p);
        break;
      case kEndNode: --depth; break;
      case kProp: {
        const uint32_t len = be32(p);
        const uint32_t nameoff = be32(p + 4);
        const uintptr_t value = p + 8;
        visit(depth, names, strings + nameoff, value, len);
        p = (value + len + 3) & ~uintptr_t{3};
        break;
      }
      case kNop: break;
      case kEnd: return;
      default: return;
    }
  }
}

uint64_t read_cells(uintptr_t a, uint32_t cells) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < cells; ++i) v = (v << 32) | be32(a + 4 * i);
  return v;
}

}  // namespace

bool fdt_valid(uintptr_t blob) { return blob != 0 && (blob & 3) == 0 && be32(blob) == kFdtMagic; }

uint32_t fdt_total_size(uintptr_t blob) { return fdt_valid(blob) ? be32(blob + 4) : 0; }

uintptr_t dtb() {
  const uintptr_t x0 = boot_entry().x[0];
  if (fdt_valid(x0)) return x0;
  if (fdt_valid(kRamBase)) return kRamBase;
  return 0;
}

MemoryRange fdt_memory(uintptr_t blob) {
  // Root #address-cells/#size-cells default to 2/1 (DTSpec 2.3.5); they
  // come before any subnode in the structure block.
  uint32_t acells = 2, scells = 1;
  MemoryRange r;
  bool found = false;
  walk(blob, [&](int depth, const uintptr_t* names, uintptr_t prop, uintptr_t value, uint32_t len) {
    if (depth == 1 && str_eq_at(prop, "#address-cells")) acells = be32(value);
    if (depth == 1 && str_eq_at(prop, "#size-cells")) scells = be32(value);
    if (!found && depth == 2 && node_is(names[1], "memory") && str_eq_at(prop, "reg") &&
        len >= 4 * (acells + scells)) {
      r.base = read_cells(value, acells);
      r.size = read_cells(value + 4 * acells, scells);
      found = true;
    }
  });
  return r;
}

unsigned fdt_cpu_count(uintptr_t blob) {
  unsigned n = 0;
  walk(blob, [&](int depth, const uintptr_t* names, uintptr_t prop, uintptr_t value, uint32_t) {
    if (depth == 3 && node_is(names[1], "cpus") && node_is(names[2], "cpu") && str_eq_at(prop, "device_type") &&
        str_eq_at(value, "cpu"))
      ++n;
  });
  return n;
}

bool fdt_has_compatible(uintptr_t blob, const char* compatible) {
  bool found = false;
  walk(blob, [&](int, const uintptr_t*, uintptr_t prop, uintptr_t value, uint32_t len) {
    if (found || !str_eq_at(prop, "compatible")) return;
    // A list of NUL-terminated strings.
    uintptr_t s = value;
    while (s < value + len) {
      if (str_eq_at(s, compatible)) {
        found = true;
        return;
      }
      while (s < value + len && byte(s) != 0) ++s;
      ++s;
    }
  });
  return found;
}

bool fdt_psci_method(uintptr_t blob, char* buf, size_t size) {
  bool found = false;
  walk(blob, [&](int depth, const uintptr_t* names, uintptr_t prop, uintptr_t value, uint32_t len) {
    if (found || depth != 2 || !node_is(names[1], "psci") || !str_eq_at(prop, "method")) return;
    size_t i = 0;
    for (; i + 1 < size && i < len && byte(value + i) != 0; ++i) buf[i] = static_cast<char>(byte(value + i));
    buf[i] = '\0';
    found = true;
  });
  return found;
}

}  // namespace guest
