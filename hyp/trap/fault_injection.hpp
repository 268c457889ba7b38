// Exceptions lamina delivers to a guest's EL1 as if the hardware had taken
// them there: a synchronous external abort for an access to a hole, an
// UNDEFINED exception for a register lamina does not emulate, and stepping
// past an instruction lamina emulated.
//
// Pure functions of the guest's state at the exit. They follow the Arm ARM
// pseudocode (DDI 0487 K.a, J1 "Armv8-A shared pseudocode"):
//   AArch64.DataAbort / AArch64.InstructionAbort / AArch64.Undefined build
//   the exception record, AArch64.TakeException (with AArch64.ReportException
//   and AArch64.ExceptionClass) turns it into ESR_EL1, FAR_EL1, ELR_EL1,
//   SPSR_EL1, the new PSTATE and the vector address.
// The target is always EL1 (AArch64: HCR_EL2.RW is 1), the source is the
// guest's EL0 (AArch64 or AArch32) or EL1 (AArch64, SP_EL0 or SP_EL1).
//
// The EL2 caller fills GuestExceptionContext from the vCPU (SPSR_EL2 and
// ELR_EL2 saved at the exit, the guest's VBAR_EL1 and SCTLR_EL1), writes
// the InjectedException's EL1 registers into the guest's EL1 state, and
// ERETs to `pc` with `pstate` (ELR_EL2/SPSR_EL2).
#pragma once

#include <cstdint>

#include "arch/regs/el1_regs.hpp"
#include "arch/regs/esr_el1.hpp"
#include "arch/regs/pstate.hpp"

#include "hyp/lib/result.hpp"

namespace lamina::hyp {

// Offsets in a vector table (DDI 0487 K.a D1.3.2 "Exception vectors", table
// "Vector offsets from vector table base address"): the block is chosen by
// where the exception came from, the entry in it by its type.
inline constexpr uint64_t kVectorCurrentElSp0 = 0x000;     // from EL1 with SP_EL0 (EL1t)
inline constexpr uint64_t kVectorCurrentElSpx = 0x200;     // from EL1 with SP_EL1 (EL1h)
inline constexpr uint64_t kVectorLowerElAarch64 = 0x400;   // from AArch64 EL0
inline constexpr uint64_t kVectorLowerElAarch32 = 0x600;   // from AArch32 EL0
inline constexpr uint64_t kVectorSynchronous = 0x000;      // + 0x080 IRQ, 0x100 FIQ, 0x180 SError
// VBAR_EL1[10:0] are RES0: the table is 2 KiB aligned (TakeException
// branches to VBAR_ELx[63:11]:vect_offset[10:0]).
inline constexpr uint64_t kVectorTableAlignMask = 0x7ff;

// The PSTATE features, as the guest sees them (its sanitized ID registers:
// see guest_pstate_features() in hyp/trap/id_registers.hpp), whose bits
// exception entry changes. Features lamina hides from every guest (NMI,
// GCS, FEAT_EBEP, FEAT_PAuth_LR, SME) are not here: their PSTATE bits are
// RES0 in the guest's view and stay 0.
struct GuestPstateFeatures {
  bool pan = false;   // FEAT_PAN: PSTATE.PAN set on entry when SCTLR_EL1.SPAN is 0
  bool uao = false;   // FEAT_UAO: PSTATE.UAO cleared
  bool bti = false;   // FEAT_BTI: PSTATE.BTYPE cleared
  bool ssbs = false;  // FEAT_SSBS: PSTATE.SSBS = SCTLR_EL1.DSSBS
  bool mte = false;   // FEAT_MTE: PSTATE.TCO set

  friend constexpr bool operator==(const GuestPstateFeatures&, const GuestPstateFeatures&) = default;
};

// The guest at the moment of the exception.
struct GuestExceptionContext {
  // SPSR_EL2 at the exit: the guest's PSTATE, in AArch64 format
  // (M[4] = nRW = 0) or AArch32 format (M[4] = 1, see arch/regs/
  // spsr_aarch32.hpp).
  arch::Spsr pstate;
  // The preferred return address: the address of the instruction that
  // caused the exception. ELR_EL2 for an abort or a trapped MSR/MRS; for an
  // exit taken after the instruction (HVC, SVC) the caller subtracts its size.
  uint64_t pc = 0;
  uint64_t vbar_el1 = 0;
  arch::SctlrEl1 sctlr_el1;
  GuestPstateFeatures features;
};

// The fault status an injected abort reports (DFSC/IFSC, DDI 0487 K.a D23.2
// "ESR_EL1", ISS encoding for a Data Abort / an Instruction Abort).
enum class FaultKind : uint8_t {
  kSynchronousExternalAbort,  // 0b010000, not on a translation table walk
  kTranslation,               // 0b0001LL
  kAccessFlag,                // 0b0010LL
  kPermission,                // 0b0011LL
  kAlignment,                 // 0b100001 (data aborts only)
};

struct FaultStatus {
  FaultKind kind = FaultKind::kSynchronousExternalAbort;
  uint8_t level = 0;  // 0-3 for translation, access flag and permission faults; ignored otherwise
};

// A data abort as the guest should see it. ISV is always 0 (the syndrome of
// a stage-1-style fault carries no instruction syndrome), so IL is 1.
struct DataAbortFault {
  uint64_t va = 0;                 // the faulting virtual address (FAR_EL1)
  bool write = false;              // WnR
  bool cache_maintenance = false;  // CM: a DC/IC/AT instruction (WnR then reads 1)
  FaultStatus status;

