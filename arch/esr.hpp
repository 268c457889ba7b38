// ESR_EL2, Exception Syndrome Register: the exception class and its ISS.
// DDI 0487 K.a D23.2 "ESR_EL2" and D24.2 "ISS encoding for an exception ...".
// ESR_EL2 is 64 bits (ISS2 lives in [55:32]); it is never narrowed.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

#include "hyp/lib/result.hpp"

namespace lamina::arch {

// ESR_ELx.EC values, laid out as in DDI 0487 K.a D23.2 "ESR_EL2", table of
// EC encodings. Names follow Arm's wording.
enum class ExceptionClass : uint64_t {
  kUnknown = 0b000000,
  kWfxTrap = 0b000001,
  kMcrMrcCp15 = 0b000011,
  kMcrrMrrcCp15 = 0b000100,
  kMcrMrcCp14 = 0b000101,
  kLdcStcCp14 = 0b000110,
  kFpSimdAccessTrap = 0b000111,
  kVmrsIdTrap = 0b001000,
  kPointerAuthTrap = 0b001001,
  kLd64bSt64bTrap = 0b001010,
  kMrrcCp14 = 0b001100,
  kBranchTarget = 0b001101,
  kIllegalExecutionState = 0b001110,
  kSvcAarch32 = 0b010001,
  kHvcAarch32 = 0b010010,
  kSmcAarch32 = 0b010011,
  kSvcAarch64 = 0b010101,
  kHvcAarch64 = 0b010110,
  kSmcAarch64 = 0b010111,
  kSysRegTrap = 0b011000,
  kSveAccessTrap = 0b011001,
  kEretTrap = 0b011010,
  kTstartTrap = 0b011011,
  kPointerAuthFailure = 0b011100,
  kSmeAccessTrap = 0b011101,
  kImplementationDefinedEl3 = 0b011111,
  kInstructionAbortLowerEl = 0b100000,
  kInstructionAbortSameEl = 0b100001,
  kPcAlignmentFault = 0b100010,
  kDataAbortLowerEl = 0b100100,
  kDataAbortSameEl = 0b100101,
  kSpAlignmentFault = 0b100110,
  kMemoryOperation = 0b100111,
  kFpExceptionAarch32 = 0b101000,
  kFpExceptionAarch64 = 0b101100,
  kSError = 0b101111,
  kBreakpointLowerEl = 0b110000,
  kBreakpointSameEl = 0b110001,
  kSoftwareStepLowerEl = 0b110010,
  kSoftwareStepSameEl = 0b110011,
  kWatchpointLowerEl = 0b110100,
  kWatchpointSameEl = 0b110101,
  kBkptAarch32 = 0b111000,
  kVectorCatchAarch32 = 0b111010,
  kBrkAarch64 = 0b111100,
};

// A human-readable name for logs and crash reports; "reserved EC" for
// encodings the architecture does not assign.
[[nodiscard]] const char* exception_class_name(ExceptionClass ec);

#define LAMINA_ESR_EL2_FIELDS(X) \
  X(iss, 24, 0, uint64_t)        \
  X(il, 25, 25, bool)            \
  X(ec, 31, 26, ExceptionClass)  \
  X(iss2, 55, 32, uint64_t)

struct EsrEl2 : RegisterValue<EsrEl2> {
  LAMINA_REGISTER_BODY(EsrEl2, "ESR_EL2", 0, 0, LAMINA_ESR_EL2_FIELDS)
};

// Data/instruction abort ISS fields shared by both (DDI 0487 K.a D24.2.x
// "ISS encoding for an exception from a Data Abort").
#define LAMINA_ABORT_ISS_FIELDS(X) \
  X(fsc, 5, 0, uint64_t)           \
  X(wnr, 6, 6, bool)               \
  X(s1ptw, 7, 7, bool)             \
  X(cm, 8, 8, bool)                \
  X(ea, 9, 9, bool)                \
  X(fnv, 10, 10, bool)             \
  X(set, 12, 11, uint64_t)         \
  X(vncr, 13, 13, bool)            \
  X(ar, 14, 14, bool)              \
  X(sf, 15, 15, bool)              \
  X(srt, 20, 16, uint64_t)         \
  X(sse, 21, 21, bool)             \
  X(sas, 23, 22, uint64_t)         \
  X(isv, 24, 24, bool)

struct AbortIss : RegisterValue<AbortIss> {
  LAMINA_REGISTER_BODY(AbortIss, "ISS(abort)", 0, 0, LAMINA_ABORT_ISS_FIELDS)
};

// Name of a data/instruction fault status code (DFSC/IFSC), e.g.
// "translation fault, level 2"; writes into `buf` when a level is involved.
// Returns a static string or `buf`.
[[nodiscard]] const char* fault_status_name(uint64_t fsc, char* buf, unsigned buf_size);

// ---------------------------------------------------------------------------
// Typed ISS views.
//
// Each view below can only be built by its `from(EsrEl2)`, which fails with
// EsrError::kWrongExceptionClass unless ESR_EL2.EC is one of the view's
// classes, so a handler can never read, say, an SRT out of an HVC syndrome.
// The bit positions live once in the LAMINA_*_ISS_FIELDS lists; the views
// only name and interpret them.
// ---------------------------------------------------------------------------

enum class EsrError : uint8_t {
  kWrongExceptionClass,  // ESR_EL2.EC is not a class this view decodes
};

// ISS.SET for synchronous external aborts (FEAT_RAS), DDI 0487 K.a D23.2
// "ESR_EL2", ISS encoding for a Data Abort, field SET. 0b01 is reserved.
enum class SyncErrorType : uint64_t {
  kRecoverable = 0b00,    // UER
  kUncontainable = 0b10,  // UC
  kRestartable = 0b11,    // UEO / CE
};

// A Data Abort (EC 0x24 from a lower EL, 0x25 from EL2). DDI 0487 K.a D23.2
// "ESR_EL2", "ISS encoding for an exception from a Data Abort". Layout:
// AbortIss above. SAS, SSE, SRT, SF and AR are valid only when isv().
class DataAbort {
 public:
  [[nodiscard]] static Result<DataAbort, EsrError> from(EsrEl2 esr);

