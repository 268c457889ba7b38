// Registers that hold one plain value (an address, a count, an ID) rather
// than fields worth naming, and the few with a single address field.
#pragma once

#include "arch/regs/mair.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

// A register whose whole content is one 64-bit value.
#define LAMINA_PLAIN_REGISTER(Type, arm_name)                              \
  struct Type : RegisterValue<Type> {                                      \
    using RegisterValue<Type>::RegisterValue;                              \
    static constexpr const char* kName = arm_name;                         \
    static constexpr uint64_t kRes0 = 0;                                   \
    static constexpr uint64_t kRes1 = 0;                                   \
    [[nodiscard]] constexpr uint64_t value() const { return raw(); }       \
  };

LAMINA_PLAIN_REGISTER(VbarEl2, "VBAR_EL2")
LAMINA_PLAIN_REGISTER(TpidrEl2, "TPIDR_EL2")
LAMINA_PLAIN_REGISTER(ElrEl2, "ELR_EL2")
LAMINA_PLAIN_REGISTER(FarEl2, "FAR_EL2")
LAMINA_PLAIN_REGISTER(CntfrqEl0, "CNTFRQ_EL0")
LAMINA_PLAIN_REGISTER(CntpctEl0, "CNTPCT_EL0")
LAMINA_PLAIN_REGISTER(CntvoffEl2, "CNTVOFF_EL2")
LAMINA_PLAIN_REGISTER(CnthpTvalEl2, "CNTHP_TVAL_EL2")
LAMINA_PLAIN_REGISTER(VpidrEl2, "VPIDR_EL2")
LAMINA_PLAIN_REGISTER(VmpidrEl2, "VMPIDR_EL2")
LAMINA_PLAIN_REGISTER(SpEl0, "SP_EL0")

// TTBR0_EL2 / TTBR0_EL1: translation table base (BADDR[47:1]) and CnP[0].
// DDI 0487 K.a D23.2 "TTBR0_EL2".
#define LAMINA_TTBR_FIELDS(X) \
  X(cnp, 0, 0, bool)          \
  X(baddr, 47, 1, uint64_t)

struct Ttbr0El2 : RegisterValue<Ttbr0El2> {
  LAMINA_REGISTER_BODY(Ttbr0El2, "TTBR0_EL2", 0, 0, LAMINA_TTBR_FIELDS)
  // BADDR holds the table's address bits [47:1]; the table is 4K-aligned.
  [[nodiscard]] static constexpr Ttbr0El2 for_table(uint64_t table_pa) {
    return Ttbr0El2(table_pa & decltype(baddr)::kMask);
  }
};

struct Ttbr0El1 : RegisterValue<Ttbr0El1> {
  LAMINA_REGISTER_BODY(Ttbr0El1, "TTBR0_EL1", 0, 0, LAMINA_TTBR_FIELDS)
  [[nodiscard]] static constexpr Ttbr0El1 for_table(uint64_t table_pa) {
    return Ttbr0El1(table_pa & decltype(baddr)::kMask);
  }
};

// MAIR_EL1 shares MAIR_EL2's layout; a distinct type so each binds to one register.
struct MairEl1 : RegisterValue<MairEl1> {
  using RegisterValue<MairEl1>::RegisterValue;
  static constexpr uint64_t kRes0 = 0;
  static constexpr uint64_t kRes1 = 0;
  [[nodiscard]] static constexpr MairEl1 same_as(Mair m) { return MairEl1(m.raw()); }
};

}  // namespace lamina::arch
