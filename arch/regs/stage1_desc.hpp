// Stage-1 translation descriptors for lamina's own EL2 regime (VMSAv8-64,
// 4K granule, HCR_EL2.E2H == 0). DDI 0487 K.a D8.3 "Translation table
// descriptor formats". The stage-2 codec is a separate type (mm/), because
// the two formats put memory type and permissions in different fields.
#pragma once

#include "arch/regs/common.hpp"
#include "arch/regs/mair.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

// AP[2:1] for a single-privilege regime: AP[1] is RES1 at EL2 with
// E2H == 0 (the "EL0" bit has no meaning where there is no EL0), so
// read-write is 0b01 and read-only is 0b11.
// DDI 0487 K.a D8.4.1 "Stage 1 data access permissions".
enum class El2Access : uint64_t {
  kReadWrite = 0b01,
  kReadOnly = 0b11,
};

#define LAMINA_S1_LEAF_FIELDS(X)         \
  X(valid, 0, 0, bool)                   \
  X(is_page_or_table, 1, 1, bool)        \
  X(attr_index, 4, 2, MemAttrIndex)      \
  X(ns, 5, 5, bool)                      \
  X(ap, 7, 6, El2Access)                 \
  X(sh, 9, 8, Shareability)              \
  X(af, 10, 10, bool)                    \
  X(ng, 11, 11, bool)                    \
  X(output_address, 47, 12, uint64_t)    \
  X(contiguous, 52, 52, bool)            \
  X(pxn, 53, 53, bool)                   \
  X(xn, 54, 54, bool)                    \
  X(software, 58, 55, uint64_t)

// A block (levels 1, 2) or page (level 3) descriptor. output_address holds
// PA[47:12]; for blocks the low bits below the block size must be zero.
struct S1Leaf : RegisterValue<S1Leaf> {
  LAMINA_REGISTER_BODY(S1Leaf, "stage-1 leaf descriptor", 0, 0, LAMINA_S1_LEAF_FIELDS)
};

#define LAMINA_S1_TABLE_FIELDS(X)        \
  X(valid, 0, 0, bool)                   \
  X(is_table, 1, 1, bool)                \
  X(next_level, 47, 12, uint64_t)        \
  X(pxn_table, 59, 59, bool)             \
  X(xn_table, 60, 60, bool)              \
  X(ap_table, 62, 61, uint64_t)          \
  X(ns_table, 63, 63, bool)

struct S1Table : RegisterValue<S1Table> {
  LAMINA_REGISTER_BODY(S1Table, "stage-1 table descriptor", 0, 0, LAMINA_S1_TABLE_FIELDS)
};

}  // namespace lamina::arch