  [[nodiscard]] constexpr AbortIss iss() const { return iss_; }
  [[nodiscard]] constexpr bool from_lower_el() const { return lower_el_; }

  // ISV: bits [23:14] hold a valid instruction syndrome.
  [[nodiscard]] constexpr bool isv() const { return iss_.get(AbortIss::isv); }
  // SAS: access size, 1 << SAS bytes (1, 2, 4 or 8).
  [[nodiscard]] constexpr uint8_t access_bytes() const {
    return static_cast<uint8_t>(1u << iss_.get(AbortIss::sas));
  }
  // SSE: the load sign-extends the loaded value.
  [[nodiscard]] constexpr bool sign_extend() const { return iss_.get(AbortIss::sse); }
  // SRT: the transfer register Xt/Wt, 0-30; 31 means XZR/WZR (a load
  // discards the value, a store writes zero).
  [[nodiscard]] constexpr uint8_t register_index() const {
    return static_cast<uint8_t>(iss_.get(AbortIss::srt));
  }
  // SF: the transfer register is 64-bit (Xt), else 32-bit (Wt).
  [[nodiscard]] constexpr bool is_64bit_register() const { return iss_.get(AbortIss::sf); }
  // AR: the instruction has acquire/release semantics.
  [[nodiscard]] constexpr bool acquire_release() const { return iss_.get(AbortIss::ar); }
  // VNCR: the fault came from a VNCR_EL2-relative access (FEAT_NV2).
  [[nodiscard]] constexpr bool vncr() const { return iss_.get(AbortIss::vncr); }
  [[nodiscard]] constexpr SyncErrorType error_type() const {
    return static_cast<SyncErrorType>(iss_.get(AbortIss::set));
  }
  // FnV clear: FAR_EL2 holds the faulting virtual address.
  [[nodiscard]] constexpr bool far_valid() const { return !iss_.get(AbortIss::fnv); }
  // EA: external abort type (IMPLEMENTATION DEFINED classification).
  [[nodiscard]] constexpr bool external_abort() const { return iss_.get(AbortIss::ea); }
  // CM: the fault came from a cache maintenance or address translation
  // instruction (WnR then reads 1).
  [[nodiscard]] constexpr bool cache_maintenance() const { return iss_.get(AbortIss::cm); }
  // S1PTW: a stage-2 fault on the stage-1 translation table walk.
  [[nodiscard]] constexpr bool s1ptw() const { return iss_.get(AbortIss::s1ptw); }
  // WnR: the access was a write.
  [[nodiscard]] constexpr bool is_write() const { return iss_.get(AbortIss::wnr); }
  // DFSC: data fault status code (see fault_status_name()).
  [[nodiscard]] constexpr uint8_t fault_status() const {
    return static_cast<uint8_t>(iss_.get(AbortIss::fsc));
  }

