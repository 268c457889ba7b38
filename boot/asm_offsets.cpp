// Generates build/generated/asm_offsets.h: every constant and structure
// offset the assembly needs, taken from the C++ definitions, so nothing is
// retyped in a .S file. Compiled to assembly only (-S); the Makefile turns
// the "->NAME value" markers into #defines.
#include <cstddef>

#include "boot/image_header.hpp"
#include "boot/secondary_boot.hpp"
#include "arch/esr.hpp"
#include "hyp/exception_frame.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vcpu_context.hpp"

#define DEFINE(sym, val) asm volatile("\n.ascii \"->" #sym " %0\"" ::"i"(static_cast<long>(val)))

using namespace lamina;

extern "C" void asm_offsets() {
  DEFINE(IMAGE_TEXT_OFFSET, boot::kImageTextOffset);
  DEFINE(IMAGE_FLAGS, boot::kImageFlags);
  DEFINE(IMAGE_MAGIC, boot::kImageMagic);

  DEFINE(VECTOR_STACK_OVERFLOW, hyp::kVectorStackOverflow);
  DEFINE(FRAME_SIZE, sizeof(hyp::ExceptionFrame));
  DEFINE(FRAME_X30, offsetof(hyp::ExceptionFrame, x) + 30 * 8);
  DEFINE(FRAME_SP, offsetof(hyp::ExceptionFrame, sp));
  DEFINE(FRAME_ELR, offsetof(hyp::ExceptionFrame, elr));
  DEFINE(FRAME_SPSR, offsetof(hyp::ExceptionFrame, spsr));
  DEFINE(FRAME_ESR, offsetof(hyp::ExceptionFrame, esr));
  DEFINE(FRAME_FAR, offsetof(hyp::ExceptionFrame, far));

  DEFINE(STACK_SIZE, hyp::kStackSize);
  DEFINE(CPU_STACK_TOP_OFFSET, offsetof(hyp::CpuStack, stack) + sizeof(hyp::CpuStack::stack));
  DEFINE(PERCPU_STACK_LIMIT, offsetof(hyp::PerCpu, stack_limit));
  DEFINE(PERCPU_EMERGENCY_SP, offsetof(hyp::PerCpu, emergency_sp));
  DEFINE(CPU_STACK_STRIDE, sizeof(hyp::CpuStack));
  DEFINE(PERCPU_GUEST_REGS, offsetof(hyp::PerCpu, guest_regs));

  // hyp/guest_entry.S and hyp/fpsimd.S.
  DEFINE(GUEST_PC, offsetof(hyp::GuestRegs, pc));
  DEFINE(HOST_FRAME_SIZE, 96);  // x19..x30, kept 16-byte aligned
  DEFINE(FPSIMD_FPSR, offsetof(hyp::FpsimdState, fpsr));
  DEFINE(VECTOR_LOWER_A64_SYNC, static_cast<uint64_t>(hyp::VectorKind::kLowerElA64Sync));
  DEFINE(ESR_EC_SHIFT, decltype(arch::EsrEl2::ec)::kLo);
  DEFINE(ESR_EC_HVC64, static_cast<uint64_t>(arch::ExceptionClass::kHvcAarch64));
  DEFINE(ESR_EC_SMC64, static_cast<uint64_t>(arch::ExceptionClass::kSmcAarch64));
  DEFINE(ESR_ISS_SRT_SHIFT, decltype(arch::AbortIss::srt)::kLo);
  DEFINE(ESR_ISS_SRT_WIDTH, decltype(arch::AbortIss::srt)::kWidth);
  DEFINE(ESR_EC_DABT_LOW, static_cast<uint64_t>(arch::ExceptionClass::kDataAbortLowerEl));

  DEFINE(SB_MPIDR, offsetof(boot::SecondaryBoot, mpidr));
  DEFINE(SB_PERCPU, offsetof(boot::SecondaryBoot, percpu));
  DEFINE(SB_STACK_TOP, offsetof(boot::SecondaryBoot, stack_top));
  DEFINE(SB_SIZE, sizeof(boot::SecondaryBoot));
  DEFINE(SB_COUNT, hyp::kMaxCpus);
  DEFINE(MMU_MAIR, offsetof(boot::MmuConfig, mair));
  DEFINE(MMU_TCR, offsetof(boot::MmuConfig, tcr));
  DEFINE(MMU_TTBR0, offsetof(boot::MmuConfig, ttbr0));
  DEFINE(MMU_SCTLR, offsetof(boot::MmuConfig, sctlr));
  DEFINE(MMU_VBAR, offsetof(boot::MmuConfig, vbar));
  DEFINE(MPIDR_AFFINITY_MASK, arch::MpidrEl1::kAffinityMask);
  DEFINE(CURRENT_EL_EL2, 2 << 2);
}
