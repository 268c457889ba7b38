#include "hyp/crash.hpp"

#include "arch/barrier.hpp"
#include "arch/esr.hpp"
#include "arch/regs/pstate.hpp"
#include "hyp/log.hpp"
#include "hyp/panic.hpp"
#include "hyp/percpu.hpp"

namespace lamina::hyp {

namespace {

uint64_t g_load_base = 0;
constexpr unsigned kMaxBacktraceDepth = 32;   // frames printed
constexpr unsigned kMaxFramesWalked = 4096;   // records followed (a stack holds far fewer)

const char* vector_kind_name(VectorKind kind) {
  switch (kind) {
    case VectorKind::kCurrentElSp0Sync: return "synchronous, current EL with SP_EL0";
    case VectorKind::kCurrentElSp0Irq: return "IRQ, current EL with SP_EL0";
    case VectorKind::kCurrentElSp0Fiq: return "FIQ, current EL with SP_EL0";
    case VectorKind::kCurrentElSp0SError: return "SError, current EL with SP_EL0";
    case VectorKind::kCurrentElSpxSync: return "synchronous, current EL";
    case VectorKind::kCurrentElSpxIrq: return "IRQ, current EL";
    case VectorKind::kCurrentElSpxFiq: return "FIQ, current EL";
    case VectorKind::kCurrentElSpxSError: return "SError, current EL";
    case VectorKind::kLowerElA64Sync: return "synchronous, lower EL (AArch64)";
    case VectorKind::kLowerElA64Irq: return "IRQ, lower EL (AArch64)";
    case VectorKind::kLowerElA64Fiq: return "FIQ, lower EL (AArch64)";
    case VectorKind::kLowerElA64SError: return "SError, lower EL (AArch64)";
    case VectorKind::kLowerElA32Sync: return "synchronous, lower EL (AArch32)";
    case VectorKind::kLowerElA32Irq: return "IRQ, lower EL (AArch32)";
    case VectorKind::kLowerElA32Fiq: return "FIQ, lower EL (AArch32)";
    case VectorKind::kLowerElA32SError: return "SError, lower EL (AArch32)";
  }
  return "unknown vector";
}

bool is_abort(arch::ExceptionClass ec) {
  using arch::ExceptionClass;
  return ec == ExceptionClass::kDataAbortSameEl || ec == ExceptionClass::kDataAbortLowerEl ||
         ec == ExceptionClass::kInstructionAbortSameEl || ec == ExceptionClass::kInstructionAbortLowerEl;
}

// Prints one backtrace line; `pc` is a run-time address.
void print_frame(unsigned depth, uint64_t pc) {
  LOG_ERROR("  #{} pc {:x}  (lamina.elf {:x})", depth, pc, pc - g_load_base);
}

// Walks AArch64 frame records ({fp, lr} pairs chained through x29) within
// this CPU's stack, so a corrupted fp cannot send the walk anywhere else.
// `lr`, when non-zero, is the interrupted code's x30: at a fault in a
// function's first instructions its caller is only there, not in a record.
void print_backtrace(uint64_t pc, uint64_t fp, uint64_t lr_at_fault = 0) {
  const PerCpu& cpu = this_cpu();
  LOG_ERROR("backtrace (resolve with: addr2line -Cfpe build/lamina.elf ADDR):");
  print_frame(0, pc);
  if (lr_at_fault != 0) LOG_ERROR("  lr {:x}  (lamina.elf {:x})", lr_at_fault, lr_at_fault - g_load_base);
  // Identical consecutive frames (deep recursion) are printed once with a count.
  uint64_t previous = 0;
  unsigned repeats = 0;
  unsigned depth = 1;
  for (unsigned walked = 0; walked < kMaxFramesWalked && fp != 0; ++walked) {
    if ((fp & 15) != 0 || fp < cpu.stack_bottom || fp + 16 > cpu.stack_top) {
      LOG_ERROR("  (frame pointer {:x} outside this CPU's stack: stopping)", fp);
      break;
    }
    const auto* record = reinterpret_cast<const uint64_t*>(fp);
    const uint64_t lr = record[1];
    if (lr == 0) break;
    // lr is the return address; the call was the instruction before it.
    const uint64_t call = lr - 4;
    fp = record[0];
    if (call == previous) {
      ++repeats;
      continue;
    }
    if (repeats != 0) LOG_ERROR("  ... the frame above repeated {} more times", repeats);
    repeats = 0;
    previous = call;
    if (depth == kMaxBacktraceDepth) {
      LOG_ERROR("  (more frames not shown)");
      return;
    }
    print_frame(depth++, call);
  }
  if (repeats != 0) LOG_ERROR("  ... the frame above repeated {} more times", repeats);
}

}  // namespace

void set_load_base(uint64_t base) { g_load_base = base; }
uint64_t load_base() { return g_load_base; }

extern "C" [[noreturn]] void el2_unexpected_exception(ExceptionFrame* frame, uint64_t vector) {
  const auto kind = static_cast<VectorKind>(vector & ~kVectorStackOverflow);
  const bool stack_overflow = (vector & kVectorStackOverflow) != 0;
  const arch::EsrEl2 esr(frame->esr);
  const arch::ExceptionClass ec = esr.get(arch::EsrEl2::ec);
  const arch::Spsr spsr(frame->spsr);

  LOG_ERROR("==== crash report: unexpected exception at EL2 on cpu{} ====", this_cpu().index);
  LOG_ERROR("vector: {}", vector_kind_name(kind));
  if (stack_overflow)
    LOG_ERROR("STACK OVERFLOW: SP was within {} bytes of this CPU's stack bottom {:x}; "
              "report runs on the emergency stack, the sp below is not the faulting SP",
              kStackOverflowMargin, this_cpu().stack_bottom);
  LOG_ERROR("exception class {:x}: {}", static_cast<uint64_t>(ec), arch::exception_class_name(ec));
  LOG_ERROR("ESR_EL2 {:016x} (IL {}, ISS {:x}, ISS2 {:x})", frame->esr, esr.get(arch::EsrEl2::il) ? 1 : 0,
            esr.get(arch::EsrEl2::iss), esr.get(arch::EsrEl2::iss2));
  if (is_abort(ec)) {
    const arch::AbortIss iss(esr.get(arch::EsrEl2::iss));
    char name[48];
    LOG_ERROR("  fault status {:x}: {}; {}{}", iss.get(arch::AbortIss::fsc),
              arch::fault_status_name(iss.get(arch::AbortIss::fsc), name, sizeof(name)),
              iss.get(arch::AbortIss::wnr) ? "write" : "read",
              iss.get(arch::AbortIss::fnv) ? ", FAR not valid" : "");
  }
  LOG_ERROR("FAR_EL2 {:016x}  ELR_EL2 {:016x} (lamina.elf {:x})", frame->far, frame->elr,
            frame->elr - g_load_base);
  LOG_ERROR("SPSR_EL2 {:016x} (mode {:x}, DAIF {}{}{}{})", frame->spsr,
            static_cast<uint64_t>(spsr.get(arch::Spsr::m)), spsr.get(arch::Spsr::d) ? "D" : "-",
            spsr.get(arch::Spsr::a) ? "A" : "-", spsr.get(arch::Spsr::i) ? "I" : "-",
            spsr.get(arch::Spsr::f) ? "F" : "-");
  for (unsigned i = 0; i < 30; i += 2)
    LOG_ERROR("x{:<2} {:016x}  x{:<2} {:016x}", i, frame->x[i], i + 1, frame->x[i + 1]);
  LOG_ERROR("x30 {:016x}  sp  {:016x}", frame->x[30], frame->sp);
  print_backtrace(frame->elr, frame->x[29], frame->x[30]);
  LOG_ERROR("==== cpu{} stopped ====", this_cpu().index);
  arch::halt_cpu();
}

[[noreturn]] void panic(const char* message) {
  arch::mask_all_exceptions();
  LOG_ERROR("PANIC on cpu{}: {}", this_cpu().index, message);
  // Start at our caller: our own frame record holds its fp and the return address.
  const auto* record = static_cast<const uint64_t*>(__builtin_frame_address(0));
  print_backtrace(record[1] - 4, record[0]);
  LOG_ERROR("==== cpu{} stopped ====", this_cpu().index);
  arch::halt_cpu();
}

}  // namespace lamina::hyp

namespace lamina {
[[noreturn]] void panic(const char* message) { hyp::panic(message); }
}  // namespace lamina