 private:
  constexpr DataAbort(AbortIss iss, bool lower_el) : iss_(iss), lower_el_(lower_el) {}
  AbortIss iss_;
  bool lower_el_;
};

// Instruction Abort ISS, DDI 0487 K.a D23.2 "ESR_EL2", "ISS encoding for an
// exception from an Instruction Abort".
#define LAMINA_INSTRUCTION_ABORT_ISS_FIELDS(X) \
  X(ifsc, 5, 0, uint64_t)                      \
  X(s1ptw, 7, 7, bool)                         \
  X(ea, 9, 9, bool)                            \
  X(fnv, 10, 10, bool)                         \
  X(set, 12, 11, uint64_t)

struct InstructionAbortIss : RegisterValue<InstructionAbortIss> {
  LAMINA_REGISTER_BODY(InstructionAbortIss, "ISS(instruction abort)", 0, 0,
                       LAMINA_INSTRUCTION_ABORT_ISS_FIELDS)
};

// An Instruction Abort (EC 0x20 from a lower EL, 0x21 from EL2).
class InstructionAbort {
 public:
  [[nodiscard]] static Result<InstructionAbort, EsrError> from(EsrEl2 esr);

  [[nodiscard]] constexpr InstructionAbortIss iss() const { return iss_; }
  [[nodiscard]] constexpr bool from_lower_el() const { return lower_el_; }
  // IFSC: instruction fault status code (see fault_status_name()).
  [[nodiscard]] constexpr uint8_t fault_status() const {
    return static_cast<uint8_t>(iss_.get(InstructionAbortIss::ifsc));
  }
  [[nodiscard]] constexpr bool s1ptw() const { return iss_.get(InstructionAbortIss::s1ptw); }
  [[nodiscard]] constexpr bool external_abort() const { return iss_.get(InstructionAbortIss::ea); }
  [[nodiscard]] constexpr bool far_valid() const { return !iss_.get(InstructionAbortIss::fnv); }
  [[nodiscard]] constexpr SyncErrorType error_type() const {
    return static_cast<SyncErrorType>(iss_.get(InstructionAbortIss::set));
  }

 private:
  constexpr InstructionAbort(InstructionAbortIss iss, bool lower_el) : iss_(iss), lower_el_(lower_el) {}
  InstructionAbortIss iss_;
  bool lower_el_;
};

// A system register or system instruction, keyed by its (op0, op1, CRn, CRm,
// op2) encoding packed in the order of the MRS/MSR/SYS instruction's
// o0:op1:CRn:CRm:op2 field: op0[15:14] op1[13:11] CRn[10:7] CRm[6:3]
// op2[2:0]. Register names below use DDI 0487 K.a D23 "AArch64 System
// Register Descriptions" encodings. Other encodings are valid values too
// (an enum class with a fixed underlying type holds any uint32_t).
[[nodiscard]] constexpr uint32_t pack_sys_reg(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm,
                                              uint32_t op2) {
  return ((op0 & 0x3) << 14) | ((op1 & 0x7) << 11) | ((crn & 0xf) << 7) | ((crm & 0xf) << 3) | (op2 & 0x7);
}

enum class SysRegId : uint32_t {
  kMidrEl1 = pack_sys_reg(3, 0, 0, 0, 0),
  kMpidrEl1 = pack_sys_reg(3, 0, 0, 0, 5),
  kIdAa64Pfr0El1 = pack_sys_reg(3, 0, 0, 4, 0),
  kIdAa64Pfr1El1 = pack_sys_reg(3, 0, 0, 4, 1),
  kIdAa64Dfr0El1 = pack_sys_reg(3, 0, 0, 5, 0),
  kIdAa64Isar0El1 = pack_sys_reg(3, 0, 0, 6, 0),
  kIdAa64Isar1El1 = pack_sys_reg(3, 0, 0, 6, 1),
  kIdAa64Mmfr0El1 = pack_sys_reg(3, 0, 0, 7, 0),
  kIdAa64Mmfr1El1 = pack_sys_reg(3, 0, 0, 7, 1),
  kIdAa64Mmfr2El1 = pack_sys_reg(3, 0, 0, 7, 2),
  kIccSgi1rEl1 = pack_sys_reg(3, 0, 12, 11, 5),
  kCntpTvalEl0 = pack_sys_reg(3, 3, 14, 2, 0),
  kCntpCtlEl0 = pack_sys_reg(3, 3, 14, 2, 1),
  kCntpCvalEl0 = pack_sys_reg(3, 3, 14, 2, 2),
  kOslarEl1 = pack_sys_reg(2, 0, 1, 0, 4),
  kOslsrEl1 = pack_sys_reg(2, 0, 1, 1, 4),
  kOsdlrEl1 = pack_sys_reg(2, 0, 1, 3, 4),
};

// ISS for a trapped MSR, MRS or System instruction, DDI 0487 K.a D23.2
// "ESR_EL2", "ISS encoding for an exception from MSR, MRS, or System
// instruction execution in AArch64 state".
#define LAMINA_SYS_REG_ISS_FIELDS(X) \
  X(direction, 0, 0, bool)           \
  X(crm, 4, 1, uint64_t)             \
  X(rt, 9, 5, uint64_t)              \
  X(crn, 13, 10, uint64_t)           \
  X(op1, 16, 14, uint64_t)           \
  X(op2, 19, 17, uint64_t)           \
  X(op0, 21, 20, uint64_t)

struct SysRegIss : RegisterValue<SysRegIss> {
  LAMINA_REGISTER_BODY(SysRegIss, "ISS(sysreg)", 0, 0, LAMINA_SYS_REG_ISS_FIELDS)
};

// A trapped MSR/MRS/SYS (EC 0x18).
class SysRegAccess {
 public:
  [[nodiscard]] static Result<SysRegAccess, EsrError> from(EsrEl2 esr);

