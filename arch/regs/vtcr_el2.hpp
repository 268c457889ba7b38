// VTCR_EL2, Virtualization Translation Control Register: the geometry of
// every VM's stage-2 tables. DDI 0487 K.a D23.2 "VTCR_EL2". RES1: bit 31.
#pragma once

#include "arch/regs/common.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_VTCR_EL2_FIELDS(X)       \
  X(t0sz, 5, 0, uint64_t)               \
  X(sl0, 7, 6, uint64_t)                \
  X(irgn0, 9, 8, WalkCacheability)      \
  X(orgn0, 11, 10, WalkCacheability)    \
  X(sh0, 13, 12, Shareability)          \
  X(tg0, 15, 14, Tg0)                   \
  X(ps, 18, 16, PhysAddrSize)           \
  X(vs, 19, 19, bool)                   \
  X(ha, 21, 21, bool)                   \
  X(hd, 22, 22, bool)                   \
  X(nsw, 29, 29, bool)                  \
  X(nsa, 30, 30, bool)                  \
  X(ds, 32, 32, bool)                   \
  X(sl2, 33, 33, bool)

struct VtcrEl2 : RegisterValue<VtcrEl2> {
  LAMINA_REGISTER_BODY(VtcrEl2, "VTCR_EL2", 0, 1ull << 31, LAMINA_VTCR_EL2_FIELDS)
};

}  // namespace lamina::arch