  // The usual case: a synchronous external abort (an access to a hole).
  [[nodiscard]] static constexpr DataAbortFault external_abort(uint64_t va, bool write,
                                                               bool cache_maintenance = false) {
    return DataAbortFault{va, write, cache_maintenance, FaultStatus{}};
  }
};

struct InstructionAbortFault {
  uint64_t va = 0;  // the faulting virtual address (FAR_EL1)
  FaultStatus status;

  [[nodiscard]] static constexpr InstructionAbortFault external_abort(uint64_t va) {
    return InstructionAbortFault{va, FaultStatus{}};
  }
};

// What the caller writes before resuming the guest.
struct InjectedException {
  arch::EsrEl1 esr_el1;
  // FAR_EL1 is written only for aborts; for UNDEFINED the architecture makes
  // it UNKNOWN, so the guest's value is left alone.
  bool writes_far = false;
  uint64_t far_el1 = 0;
  uint64_t elr_el1 = 0;
  // The source's PSTATE (SPSR_EL2 at the exit, unchanged: an AArch32 source
  // keeps its AArch32 format).
  uint64_t spsr_el1 = 0;
  uint64_t pc = 0;     // the vector: to ELR_EL2
  arch::Spsr pstate;   // EL1h, DAIF masked...: to SPSR_EL2
};

enum class InjectionError : uint8_t {
  // The source PSTATE is not a guest's: EL2 or EL3, AArch32 above EL0 (EL1
  // is AArch64 only), or a reserved mode. A lamina bug, never the guest's.
  kSourceNotGuest,
  // A level above 3, or an alignment fault for an instruction fetch.
  kBadFaultStatus,
};

// DFSC/IFSC for `status`. kBadFaultStatus for a level above 3, or for an
// alignment fault when !data_side.
[[nodiscard]] Result<uint8_t, InjectionError> encode_fault_status(FaultStatus status, bool data_side);

// A Data Abort taken to EL1 (AArch64.DataAbort): EC 0x24 from EL0, 0x25 from
// EL1; IL 1; ISS: ISV 0, DFSC, WnR, CM; FAR_EL1 = fault.va (bits [63:32]
// zero for an AArch32 source).
[[nodiscard]] Result<InjectedException, InjectionError> inject_data_abort(
    const GuestExceptionContext& context, const DataAbortFault& fault);

// An Instruction Abort taken to EL1 (AArch64.InstructionAbort): EC 0x20
// from EL0, 0x21 from EL1; IL 1; ISS: IFSC; FAR_EL1 = fault.va.
[[nodiscard]] Result<InjectedException, InjectionError> inject_instruction_abort(
    const GuestExceptionContext& context, const InstructionAbortFault& fault);

// An UNDEFINED exception for the instruction at context.pc
// (AArch64.Undefined): EC 0x00 "Unknown reason", IL 1, ISS 0; FAR_EL1 is not
// written.
[[nodiscard]] Result<InjectedException, InjectionError> inject_undefined_instruction(
    const GuestExceptionContext& context);

// Where a vCPU resumes.
struct GuestResume {
  uint64_t pc = 0;
  arch::Spsr pstate;
};

// The guest's PC and PSTATE after lamina emulated the instruction at `pc`
// (that is, as if it had executed). `il` is ESR_EL2.IL of the exit: 1 for a
// 32-bit instruction, 0 for a 16-bit T32 one.
//  - AArch64 source: PC + 4 (every A64 instruction is 32 bits), PSTATE.BTYPE
//    cleared (only branches leave it non-zero, DDI 0487 K.a D8.4.2 "Branch
//    target identification").
//  - AArch32 source: PC + 4 or 2 as `il` says, wrapping at 4 GiB, and the IT
//    state advanced (AArch32.ITAdvance) in T32 state.
//  - Both: PSTATE.SS cleared, which completes a software step of the
//    instruction (DDI 0487 K.a D2.12 "Software Step exceptions"), as KVM's
//    kvm_skip_instr does.
[[nodiscard]] GuestResume skip_instruction(uint64_t pc, arch::Spsr pstate, bool il);

}  // namespace lamina::hyp
