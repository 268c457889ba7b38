// HCR_EL2, Hypervisor Configuration Register. DDI 0487 K.a D23.2 "HCR_EL2".
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

// Stage-1 barrier shareability upgrade for EL1&0 (HCR_EL2.BSU).
enum class BarrierShareability : uint64_t {
  kNoEffect = 0b00,
  kInnerShareable = 0b01,
  kOuterShareable = 0b10,
  kFullSystem = 0b11,
};

#define LAMINA_HCR_EL2_FIELDS(X)      \
  X(vm, 0, 0, bool)                   \
  X(swio, 1, 1, bool)                 \
  X(ptw, 2, 2, bool)                  \
  X(fmo, 3, 3, bool)                  \
  X(imo, 4, 4, bool)                  \
  X(amo, 5, 5, bool)                  \
  X(vf, 6, 6, bool)                   \
  X(vi, 7, 7, bool)                   \
  X(vse, 8, 8, bool)                  \
  X(fb, 9, 9, bool)                   \
  X(bsu, 11, 10, BarrierShareability) \
  X(dc, 12, 12, bool)                 \
  X(twi, 13, 13, bool)                \
  X(twe, 14, 14, bool)                \
  X(tid0, 15, 15, bool)               \
  X(tid1, 16, 16, bool)               \
  X(tid2, 17, 17, bool)               \
  X(tid3, 18, 18, bool)               \
  X(tsc, 19, 19, bool)                \
  X(tidcp, 20, 20, bool)              \
  X(tacr, 21, 21, bool)               \
  X(tsw, 22, 22, bool)                \
  X(tpcp, 23, 23, bool)               \
  X(tpu, 24, 24, bool)                \
  X(ttlb, 25, 25, bool)               \
  X(tvm, 26, 26, bool)                \
  X(tge, 27, 27, bool)                \
  X(tdz, 28, 28, bool)                \
  X(hcd, 29, 29, bool)                \
  X(trvm, 30, 30, bool)               \
  X(rw, 31, 31, bool)                 \
  X(cd, 32, 32, bool)                 \
  X(id, 33, 33, bool)                 \
  X(e2h, 34, 34, bool)                \
  X(tlor, 35, 35, bool)               \
  X(terr, 36, 36, bool)               \
  X(tea, 37, 37, bool)                \
  X(miocnce, 38, 38, bool)            \
  X(apk, 40, 40, bool)                \
  X(api, 41, 41, bool)                \
  X(nv, 42, 42, bool)                 \
  X(nv1, 43, 43, bool)                \
  X(at, 44, 44, bool)                 \
  X(nv2, 45, 45, bool)                \
  X(fwb, 46, 46, bool)                \
  X(fien, 47, 47, bool)               \
  X(tid4, 49, 49, bool)               \
  X(ticab, 50, 50, bool)              \
  X(tocu, 52, 52, bool)               \
  X(ttlbis, 54, 54, bool)             \
  X(ttlbos, 55, 55, bool)             \
  X(ata, 56, 56, bool)                \
  X(dct, 57, 57, bool)                \
  X(tid5, 58, 58, bool)

struct HcrEl2 : RegisterValue<HcrEl2> {
  LAMINA_REGISTER_BODY(HcrEl2, "HCR_EL2", 0, 0, LAMINA_HCR_EL2_FIELDS)
};

}  // namespace lamina::arch
