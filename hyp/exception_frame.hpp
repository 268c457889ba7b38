// The register frame boot/vectors.S saves on an EL2 exception, laid out for
// the assembly through the generated asm_offsets.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lamina::hyp {

struct ExceptionFrame {
  uint64_t x[31];  // x0..x30
  uint64_t sp;     // SP at the time of the exception
  uint64_t elr;
  uint64_t spsr;
  uint64_t esr;
  uint64_t far;
};
static_assert(sizeof(ExceptionFrame) % 16 == 0, "the frame lives on the stack");

// Which of the 16 VBAR_EL2 vectors was taken (DDI 0487 K.a D1.3.1
// "Exception vectors", table "Vector offsets from vector table base address").
enum class VectorKind : uint64_t {
  kCurrentElSp0Sync = 0,
  kCurrentElSp0Irq,
  kCurrentElSp0Fiq,
  kCurrentElSp0SError,
  kCurrentElSpxSync,
  kCurrentElSpxIrq,
  kCurrentElSpxFiq,
  kCurrentElSpxSError,
  kLowerElA64Sync,
  kLowerElA64Irq,
  kLowerElA64Fiq,
  kLowerElA64SError,
  kLowerElA32Sync,
  kLowerElA32Irq,
  kLowerElA32Fiq,
  kLowerElA32SError,
};

// Or-ed into the vector number when the exception was moved to the
// emergency stack because SP was below the stack limit (boot/vectors.S).
inline constexpr uint64_t kVectorStackOverflow = 0x100;

}  // namespace lamina::hyp