  [[nodiscard]] constexpr SysRegIss iss() const { return iss_; }
  [[nodiscard]] constexpr uint8_t op0() const { return narrow(iss_.get(SysRegIss::op0)); }
  [[nodiscard]] constexpr uint8_t op1() const { return narrow(iss_.get(SysRegIss::op1)); }
  [[nodiscard]] constexpr uint8_t crn() const { return narrow(iss_.get(SysRegIss::crn)); }
  [[nodiscard]] constexpr uint8_t crm() const { return narrow(iss_.get(SysRegIss::crm)); }
  [[nodiscard]] constexpr uint8_t op2() const { return narrow(iss_.get(SysRegIss::op2)); }
  // Rt: 0-30; 31 means XZR (an MRS result is discarded, an MSR writes 0).
  [[nodiscard]] constexpr uint8_t register_index() const { return narrow(iss_.get(SysRegIss::rt)); }
  // Direction 1: a read (MRS, or SYSL); 0: a write (MSR, or SYS).
  [[nodiscard]] constexpr bool is_read() const { return iss_.get(SysRegIss::direction); }
  // The register's key, comparable with the SysRegId constants.
  [[nodiscard]] constexpr SysRegId encoding() const {
    return static_cast<SysRegId>(pack_sys_reg(op0(), op1(), crn(), crm(), op2()));
  }

 private:
  constexpr explicit SysRegAccess(SysRegIss iss) : iss_(iss) {}
  [[nodiscard]] static constexpr uint8_t narrow(uint64_t v) { return static_cast<uint8_t>(v); }
  SysRegIss iss_;
};

// ISS for HVC/SMC from AArch64, DDI 0487 K.a D23.2 "ESR_EL2", "ISS encoding
// for an exception from HVC or SVC instruction execution" and "... SMC
// instruction execution in AArch64 state".
#define LAMINA_HVC_SMC_ISS_FIELDS(X) X(imm16, 15, 0, uint64_t)

struct HvcSmcIss : RegisterValue<HvcSmcIss> {
  LAMINA_REGISTER_BODY(HvcSmcIss, "ISS(hvc/smc)", 0, 0, LAMINA_HVC_SMC_ISS_FIELDS)
};

// An HVC (EC 0x16) or trapped SMC (EC 0x17) from AArch64. Note that for a
// trapped SMC, ELR_EL2 points at the SMC itself (the PC must be advanced),
// whereas after an HVC it already points past it; see DDI 0487 K.a D1.3.1
// "Preferred exception return address" in context.
class HvcSmc {
 public:
  [[nodiscard]] static Result<HvcSmc, EsrError> from(EsrEl2 esr);

