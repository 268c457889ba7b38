// SPSR_ELx in the format it takes when the exception came from AArch32 state
// (SPSR_ELx.M[4] == 1). DDI 0487 K.a C5.2.18 "SPSR_EL1" and C5.2.19
// "SPSR_EL2", "When exception taken from AArch32 state".
//
// WARNING: this is not the AArch32 CPSR layout. In SPSR_ELx, DIT is bit 24
// and SS is bit 21; in the AArch32 CPSR, DIT is bit 21 (J, bit 24 before
// Armv8, is gone). The AArch64-format layout is arch/regs/pstate.hpp (Spsr).
#pragma once

#include "arch/regs/register.hpp"

namespace lamina::arch {

// SPSR_ELx.M[4:0] for an AArch32 source (M[4] is SPSR_ELx.nRW, always 1 here).
// DDI 0487 K.a G1.9.1 "AArch32 PE modes".
enum class Aarch32Mode : uint64_t {
  kUser = 0b10000,  // EL0
  kFiq = 0b10001,
  kIrq = 0b10010,
  kSupervisor = 0b10011,
  kMonitor = 0b10110,
  kAbort = 0b10111,
  kHyp = 0b11010,
  kUndefined = 0b11011,
  kSystem = 0b11111,
};

// IT[7:0] is split: IT[1:0] at [26:25], IT[7:2] at [15:10].
#define LAMINA_SPSR_AARCH32_FIELDS(X) \
  X(m, 4, 0, Aarch32Mode)             \
  X(t, 5, 5, bool)                    \
  X(f, 6, 6, bool)                    \
  X(i, 7, 7, bool)                    \
  X(a, 8, 8, bool)                    \
  X(e, 9, 9, bool)                    \
  X(it7_2, 15, 10, uint64_t)          \
  X(ge, 19, 16, uint64_t)             \
  X(il, 20, 20, bool)                 \
  X(ss, 21, 21, bool)                 \
  X(pan, 22, 22, bool)                \
  X(ssbs, 23, 23, bool)               \
  X(dit, 24, 24, bool)                \
  X(it1_0, 26, 25, uint64_t)          \
  X(q, 27, 27, bool)                  \
  X(v, 28, 28, bool)                  \
  X(c, 29, 29, bool)                  \
  X(z, 30, 30, bool)                  \
  X(n, 31, 31, bool)

struct SpsrAarch32 : RegisterValue<SpsrAarch32> {
  LAMINA_REGISTER_BODY(SpsrAarch32, "SPSR_ELx (AArch32 source)", 0, 0, LAMINA_SPSR_AARCH32_FIELDS)

  // PSTATE.IT[7:0], reassembled from its two pieces.
  [[nodiscard]] constexpr uint64_t it() const { return (get(it7_2) << 2) | get(it1_0); }
  [[nodiscard]] constexpr SpsrAarch32 with_it(uint64_t it) const {
    return with(it7_2, (it >> 2) & 0x3f).with(it1_0, it & 0b11);
  }
};

}  // namespace lamina::arch
