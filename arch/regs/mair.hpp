// MAIR_EL2 / MAIR_EL1, Memory Attribute Indirection Register.
// DDI 0487 K.a D23.2 "MAIR_EL2": eight 8-bit Attr<n> fields; a stage-1
// descriptor's AttrIndx[4:2] selects one. lamina uses one fixed table for
// every CPU and both regimes it ever programs.
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

// The attribute slots lamina assigns (a stage-1 descriptor's AttrIndx).
enum class MemAttrIndex : uint64_t {
  kDeviceNgnrne = 0,
  kDeviceNgnre = 1,
  kNormalNonCacheable = 2,
  kNormalWriteBack = 3,
};

// Attr<n> encodings, DDI 0487 K.a D23.2 "MAIR_EL2", field Attr<n>.
inline constexpr uint64_t kAttrDeviceNgnrne = 0x00;
inline constexpr uint64_t kAttrDeviceNgnre = 0x04;
inline constexpr uint64_t kAttrNormalNonCacheable = 0x44;             // inner+outer NC
inline constexpr uint64_t kAttrNormalWriteBackRwAllocate = 0xff;      // inner+outer WB RW-alloc

#define LAMINA_MAIR_FIELDS(X)  \
  X(attr0, 7, 0, uint64_t)     \
  X(attr1, 15, 8, uint64_t)    \
  X(attr2, 23, 16, uint64_t)   \
  X(attr3, 31, 24, uint64_t)   \
  X(attr4, 39, 32, uint64_t)   \
  X(attr5, 47, 40, uint64_t)   \
  X(attr6, 55, 48, uint64_t)   \
  X(attr7, 63, 56, uint64_t)

struct Mair : RegisterValue<Mair> {
  LAMINA_REGISTER_BODY(Mair, "MAIR_EL2", 0, 0, LAMINA_MAIR_FIELDS)

  // The table matching MemAttrIndex.
  [[nodiscard]] static constexpr Mair lamina_default() {
    return from_scratch()
        .with(attr0, kAttrDeviceNgnrne)
        .with(attr1, kAttrDeviceNgnre)
        .with(attr2, kAttrNormalNonCacheable)
        .with(attr3, kAttrNormalWriteBackRwAllocate);
  }
};
static_assert(static_cast<uint64_t>(MemAttrIndex::kDeviceNgnrne) == 0 &&
                  static_cast<uint64_t>(MemAttrIndex::kNormalWriteBack) == 3,
              "MemAttrIndex must match Mair::lamina_default()");

}  // namespace lamina::arch