  [[nodiscard]] constexpr HvcSmcIss iss() const { return iss_; }
  [[nodiscard]] constexpr bool is_smc() const { return smc_; }
  [[nodiscard]] constexpr uint16_t imm16() const { return static_cast<uint16_t>(iss_.get(HvcSmcIss::imm16)); }

 private:
  constexpr HvcSmc(HvcSmcIss iss, bool smc) : iss_(iss), smc_(smc) {}
  HvcSmcIss iss_;
  bool smc_;
};

// ISS.TI for a trapped WFx, DDI 0487 K.a D23.2 "ESR_EL2", "ISS encoding for
// an exception from a WF* instruction".
enum class WfxKind : uint64_t {
  kWfi = 0b00,
  kWfe = 0b01,
  kWfit = 0b10,  // FEAT_WFxT
  kWfet = 0b11,  // FEAT_WFxT
};

// AArch64 fields only; CV[24] and COND[23:20] apply to AArch32 and are not
// declared.
#define LAMINA_WFX_ISS_FIELDS(X) \
  X(ti, 1, 0, WfxKind)           \
  X(rv, 2, 2, bool)              \
  X(rn, 9, 5, uint64_t)

struct WfxIss : RegisterValue<WfxIss> {
  LAMINA_REGISTER_BODY(WfxIss, "ISS(wfx)", 0, 0, LAMINA_WFX_ISS_FIELDS)
};

// A trapped WFI/WFE/WFIT/WFET (EC 0x01).
class Wfx {
 public:
  [[nodiscard]] static Result<Wfx, EsrError> from(EsrEl2 esr);

  [[nodiscard]] constexpr WfxIss iss() const { return iss_; }
  [[nodiscard]] constexpr WfxKind kind() const { return iss_.get(WfxIss::ti); }
  // RV: register_index() is valid (WFIT/WFET carry their timeout in Xn).
  [[nodiscard]] constexpr bool register_valid() const { return iss_.get(WfxIss::rv); }
  [[nodiscard]] constexpr uint8_t register_index() const {
    return static_cast<uint8_t>(iss_.get(WfxIss::rn));
  }

 private:
  constexpr explicit Wfx(WfxIss iss) : iss_(iss) {}
  WfxIss iss_;
};

// The views' constructors, inline: every guest exit builds one.
inline Result<DataAbort, EsrError> DataAbort::from(EsrEl2 esr) {
  const ExceptionClass ec = esr.get(EsrEl2::ec);
  if (ec != ExceptionClass::kDataAbortLowerEl && ec != ExceptionClass::kDataAbortSameEl)
    return Err{EsrError::kWrongExceptionClass};
  return DataAbort(AbortIss(esr.get(EsrEl2::iss)), ec == ExceptionClass::kDataAbortLowerEl);
}

inline Result<InstructionAbort, EsrError> InstructionAbort::from(EsrEl2 esr) {
  const ExceptionClass ec = esr.get(EsrEl2::ec);
  if (ec != ExceptionClass::kInstructionAbortLowerEl && ec != ExceptionClass::kInstructionAbortSameEl)
    return Err{EsrError::kWrongExceptionClass};
  return InstructionAbort(InstructionAbortIss(esr.get(EsrEl2::iss)),
                          ec == ExceptionClass::kInstructionAbortLowerEl);
}

inline Result<SysRegAccess, EsrError> SysRegAccess::from(EsrEl2 esr) {
  if (esr.get(EsrEl2::ec) != ExceptionClass::kSysRegTrap) return Err{EsrError::kWrongExceptionClass};
  return SysRegAccess(SysRegIss(esr.get(EsrEl2::iss)));
}

inline Result<HvcSmc, EsrError> HvcSmc::from(EsrEl2 esr) {
  const ExceptionClass ec = esr.get(EsrEl2::ec);
  if (ec != ExceptionClass::kHvcAarch64 && ec != ExceptionClass::kSmcAarch64)
    return Err{EsrError::kWrongExceptionClass};
  return HvcSmc(HvcSmcIss(esr.get(EsrEl2::iss)), ec == ExceptionClass::kSmcAarch64);
}

inline Result<Wfx, EsrError> Wfx::from(EsrEl2 esr) {
  if (esr.get(EsrEl2::ec) != ExceptionClass::kWfxTrap) return Err{EsrError::kWrongExceptionClass};
  return Wfx(WfxIss(esr.get(EsrEl2::iss)));
}

}  // namespace lamina::arch
