// Exception injection against the Arm ARM: every expected ESR, vector
// address and PSTATE below is assembled here by hand from DDI 0487 K.a
// (D23.2 "ESR_EL1" EC/IL/ISS positions and the DFSC table, D1.3.2 vector
// offsets, C5.2 SPSR layouts, J1 AArch64.TakeException), not from lamina's
// register headers.
#include "hyp/trap/fault_injection.hpp"

#include <cstdint>
#include <gtest/gtest.h>

namespace lamina::hyp {
namespace {

// SPSR (AArch64 format) bits, DDI 0487 K.a C5.2.19 "SPSR_EL2".
constexpr uint64_t kN = uint64_t{1} << 31, kZ = uint64_t{1} << 30, kC = uint64_t{1} << 29,
                   kV = uint64_t{1} << 28;
constexpr uint64_t kTco = uint64_t{1} << 25, kDit = uint64_t{1} << 24, kUao = uint64_t{1} << 23;
constexpr uint64_t kPan = uint64_t{1} << 22, kSs = uint64_t{1} << 21, kIl = uint64_t{1} << 20;
constexpr uint64_t kSsbs = uint64_t{1} << 12, kBtypeMask = uint64_t{0b11} << 10;
constexpr uint64_t kDaif = uint64_t{0b1111} << 6;
constexpr uint64_t kModeEl0t = 0b0000, kModeEl1t = 0b0100, kModeEl1h = 0b0101, kModeEl2h = 0b1001;
constexpr uint64_t kModeEl2t = 0b1000;
// AArch32-format SPSR_ELx: M[4:0] = 0b10000 (User), T bit 5, GE [19:16],
// Q bit 27, IT[1:0] [26:25], IT[7:2] [15:10].
constexpr uint64_t kModeUsr32 = 0b10000, kModeSvc32 = 0b10011, kT = uint64_t{1} << 5;
constexpr uint64_t kQ = uint64_t{1} << 27, kGeMask = uint64_t{0xf} << 16, kSsbs32 = uint64_t{1} << 23;
constexpr uint64_t it_bits(uint64_t it) { return ((it & 0b11) << 25) | ((it >> 2) << 10); }

// SCTLR_EL1: SPAN bit 23, DSSBS bit 44.
constexpr uint64_t kSpan = uint64_t{1} << 23, kDssbs = uint64_t{1} << 44;

// ESR_ELx = EC[31:26] | IL[25] | ISS[24:0].
constexpr uint64_t esr(uint64_t ec, uint64_t iss) { return (ec << 26) | (uint64_t{1} << 25) | iss; }
constexpr uint64_t kWnR = uint64_t{1} << 6, kCm = uint64_t{1} << 8;
constexpr uint64_t kDfscSyncExternal = 0b010000;

constexpr uint64_t kVbar = 0xffff'8000'1001'0800;  // 2 KiB aligned

GuestExceptionContext context(uint64_t pstate, uint64_t pc = 0x4008'1234, uint64_t sctlr = kSpan) {
  GuestExceptionContext c;
  c.pstate = arch::Spsr::from_raw(pstate);
  c.pc = pc;
  c.vbar_el1 = kVbar;
  c.sctlr_el1 = arch::SctlrEl1::from_raw(sctlr);
  return c;
}

InjectedException data_abort(const GuestExceptionContext& c, DataAbortFault f) {
  auto r = inject_data_abort(c, f);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : InjectedException{};
}

TEST(InjectDataAbort, FromEl0tIsALowerElAbortToVectorPlus0x400) {
  // A store by EL0 with N and C set.
  const GuestExceptionContext c = context(kN | kC | kModeEl0t);
  const InjectedException e = data_abort(c, DataAbortFault::external_abort(0x0000'dead'beef'0007, true));
  EXPECT_EQ(e.esr_el1.raw(), esr(0x24, kWnR | kDfscSyncExternal));
  EXPECT_EQ(e.esr_el1.raw(), 0x9200'0050u);
  EXPECT_TRUE(e.writes_far);
  EXPECT_EQ(e.far_el1, 0x0000'dead'beef'0007u);
  EXPECT_EQ(e.elr_el1, 0x4008'1234u);
  EXPECT_EQ(e.spsr_el1, kN | kC | kModeEl0t);
  EXPECT_EQ(e.pc, kVbar + 0x400);
  // EL1h, DAIF masked, flags kept.
  EXPECT_EQ(e.pstate.raw(), kN | kC | kDaif | kModeEl1h);
  EXPECT_EQ(e.pstate.raw(), 0xa000'03c5u);
}

TEST(InjectDataAbort, FromEl1hIsASameElAbortToVectorPlus0x200) {
  const GuestExceptionContext c = context(kZ | kC | kModeEl1h);
  const InjectedException e = data_abort(c, DataAbortFault::external_abort(0xffff'0000'0900'0000, false));
  EXPECT_EQ(e.esr_el1.raw(), esr(0x25, kDfscSyncExternal));
  EXPECT_EQ(e.esr_el1.raw(), 0x9600'0010u);
  EXPECT_EQ(e.far_el1, 0xffff'0000'0900'0000u);
  EXPECT_EQ(e.pc, kVbar + 0x200);
  EXPECT_EQ(e.spsr_el1, kZ | kC | kModeEl1h);
  EXPECT_EQ(e.pstate.raw(), kZ | kC | kDaif | kModeEl1h);
}

TEST(InjectDataAbort, FromEl1tUsesTheCurrentElSp0Block) {
  const GuestExceptionContext c = context(kDaif | kModeEl1t);
  const InjectedException e = data_abort(c, DataAbortFault::external_abort(0x1000, true));
  EXPECT_EQ(e.esr_el1.raw(), esr(0x25, kWnR | kDfscSyncExternal));
  EXPECT_EQ(e.pc, kVbar + 0x000);
  EXPECT_EQ(e.pstate.raw(), kDaif | kModeEl1h);
}

TEST(InjectDataAbort, VbarLowBitsAreIgnored) {
  // VBAR_EL1[10:0] are RES0: the vector is VBAR[63:11]:offset.
  GuestExceptionContext c = context(kModeEl0t);
  c.vbar_el1 = 0x4000'07ff;
  EXPECT_EQ(data_abort(c, {}).pc, 0x4000'0400u);
  c.vbar_el1 = 0x4000'0fff;
  EXPECT_EQ(data_abort(c, {}).pc, 0x4000'0c00u);
}

TEST(InjectDataAbort, CacheMaintenanceSetsCmAndWnR) {
  const InjectedException e =
      data_abort(context(kModeEl1h), DataAbortFault::external_abort(0x80, false, true));
  EXPECT_EQ(e.esr_el1.raw(), esr(0x25, kCm | kWnR | kDfscSyncExternal));
  EXPECT_EQ(e.esr_el1.raw(), 0x9600'0150u);
}

TEST(InjectDataAbort, IssHasNoInstructionSyndrome) {
  // ISV (bit 24) is 0 and so are SAS/SSE/SRT/SF/AR [23:14], VNCR, SET, FnV,
  // EA, S1PTW: only WnR and DFSC for a plain store.
  const InjectedException e = data_abort(context(kModeEl0t), DataAbortFault::external_abort(0, true));
  EXPECT_EQ(e.esr_el1.raw() & 0x1ff'ffffu, kWnR | kDfscSyncExternal);
  EXPECT_EQ(e.esr_el1.raw() >> 32, 0u);  // ISS2 and [63:56] zero
}

TEST(EncodeFaultStatus, MatchesTheDfscTable) {
  // DDI 0487 K.a D23.2 "ESR_EL1", DFSC.
  struct Case {
    FaultStatus status;
    uint8_t dfsc;
  };
  const Case cases[] = {
      {{FaultKind::kSynchronousExternalAbort, 0}, 0b010000},
      {{FaultKind::kSynchronousExternalAbort, 3}, 0b010000},
      {{FaultKind::kTranslation, 0}, 0b000100},
      {{FaultKind::kTranslation, 1}, 0b000101},
      {{FaultKind::kTranslation, 2}, 0b000110},
      {{FaultKind::kTranslation, 3}, 0b000111},
      {{FaultKind::kAccessFlag, 1}, 0b001001},
      {{FaultKind::kAccessFlag, 3}, 0b001011},
      {{FaultKind::kPermission, 1}, 0b001101},
      {{FaultKind::kPermission, 3}, 0b001111},
      {{FaultKind::kAlignment, 0}, 0b100001},
  };
  for (const Case& c : cases) {
    const auto r = encode_fault_status(c.status, true);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), c.dfsc) << static_cast<int>(c.status.kind) << " level " << int{c.status.level};
  }
  EXPECT_FALSE(encode_fault_status({FaultKind::kTranslation, 4}, true).ok());
  EXPECT_FALSE(encode_fault_status({FaultKind::kPermission, 7}, true).ok());
  // No alignment fault on an instruction fetch (that is a PC alignment fault).
  const auto fetch = encode_fault_status({FaultKind::kAlignment, 0}, false);
  ASSERT_FALSE(fetch.ok());
  EXPECT_EQ(fetch.error(), InjectionError::kBadFaultStatus);
}

TEST(InjectDataAbort, OtherFaultStatusesReachTheIss) {
  const InjectedException e =
      data_abort(context(kModeEl0t), {0x2000, true, false, {FaultKind::kPermission, 3}});
  EXPECT_EQ(e.esr_el1.raw(), esr(0x24, kWnR | 0b001111));
  const auto bad = inject_data_abort(context(kModeEl0t), {0, false, false, {FaultKind::kTranslation, 5}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), InjectionError::kBadFaultStatus);
}

TEST(InjectInstructionAbort, EcAndVectorPerSource) {
  struct Case {
    uint64_t mode;
    uint64_t ec;
    uint64_t vector;
  };
  const Case cases[] = {{kModeEl0t, 0x20, 0x400}, {kModeEl1t, 0x21, 0x000}, {kModeEl1h, 0x21, 0x200}};
  for (const Case& k : cases) {
    const auto r = inject_instruction_abort(context(k.mode, 0x5000'0000),
                                            InstructionAbortFault::external_abort(0x5000'0000));
    ASSERT_TRUE(r.ok());
    const InjectedException& e = r.value();
    EXPECT_EQ(e.esr_el1.raw(), esr(k.ec, 0b010000)) << "mode " << k.mode;
    EXPECT_TRUE(e.writes_far);
    EXPECT_EQ(e.far_el1, 0x5000'0000u);
    EXPECT_EQ(e.elr_el1, 0x5000'0000u);
    EXPECT_EQ(e.spsr_el1, k.mode);
    EXPECT_EQ(e.pc, kVbar + k.vector);
    EXPECT_EQ(e.pstate.raw(), kDaif | kModeEl1h);
  }
  // The literal syndromes: 0x82000010 from EL0, 0x86000010 from EL1.
  EXPECT_EQ(inject_instruction_abort(context(kModeEl0t), {}).value().esr_el1.raw(), 0x8200'0010u);
  EXPECT_EQ(inject_instruction_abort(context(kModeEl1h), {}).value().esr_el1.raw(), 0x8600'0010u);
}

TEST(InjectInstructionAbort, TranslationFaultAndNoAlignment) {
  const auto r = inject_instruction_abort(context(kModeEl1h), {0x10, {FaultKind::kTranslation, 2}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().esr_el1.raw(), esr(0x21, 0b000110));
  EXPECT_FALSE(inject_instruction_abort(context(kModeEl1h), {0, {FaultKind::kAlignment, 0}}).ok());
}

TEST(InjectUndefined, UnknownReasonWithIlSetAndNoFar) {
  struct Case {
    uint64_t mode;
    uint64_t vector;
  };
  const Case cases[] = {{kModeEl0t, 0x400}, {kModeEl1t, 0x000}, {kModeEl1h, 0x200}};
  for (const Case& k : cases) {
    const auto r = inject_undefined_instruction(context(kV | k.mode, 0x4000'2000));
    ASSERT_TRUE(r.ok());
    const InjectedException& e = r.value();
    EXPECT_EQ(e.esr_el1.raw(), 0x0200'0000u) << "EC 0, IL 1, ISS 0";
    EXPECT_FALSE(e.writes_far);
    EXPECT_EQ(e.elr_el1, 0x4000'2000u);
    EXPECT_EQ(e.spsr_el1, kV | k.mode);
    EXPECT_EQ(e.pc, kVbar + k.vector);
    EXPECT_EQ(e.pstate.raw(), kV | kDaif | kModeEl1h);
  }
}

TEST(EntryPstate, FeatureBitsFollowTakeException) {
  // Every PSTATE bit exception entry touches, set in the source.
  const uint64_t source = kN | kZ | kC | kV | kTco | kDit | kUao | kSs | kIl | kSsbs | kBtypeMask | kModeEl1h;
  GuestExceptionContext c = context(source, 0x4000'0000, kDssbs /* SPAN = 0 */);
  c.features = {true, true, true, true, true};  // PAN, UAO, BTI, SSBS, MTE
  const InjectedException e = inject_undefined_instruction(c).value();
  // SPSR_EL1 is the old PSTATE exactly, BTYPE included.
  EXPECT_EQ(e.spsr_el1, source);
  // Kept: NZCV, DIT. Set: PAN (SPAN = 0), SSBS = DSSBS = 1, TCO, DAIF, EL1h.
  // Cleared: UAO, SS, IL, BTYPE.
  EXPECT_EQ(e.pstate.raw(), kN | kZ | kC | kV | kDit | kPan | kSsbs | kTco | kDaif | kModeEl1h);

  // SPAN = 1 leaves PAN as it was; DSSBS = 0 clears SSBS.
  c.sctlr_el1 = arch::SctlrEl1::from_raw(kSpan);
  EXPECT_EQ(inject_undefined_instruction(c).value().pstate.raw(),
            kN | kZ | kC | kV | kDit | kTco | kDaif | kModeEl1h);
  c.pstate = arch::Spsr::from_raw(source | kPan);
  EXPECT_EQ(inject_undefined_instruction(c).value().pstate.raw(),
            kN | kZ | kC | kV | kDit | kPan | kTco | kDaif | kModeEl1h);

  // Without the features, their bits are RES0: no PAN set by entry, no
  // SSBS from DSSBS, no TCO.
  c.features = {};
  c.pstate = arch::Spsr::from_raw(kModeEl0t);
  c.sctlr_el1 = arch::SctlrEl1::from_raw(kDssbs);
  EXPECT_EQ(inject_undefined_instruction(c).value().pstate.raw(), kDaif | kModeEl1h);
}

TEST(InjectFromAarch32El0, UsesThe0x600BlockAndZeroExtends) {
  const uint64_t source =
      kN | kV | kQ | kDit | kPan | kSs | kSsbs32 | kGeMask | it_bits(0xa6) | kT | kModeUsr32;
  const auto r = inject_data_abort(context(source, 0xffff'0000'8000'1002),
                                   DataAbortFault::external_abort(0x1'2345'6789, true));
  ASSERT_TRUE(r.ok());
  const InjectedException& e = r.value();
  EXPECT_EQ(e.esr_el1.raw(), esr(0x24, kWnR | kDfscSyncExternal));
  EXPECT_EQ(e.pc, kVbar + 0x600);
  EXPECT_EQ(e.elr_el1, 0x8000'1002u);
  EXPECT_EQ(e.far_el1, 0x2345'6789u);
  EXPECT_EQ(e.spsr_el1, source);
  // NZCV, DIT (bit 24 in both formats) and PAN carry over; T, IT, GE, Q,
  // SS and the AArch32 SSBS position (23, UAO's in AArch64) do not.
  EXPECT_EQ(e.pstate.raw(), kN | kV | kDit | kPan | kDaif | kModeEl1h);

  const auto undef = inject_undefined_instruction(context(kModeUsr32, 0x8000));
  ASSERT_TRUE(undef.ok());
  EXPECT_EQ(undef.value().esr_el1.raw(), 0x0200'0000u);
  EXPECT_EQ(undef.value().pc, kVbar + 0x600);
}

TEST(InjectFromNonGuestState, IsRefused) {
  // EL2 (either SP), a reserved AArch64 mode, and AArch32 above EL0.
  for (uint64_t mode : {kModeEl2h, kModeEl2t, uint64_t{0b0001}, uint64_t{0b1101}, kModeSvc32}) {
    const auto r = inject_undefined_instruction(context(mode));
    ASSERT_FALSE(r.ok()) << "mode " << mode;
    EXPECT_EQ(r.error(), InjectionError::kSourceNotGuest);
    EXPECT_FALSE(inject_data_abort(context(mode), {}).ok());
    EXPECT_FALSE(inject_instruction_abort(context(mode), {}).ok());
  }
}

TEST(SkipInstruction, Aarch64AddsFourAndClearsBtypeAndSs) {
  const uint64_t pstate = kN | kSs | kBtypeMask | kDaif | kModeEl1h;
  const GuestResume r = skip_instruction(0x4000'0ffc, arch::Spsr::from_raw(pstate), true);
  EXPECT_EQ(r.pc, 0x4000'1000u);
  EXPECT_EQ(r.pstate.raw(), kN | kDaif | kModeEl1h);
  // A64 instructions are 32-bit whatever IL claims.
  EXPECT_EQ(skip_instruction(0x100, arch::Spsr::from_raw(kModeEl0t), false).pc, 0x104u);
}

TEST(SkipInstruction, Aarch32ByIlWrapsAndAdvancesIt) {
  // A32 (T = 0): +4, IT untouched (it is 0), SS cleared.
  const GuestResume a32 = skip_instruction(0xffff'fffe, arch::Spsr::from_raw(kSs | kZ | kModeUsr32), true);
  EXPECT_EQ(a32.pc, 0x2u);
  EXPECT_EQ(a32.pstate.raw(), kZ | kModeUsr32);
  // T32 16-bit instruction: +2.
  EXPECT_EQ(skip_instruction(0x8000, arch::Spsr::from_raw(kT | kModeUsr32), false).pc, 0x8002u);
  // ITAdvance (DDI 0487 K.a, AArch32.ITAdvance): IT[2:0] != 0 shifts IT[4:0]
  // left by one, keeping IT[7:5]: 0b101'00110 -> 0b101'01100.
  const GuestResume it =
      skip_instruction(0x8000, arch::Spsr::from_raw(kT | it_bits(0b1010'0110) | kModeUsr32), true);
  EXPECT_EQ(it.pstate.raw(), kT | it_bits(0b1010'1100) | kModeUsr32);
  EXPECT_EQ(it_bits(0b1010'1100), 0xac00u);
  // 0b000'10100 -> 0b000'01000; then IT[2:0] == 0 ends the block.
  const GuestResume step1 =
      skip_instruction(0, arch::Spsr::from_raw(kT | it_bits(0b0001'0100) | kModeUsr32), false);
  EXPECT_EQ(step1.pstate.raw(), kT | it_bits(0b0000'1000) | kModeUsr32);
  const GuestResume step2 = skip_instruction(0, step1.pstate, false);
  EXPECT_EQ(step2.pstate.raw(), kT | kModeUsr32);
}

}  // namespace
}  // namespace lamina::hyp
