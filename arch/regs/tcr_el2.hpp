// TCR_EL2, Translation Control Register (EL2), layout for HCR_EL2.E2H == 0
// (one VA range, TTBR0_EL2 only). DDI 0487 K.a D23.2 "TCR_EL2". RES1: 31, 23.
#pragma once

#include "arch/regs/common.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_TCR_EL2_FIELDS(X)        \
  X(t0sz, 5, 0, uint64_t)               \
  X(irgn0, 9, 8, WalkCacheability)      \
  X(orgn0, 11, 10, WalkCacheability)    \
  X(sh0, 13, 12, Shareability)          \
  X(tg0, 15, 14, Tg0)                   \
  X(ps, 18, 16, PhysAddrSize)           \
  X(tbi, 20, 20, bool)                  \
  X(ha, 21, 21, bool)                   \
  X(hd, 22, 22, bool)                   \
  X(hpd, 24, 24, bool)                  \
  X(tbid, 29, 29, bool)                 \
  X(tcma, 30, 30, bool)                 \
  X(ds, 32, 32, bool)

struct TcrEl2 : RegisterValue<TcrEl2> {
  LAMINA_REGISTER_BODY(TcrEl2, "TCR_EL2", 0, (1ull << 31) | (1ull << 23), LAMINA_TCR_EL2_FIELDS)
};

}  // namespace lamina::arch
