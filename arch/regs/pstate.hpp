// SPSR_ELx and CurrentEL: the saved and current processor state.
// DDI 0487 K.a C5.2 "SPSR_EL2", C5.1 "CurrentEL".
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

// SPSR_ELx.M[3:0] for an AArch64 source (M[4] == 0).
enum class Aarch64Mode : uint64_t {
  kEl0t = 0b0000,
  kEl1t = 0b0100,
  kEl1h = 0b0101,
  kEl2t = 0b1000,
  kEl2h = 0b1001,
};

#define LAMINA_SPSR_FIELDS(X)    \
  X(m, 3, 0, Aarch64Mode)        \
  X(nrw, 4, 4, bool)             \
  X(f, 6, 6, bool)               \
  X(i, 7, 7, bool)               \
  X(a, 8, 8, bool)               \
  X(d, 9, 9, bool)               \
  X(btype, 11, 10, uint64_t)     \
  X(ssbs, 12, 12, bool)          \
  X(il, 20, 20, bool)            \
  X(ss, 21, 21, bool)            \
  X(pan, 22, 22, bool)           \
  X(uao, 23, 23, bool)           \
  X(dit, 24, 24, bool)           \
  X(tco, 25, 25, bool)           \
  X(v, 28, 28, bool)             \
  X(c, 29, 29, bool)             \
  X(z, 30, 30, bool)             \
  X(n, 31, 31, bool)

struct Spsr : RegisterValue<Spsr> {
  LAMINA_REGISTER_BODY(Spsr, "SPSR_EL2", 0, 0, LAMINA_SPSR_FIELDS)
};

#define LAMINA_CURRENT_EL_FIELDS(X) X(el, 3, 2, uint64_t)

struct CurrentEl : RegisterValue<CurrentEl> {
  LAMINA_REGISTER_BODY(CurrentEl, "CurrentEL", 0, 0, LAMINA_CURRENT_EL_FIELDS)
};

}  // namespace lamina::arch
