#include "arch/esr.hpp"

namespace lamina::arch {

const char* exception_class_name(ExceptionClass ec) {
  switch (ec) {
    case ExceptionClass::kUnknown: return "unknown reason";
    case ExceptionClass::kWfxTrap: return "trapped WFI/WFE";
    case ExceptionClass::kMcrMrcCp15: return "trapped MCR/MRC (CP15)";
    case ExceptionClass::kMcrrMrrcCp15: return "trapped MCRR/MRRC (CP15)";
    case ExceptionClass::kMcrMrcCp14: return "trapped MCR/MRC (CP14)";
    case ExceptionClass::kLdcStcCp14: return "trapped LDC/STC (CP14)";
    case ExceptionClass::kFpSimdAccessTrap: return "trapped FP/SIMD access";
    case ExceptionClass::kVmrsIdTrap: return "trapped VMRS (ID group)";
    case ExceptionClass::kPointerAuthTrap: return "trapped pointer authentication instruction";
    case ExceptionClass::kLd64bSt64bTrap: return "trapped LD64B/ST64B";
    case ExceptionClass::kMrrcCp14: return "trapped MRRC (CP14)";
    case ExceptionClass::kBranchTarget: return "branch target exception";
    case ExceptionClass::kIllegalExecutionState: return "illegal execution state";
    case ExceptionClass::kSvcAarch32: return "SVC (AArch32)";
    case ExceptionClass::kHvcAarch32: return "HVC (AArch32)";
    case ExceptionClass::kSmcAarch32: return "SMC (AArch32)";
    case ExceptionClass::kSvcAarch64: return "SVC (AArch64)";
    case ExceptionClass::kHvcAarch64: return "HVC (AArch64)";
    case ExceptionClass::kSmcAarch64: return "SMC (AArch64)";
    case ExceptionClass::kSysRegTrap: return "trapped MSR/MRS/system instruction";
    case ExceptionClass::kSveAccessTrap: return "trapped SVE access";
    case ExceptionClass::kEretTrap: return "trapped ERET";
    case ExceptionClass::kTstartTrap: return "trapped TSTART";
    case ExceptionClass::kPointerAuthFailure: return "pointer authentication failure";
    case ExceptionClass::kSmeAccessTrap: return "trapped SME access";
    case ExceptionClass::kImplementationDefinedEl3: return "IMPLEMENTATION DEFINED (EL3)";
    case ExceptionClass::kInstructionAbortLowerEl: return "instruction abort from a lower EL";
    case ExceptionClass::kInstructionAbortSameEl: return "instruction abort from the same EL";
    case ExceptionClass::kPcAlignmentFault: return "PC alignment fault";
    case ExceptionClass::kDataAbortLowerEl: return "data abort from a lower EL";
    case ExceptionClass::kDataAbortSameEl: return "data abort from the same EL";
    case ExceptionClass::kSpAlignmentFault: return "SP alignment fault";
    case ExceptionClass::kMemoryOperation: return "memory operation exception";
    case ExceptionClass::kFpExceptionAarch32: return "trapped FP exception (AArch32)";
    case ExceptionClass::kFpExceptionAarch64: return "trapped FP exception (AArch64)";
    case ExceptionClass::kSError: return "SError interrupt";
    case ExceptionClass::kBreakpointLowerEl: return "breakpoint from a lower EL";
    case ExceptionClass::kBreakpointSameEl: return "breakpoint from the same EL";
    case ExceptionClass::kSoftwareStepLowerEl: return "software step from a lower EL";
    case ExceptionClass::kSoftwareStepSameEl: return "software step from the same EL";
    case ExceptionClass::kWatchpointLowerEl: return "watchpoint from a lower EL";
    case ExceptionClass::kWatchpointSameEl: return "watchpoint from the same EL";
    case ExceptionClass::kBkptAarch32: return "BKPT (AArch32)";
    case ExceptionClass::kVectorCatchAarch32: return "vector catch (AArch32)";
    case ExceptionClass::kBrkAarch64: return "BRK (AArch64)";
  }
  return "reserved EC";
}

namespace {

const char* with_level(const char* what, uint64_t level, char* buf, unsigned buf_size) {
  // No room even for the NUL: the name without its level beats a write
  // past the caller's buffer.
  if (buf == nullptr || buf_size == 0) return what;
  unsigned i = 0;
  for (const char* p = what; *p != '\0' && i + 1 < buf_size; ++p) buf[i++] = *p;
  const char* suffix = ", level ";
  for (const char* p = suffix; *p != '\0' && i + 1 < buf_size; ++p) buf[i++] = *p;
  if (i + 1 < buf_size) buf[i++] = static_cast<char>('0' + level);
  buf[i] = '\0';
  return buf;
}

}  // namespace

// DDI 0487 K.a D23.2 "ESR_EL2", ISS encoding for a Data Abort, field DFSC.
const char* fault_status_name(uint64_t fsc, char* buf, unsigned buf_size) {
  const uint64_t level = fsc & 0b11;
  switch (fsc & 0b111100) {
    case 0b000000: return with_level("address size fault", level, buf, buf_size);
    case 0b000100: return with_level("translation fault", level, buf, buf_size);
    case 0b001000: return with_level("access flag fault", level, buf, buf_size);
    case 0b001100: return with_level("permission fault", level, buf, buf_size);
    default: break;
  }
  switch (fsc) {
    case 0b010000: return "synchronous external abort";
    case 0b010001: return "synchronous tag check fault";
    case 0b011000: return "synchronous parity/ECC error";
    case 0b100001: return "alignment fault";
    case 0b110000: return "TLB conflict abort";
    case 0b110001: return "unsupported atomic hardware update fault";
    default: break;
  }
  if ((fsc & 0b111100) == 0b010100) return with_level("synchronous external abort on table walk", level, buf, buf_size);
  if ((fsc & 0b111100) == 0b011100) return with_level("synchronous parity/ECC error on table walk", level, buf, buf_size);
  return "reserved fault status";
}

}  // namespace lamina::arch
