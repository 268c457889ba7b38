// Stage-2 translation descriptors, VMSAv8-64 with the 4K granule.
// DDI 0487 K.a D8.3 "Translation table descriptor formats", D8.5.5
// "Stage 2 memory type and Cacheability attributes" and D8.4.2 "Stage 2
// data access permissions". Layout only; mm/stage2_desc is the codec that
// turns abstract mappings into these and back.
//
// Unlike stage 1: memory type is MemAttr[5:2] (no MAIR, no AttrIndx),
// permissions are S2AP[7:6], execute-never is XN[54:53] (two bits with
// FEAT_XNX), there is no nG, and a table descriptor's NSTable/APTable/
// XNTable/PXNTable bits have no meaning (lamina keeps them zero).
#pragma once

#include "arch/regs/common.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

// S2AP[7:6]: what the guest may do through this mapping.
enum class S2Access : uint64_t {
  kNone = 0b00,
  kReadOnly = 0b01,
  kWriteOnly = 0b10,
  kReadWrite = 0b11,
};

// XN[54:53] with FEAT_XNX (D8.4.3 "Instruction execution permissions" for
// stage 2). Without FEAT_XNX only XN[1] (bit 54) exists and bit 53 is RES0:
// then only kExecutable and kNeverExecutable are valid.
enum class S2ExecuteNever : uint64_t {
  kExecutable = 0b00,           // EL1 and EL0 may execute
  kNotEl1 = 0b01,               // PXN: EL0 may, EL1 may not
  kNeverExecutable = 0b10,      // neither
  kNotEl0 = 0b11,               // UXN: EL1 may, EL0 may not
};

#define LAMINA_S2_LEAF_FIELDS(X)        \
  X(valid, 0, 0, bool)                  \
  X(is_page_or_table, 1, 1, bool)       \
  X(mem_attr, 5, 2, uint64_t)           \
  X(s2ap, 7, 6, S2Access)               \
  X(sh, 9, 8, Shareability)             \
  X(af, 10, 10, bool)                   \
  X(output_address, 47, 12, uint64_t)   \
  X(dbm, 51, 51, bool)                  \
  X(contiguous, 52, 52, bool)           \
  X(xn, 54, 53, S2ExecuteNever)         \
  X(software, 58, 55, uint64_t)

// A block (levels 1, 2) or page (level 3) descriptor. Bit 11 (stage 1's nG)
// is RES0 at stage 2; bits 63:59 are ignored or IMPLEMENTATION DEFINED and
// lamina keeps them zero.
struct S2Leaf : RegisterValue<S2Leaf> {
  LAMINA_REGISTER_BODY(S2Leaf, "stage-2 leaf descriptor", 1ull << 11, 0, LAMINA_S2_LEAF_FIELDS)
};

#define LAMINA_S2_TABLE_FIELDS(X)       \
  X(valid, 0, 0, bool)                  \
  X(is_table, 1, 1, bool)               \
  X(next_level, 47, 12, uint64_t)

// A table descriptor. Bits 63:59 (stage 1's NSTable, APTable, XNTable,
// PXNTable) are RES0 for stage 2 in lamina's use (DDI 0487 K.a D8.3.1
// "Table descriptor format": "ignored" for stage 2 translations).
struct S2Table : RegisterValue<S2Table> {
  LAMINA_REGISTER_BODY(S2Table, "stage-2 table descriptor", 0xf800'0000'0000'0000ull, 0,
                       LAMINA_S2_TABLE_FIELDS)
};

// VTTBR_EL2: the VM's root table and VMID. DDI 0487 K.a D23.2 "VTTBR_EL2".
// With 8-bit VMIDs, VMID[15:8] is RES0.
#define LAMINA_VTTBR_EL2_FIELDS(X)      \
  X(cnp, 0, 0, bool)                    \
  X(baddr, 47, 1, uint64_t)             \
  X(vmid, 63, 48, uint64_t)

struct VttbrEl2 : RegisterValue<VttbrEl2> {
  LAMINA_REGISTER_BODY(VttbrEl2, "VTTBR_EL2", 0, 0, LAMINA_VTTBR_EL2_FIELDS)
};

}  // namespace lamina::arch
