// ESR_EL2, Exception Syndrome Register: the exception class and its ISS.
// DDI 0487 K.a D23.2 "ESR_EL2" and D24.2 "ISS encoding for an exception ...".
// ESR_EL2 is 64 bits (ISS2 lives in [55:32]); it is never narrowed.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

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

}  // namespace lamina::arch
