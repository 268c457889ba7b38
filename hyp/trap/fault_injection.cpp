#include "hyp/trap/fault_injection.hpp"

#include "arch/esr.hpp"
#include "arch/regs/spsr_aarch32.hpp"

namespace lamina::hyp {

namespace {

using arch::Aarch32Mode;
using arch::Aarch64Mode;
using arch::ExceptionClass;
using arch::Spsr;
using arch::SpsrAarch32;

// Where the exception comes from, which picks the vector block and whether
// an abort's EC is the "lower EL" or the "same EL" one.
enum class Source : uint8_t { kEl1Sp0, kEl1Spx, kEl0Aarch64, kEl0Aarch32 };

Result<Source, InjectionError> source_of(Spsr pstate) {
  if (pstate.get(Spsr::nrw)) {
    // HCR_EL2.RW = 1: EL1 is AArch64, so only EL0 (User mode) can be AArch32.
    const auto mode = SpsrAarch32::from_raw(pstate.raw()).get(SpsrAarch32::m);
    if (mode == Aarch32Mode::kUser) return Source::kEl0Aarch32;
    return Err{InjectionError::kSourceNotGuest};
  }
  switch (pstate.get(Spsr::m)) {
    case Aarch64Mode::kEl0t: return Source::kEl0Aarch64;
    case Aarch64Mode::kEl1t: return Source::kEl1Sp0;
    case Aarch64Mode::kEl1h: return Source::kEl1Spx;
    default: return Err{InjectionError::kSourceNotGuest};
  }
}

constexpr bool from_el0(Source s) { return s == Source::kEl0Aarch64 || s == Source::kEl0Aarch32; }
constexpr bool from_aarch32(Source s) { return s == Source::kEl0Aarch32; }

// AArch64.TakeException: "if target_el > PSTATE.EL then vect_offset += (lower
// EL uses AArch32 ? 0x600 : 0x400) elsif PSTATE.SP == '1' then vect_offset
// += 0x200".
constexpr uint64_t vector_block(Source s) {
  switch (s) {
    case Source::kEl1Sp0: return kVectorCurrentElSp0;
    case Source::kEl1Spx: return kVectorCurrentElSpx;
    case Source::kEl0Aarch64: return kVectorLowerElAarch64;
    case Source::kEl0Aarch32: return kVectorLowerElAarch32;
  }
  return kVectorCurrentElSpx;
}

// The PSTATE after taking an exception to EL1, per AArch64.TakeException.
// Kept from the source: N, Z, C, V, DIT, and PAN unless it is set below.
// Set: EL1 with SP_EL1 (M = EL1h, nRW = 0), D, A, I, F. Cleared: SS, IL,
// BTYPE, UAO. SSBS = SCTLR_EL1.DSSBS (FEAT_SSBS); TCO set (FEAT_MTE).
// Everything else is 0: the AArch32-only bits (IT, T, GE, Q, E) do not exist
// in AArch64 state, and the bits of features the guest does not have are
// RES0 in its view.
Spsr entry_pstate(const GuestExceptionContext& c, Source source) {
  Spsr next = Spsr::from_scratch();
  bool pan = false;
  if (from_aarch32(source)) {
    // The AArch32-format SPSR keeps DIT at bit 24 and PAN at bit 22 too,
    // but they are read through their own layout so a format change cannot
    // slip through.
    const SpsrAarch32 old = SpsrAarch32::from_raw(c.pstate.raw());
    next = next.with(Spsr::n, old.get(SpsrAarch32::n))
               .with(Spsr::z, old.get(SpsrAarch32::z))
               .with(Spsr::c, old.get(SpsrAarch32::c))
               .with(Spsr::v, old.get(SpsrAarch32::v))
               .with(Spsr::dit, old.get(SpsrAarch32::dit));
    pan = old.get(SpsrAarch32::pan);
  } else {
    const Spsr old = c.pstate;
    next = next.with(Spsr::n, old.get(Spsr::n))
               .with(Spsr::z, old.get(Spsr::z))
               .with(Spsr::c, old.get(Spsr::c))
               .with(Spsr::v, old.get(Spsr::v))
               .with(Spsr::dit, old.get(Spsr::dit));
    pan = old.get(Spsr::pan);
  }
  // "if FEAT_PAN && (PSTATE.EL == EL1 ...) && SCTLR_ELx[].SPAN == '0' then
  // PSTATE.PAN = '1'": PSTATE.EL is already the target (EL1) there.
  if (c.features.pan && !c.sctlr_el1.get(arch::SctlrEl1::span)) pan = true;
  next = next.with(Spsr::pan, pan);
  if (c.features.ssbs) next = next.with(Spsr::ssbs, c.sctlr_el1.get(arch::SctlrEl1::dssbs));
  if (c.features.mte) next = next.with(Spsr::tco, true);
  // UAO, BTYPE, SS and IL are 0 from scratch, as exception entry leaves them.
  return next.with(Spsr::m, Aarch64Mode::kEl1h)
      .with(Spsr::d, true)
      .with(Spsr::a, true)
      .with(Spsr::i, true)
      .with(Spsr::f, true);
}

// An AArch32 source's addresses are 32 bits; the architecture zero-extends
// them into ELR_EL1 and FAR_EL1.
constexpr uint64_t source_address(Source s, uint64_t va) { return from_aarch32(s) ? va & 0xffff'ffffu : va; }

// AArch64.TakeException to EL1 with AArch64.ReportException. `ec` is the
// caller's: aborts from EL1 use the "same EL" class, one above the "lower EL"
// one (AArch64.ExceptionClass: "if ec IN {0x20, 0x24, ...} && target_el ==
// PSTATE.EL then ec = ec + 1"). IL is 1 for every exception built here:
// AArch64.ExceptionClass marks IL as not valid (reads 1) for
// Exception_Uncategorized, Instruction Aborts and Data Aborts without a
// valid ISS (ISV = 0).
InjectedException take_exception(const GuestExceptionContext& c, Source source, ExceptionClass ec,
                                 uint64_t iss, bool writes_far, uint64_t far) {
  InjectedException e;
  e.esr_el1 = arch::EsrEl1::from_scratch()
                  .with(arch::EsrEl1::ec, ec)
                  .with(arch::EsrEl1::il, true)
                  .with(arch::EsrEl1::iss, iss);
  e.writes_far = writes_far;
  e.far_el1 = writes_far ? source_address(source, far) : 0;
  e.elr_el1 = source_address(source, c.pc);
  // SPSR_EL1 is the source PSTATE as it stood. (BTYPE is kept: for a Data
  // Abort or UNDEFINED, zeroing it is a CONSTRAINED UNPREDICTABLE choice,
  // ZEROBTYPE, that lamina does not make.)
  e.spsr_el1 = c.pstate.raw();
  e.pc = (c.vbar_el1 & ~kVectorTableAlignMask) + vector_block(source) + kVectorSynchronous;
  e.pstate = entry_pstate(c, source);
  return e;
}

}  // namespace

// DDI 0487 K.a D23.2 "ESR_EL1", ISS encoding for a Data Abort, DFSC.
Result<uint8_t, InjectionError> encode_fault_status(FaultStatus status, bool data_side) {
  constexpr uint8_t kTranslationFault = 0b000100;
  constexpr uint8_t kAccessFlagFault = 0b001000;
  constexpr uint8_t kPermissionFault = 0b001100;
  constexpr uint8_t kSyncExternalAbort = 0b010000;
  constexpr uint8_t kAlignmentFault = 0b100001;
  constexpr uint8_t kMaxLevel = 3;
  uint8_t base = 0;
  switch (status.kind) {
    case FaultKind::kSynchronousExternalAbort: return kSyncExternalAbort;
    case FaultKind::kAlignment:
      if (!data_side) return Err{InjectionError::kBadFaultStatus};
      return kAlignmentFault;
    case FaultKind::kTranslation: base = kTranslationFault; break;
    case FaultKind::kAccessFlag: base = kAccessFlagFault; break;
    case FaultKind::kPermission: base = kPermissionFault; break;
  }
  if (base == 0 || status.level > kMaxLevel) return Err{InjectionError::kBadFaultStatus};
  return static_cast<uint8_t>(base | status.level);
}

Result<InjectedException, InjectionError> inject_data_abort(const GuestExceptionContext& context,
                                                          const DataAbortFault& fault) {
  const Source source = TRY(source_of(context.pstate));
  const uint8_t dfsc = TRY(encode_fault_status(fault.status, true));
  // AArch64.FaultSyndrome: CM for DC/IC/AT, and WnR reads 1 for them. EA
  // (an IMPLEMENTATION DEFINED classification), S1PTW, FnV and SET are 0:
  // the address is known and the error is recoverable (SET 0b00, UER, is
  // also what a guest without FEAT_RAS reads from those RES0 bits).
  const auto iss = arch::AbortIss::from_scratch()
                       .with(arch::AbortIss::fsc, uint64_t{dfsc})
                       .with(arch::AbortIss::wnr, fault.write || fault.cache_maintenance)
                       .with(arch::AbortIss::cm, fault.cache_maintenance);
  const ExceptionClass ec =
      from_el0(source) ? ExceptionClass::kDataAbortLowerEl : ExceptionClass::kDataAbortSameEl;
  return take_exception(context, source, ec, iss.raw(), true, fault.va);
}

Result<InjectedException, InjectionError> inject_instruction_abort(const GuestExceptionContext& context,
                                                                 const InstructionAbortFault& fault) {
  const Source source = TRY(source_of(context.pstate));
  const uint8_t ifsc = TRY(encode_fault_status(fault.status, false));
  const auto iss =
      arch::InstructionAbortIss::from_scratch().with(arch::InstructionAbortIss::ifsc, uint64_t{ifsc});
  const ExceptionClass ec =
      from_el0(source) ? ExceptionClass::kInstructionAbortLowerEl : ExceptionClass::kInstructionAbortSameEl;
  return take_exception(context, source, ec, iss.raw(), true, fault.va);
}

Result<InjectedException, InjectionError> inject_undefined_instruction(const GuestExceptionContext& context) {
  const Source source = TRY(source_of(context.pstate));
  return take_exception(context, source, ExceptionClass::kUnknown, 0, false, 0);
}

GuestResume skip_instruction(uint64_t pc, Spsr pstate, bool il) {
  if (!pstate.get(Spsr::nrw)) {
    return GuestResume{pc + 4, pstate.with(Spsr::btype, uint64_t{0}).with(Spsr::ss, false)};
  }
  SpsrAarch32 p = SpsrAarch32::from_raw(pstate.raw()).with(SpsrAarch32::ss, false);
  // AArch32.ITAdvance: "if PSTATE.IT<2:0> == '000' then PSTATE.IT =
  // '00000000' else PSTATE.IT<4:0> = LSL(PSTATE.IT<4:0>, 1)". IT is 0 in
  // A32 state and outside an IT block, where this changes nothing.
  if (p.get(SpsrAarch32::t)) {
    const uint64_t it = p.it();
    const uint64_t next = (it & 0b111) == 0 ? 0 : (it & 0b1110'0000) | ((it << 1) & 0b1'1111);
    p = p.with_it(next);
  }
  const uint64_t next_pc = (pc + (il ? 4 : 2)) & 0xffff'ffffu;
  return GuestResume{next_pc, Spsr::from_raw(p.raw())};
}

}  // namespace lamina::hyp
