// List-register encodings against the bit layouts of IHI 0069
// "ICH_LR<n>_EL2" and IHI 0048B "List Registers, GICH_LRn"; the expected
// values are assembled here by hand from those bit positions.
#include "hyp/vgic/list_registers.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace lamina::hyp::vgic {
namespace {

// ICH_LR<n>_EL2 bit positions: State [63:62], HW [61], Group [60],
// Priority [55:48], pINTID [44:32] (HW = 1), EOI [41] (HW = 0), vINTID [31:0].
constexpr uint64_t kIchPending = uint64_t{1} << 62;
constexpr uint64_t kIchActive = uint64_t{1} << 63;
constexpr uint64_t kIchHw = uint64_t{1} << 61;
constexpr uint64_t kIchGroup = uint64_t{1} << 60;
constexpr uint64_t kIchEoi = uint64_t{1} << 41;
// GICH_LRn: HW [31], Grp1 [30], State [29:28], Priority [27:23] (priority
// [7:3]), PhysicalID [19:10] (HW = 1) or EOI [19] and CPUID [12:10], VirtualID [9:0].
constexpr uint32_t kGichHw = 1u << 31;
constexpr uint32_t kGichGrp1 = 1u << 30;
constexpr uint32_t kGichActive = 1u << 29;
constexpr uint32_t kGichPending = 1u << 28;
constexpr uint32_t kGichEoi = 1u << 19;

Virq virq(uint32_t intid, uint8_t priority, VirqState state, bool group1) {
  Virq v;
  v.intid = intid;
  v.priority = priority;
  v.state = state;
  v.group1 = group1;
  return v;
}

TEST(ListRegisters, IchLrForwardedTimer) {
  // The virtual timer (PPI 27) forwarded to physical PPI 27, priority 0xa0,
  // Group 1, pending.
  Virq v = virq(27, 0xa0, VirqState::kPending, true);
  v.hw = true;
  v.pintid = 27;
  const uint64_t lr = encode_ich_lr(v);
  EXPECT_EQ(lr, kIchPending | kIchHw | kIchGroup | (uint64_t{0xa0} << 48) | (uint64_t{27} << 32) | 27);
  EXPECT_EQ(lr, 0x70a0'001b'0000'001bu);
  EXPECT_EQ(decode_ich_lr(lr), v);
  // HW: the EOI bit is part of pINTID and never set from eoi_maintenance.
  v.eoi_maintenance = true;
  EXPECT_EQ(encode_ich_lr(v) & kIchEoi, 0u);
}

TEST(ListRegisters, IchLrSoftwareLevelInterrupt) {
  Virq v = virq(40, 0x80, VirqState::kPending, true);
  v.eoi_maintenance = true;
  const uint64_t lr = encode_ich_lr(v);
  EXPECT_EQ(lr, 0x5080'0200'0000'0028u);
  EXPECT_EQ(lr, kIchPending | kIchGroup | (uint64_t{0x80} << 48) | kIchEoi | 40);
  EXPECT_EQ(decode_ich_lr(lr), v);
  const Virq g0 = virq(33, 0, VirqState::kActive, false);
  EXPECT_EQ(encode_ich_lr(g0), kIchActive | 33);
  EXPECT_EQ(decode_ich_lr(kIchActive | 33), g0);
  EXPECT_EQ(encode_ich_lr(virq(1019, 0xf8, VirqState::kPendingActive, true)),
            kIchActive | kIchPending | kIchGroup | (uint64_t{0xf8} << 48) | 1019);
  // GICv3 carries no SGI source.
  Virq sgi = virq(1, 0, VirqState::kPending, true);
  sgi.source = 5;
  EXPECT_EQ(encode_ich_lr(sgi), kIchPending | kIchGroup | 1);
}

TEST(ListRegisters, IchLrState) {
  EXPECT_EQ(ich_lr_state(0), VirqState::kInvalid);
  EXPECT_EQ(ich_lr_state(kIchPending | 40), VirqState::kPending);
  EXPECT_EQ(ich_lr_state(kIchActive | kIchHw | 27), VirqState::kActive);
  EXPECT_EQ(ich_lr_state(kIchActive | kIchPending), VirqState::kPendingActive);
}

TEST(ListRegisters, GichLrSgiWithSource) {
  // SGI 5 from CPU 3, priority 0xa0 (field 0x14), Group 0, pending, EOI.
  Virq v = virq(5, 0xa0, VirqState::kPending, false);
  v.source = 3;
  v.eoi_maintenance = true;
  const uint32_t lr = encode_gich_lr(v);
  EXPECT_EQ(lr, kGichPending | (0x14u << 23) | kGichEoi | (3u << 10) | 5);
  EXPECT_EQ(lr, 0x1a08'0c05u);
  EXPECT_EQ(decode_gich_lr(lr), v);
  EXPECT_EQ(gich_lr_state(lr), VirqState::kPending);
}

TEST(ListRegisters, GichLrForwarded) {
  Virq v = virq(27, 0xa0, VirqState::kActive, true);
  v.hw = true;
  v.pintid = 27;
  const uint32_t lr = encode_gich_lr(v);
  EXPECT_EQ(lr, kGichHw | kGichGrp1 | kGichActive | (0x14u << 23) | (27u << 10) | 27);
  EXPECT_EQ(lr, 0xea00'6c1bu);
  EXPECT_EQ(decode_gich_lr(lr), v);
  // The priority field has five bits: [2:0] of the priority are dropped.
  EXPECT_EQ(decode_gich_lr(encode_gich_lr(virq(40, 0xa7, VirqState::kPending, true))).priority, 0xa0u);
}

TEST(ListRegisters, GichLrHwDeactivatedOnlyForAnInvalidHardwareEntry) {
  Virq v = virq(27, 0xa0, VirqState::kActive, false);
  v.hw = true;
  v.pintid = 27;
  const uint32_t active = encode_gich_lr(v);
  // What the GIC leaves after the guest's deactivation: State 0b00, the
  // rest as written.
  const uint32_t deactivated = active & ~(kGichActive | kGichPending);
  EXPECT_TRUE(gich_lr_hw_deactivated(deactivated));
  EXPECT_FALSE(gich_lr_hw_deactivated(active));
  v.state = VirqState::kPending;
  EXPECT_FALSE(gich_lr_hw_deactivated(encode_gich_lr(v))) << "not taken yet: the physical one is still active";
  // A software entry coming back invalid deactivated nothing physical.
  EXPECT_FALSE(gich_lr_hw_deactivated(encode_gich_lr(virq(33, 0xa0, VirqState::kInvalid, false))));
  EXPECT_FALSE(gich_lr_hw_deactivated(0));
}
static_assert(gich_lr_hw_deactivated(kGichHw | 27u));
static_assert(!gich_lr_hw_deactivated(kGichHw | kGichActive | 27u));

TEST(ListRegisters, Counts) {
  EXPECT_EQ(list_register_count(arch::IchVtrEl2(0x9008'0003)), 4u);
  EXPECT_EQ(list_register_count(arch::IchVtrEl2(0xf)), 16u);
  EXPECT_EQ(list_register_count(arch::IchVtrEl2(0x1f)), 16u) << "capped at kMaxListRegisters";
  EXPECT_EQ(list_register_count(arch::GichVtr(0x9000'0003)), 4u);  // QEMU's and GIC-400's four
  EXPECT_EQ(list_register_count(arch::GichVtr(0x3f)), 16u);
}

TEST(ListRegisters, UnderflowOnlyWhenSomethingWaitsAndItCanFire) {
  EXPECT_TRUE(wants_underflow_interrupt({4, 2}));
  EXPECT_TRUE(wants_underflow_interrupt({2, 1}));
  EXPECT_FALSE(wants_underflow_interrupt({4, 0}));
  EXPECT_FALSE(wants_underflow_interrupt({1, 3})) << "one LR: UIE would be asserted at once";
  EXPECT_FALSE(wants_underflow_interrupt({0, 0}));
}

TEST(ListRegisters, HcrForEntry) {
  // ICH_HCR_EL2: En [0], UIE [1], LRENPIE [2], NPIE [3], TC [10], EOIcount [31:27].
  const arch::IchHcrEl2 base(0x1 | (1u << 10) | 0b1110 | (3u << 27));
  EXPECT_EQ(ich_hcr_for_entry(base, {4, 1}).raw(), 0x1u | (1u << 10) | 0b10);
  EXPECT_EQ(ich_hcr_for_entry(base, {4, 0}).raw(), 0x1u | (1u << 10));
  // GICH_HCR: En [0], UIE [1], EOICount [31:27].
  const arch::GichHcr gbase(0x1 | (5u << 27) | 0xf0);
  EXPECT_EQ(gich_hcr_for_entry(gbase, {3, 2}).raw(), 0x3u);
  EXPECT_EQ(gich_hcr_for_entry(gbase, {0, 0}).raw(), 0x1u);
}

}  // namespace
}  // namespace lamina::hyp::vgic
