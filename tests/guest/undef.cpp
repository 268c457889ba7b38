// undef: an access lamina does not handle becomes an UNDEFINED exception in
// the guest: ESR_EL1 = EC 0x00 (unknown reason) with IL 1 and ISS 0, taken
// at VBAR_EL1 + 0x200 from EL1h, ELR_EL1 = the instruction (DDI 0487,
// "Exception Syndrome Register", EC 0b000000). Cases: the PMU, hidden from
// the guest (ID_AA64DFR0_EL1.PMUVer = 0, so its registers are UNDEFINED);
// MSR to read-only ID registers; and, as the baseline that never reaches
// lamina, UDF.
#include "guest.hpp"

extern const char kGuestName[] = "undef";

namespace {

using namespace guest;

constexpr uint64_t kUndefEsr = esr::make(esr::kEcUnknown, 0);

#define EXPECT_UNDEF(check_name, insn)                                                      \
  do {                                                                                      \
    uintptr_t pc_ = 0;                                                                      \
    const TrapRecord t_ = catch_exception([&] {                                             \
      asm volatile("adr %0, 1f\n1: " insn : "=&r"(pc_)::"x2", "memory");                     \
    });                                                                                     \
    check_exception(check_name, t_, kUndefEsr, pc_, false, 0, kVectorCurrentSpxSync, PSTATE_EL1H); \
  } while (0)

}  // namespace

int guest_main() {
  EXPECT_UNDEF("undef.udf-baseline", "udf #0x1234");
  EXPECT_UNDEF("undef.mrs-pmcr_el0", "mrs x2, pmcr_el0");
  EXPECT_UNDEF("undef.msr-pmcr_el0", "msr pmcr_el0, xzr");
  EXPECT_UNDEF("undef.mrs-pmccntr_el0", "mrs x2, pmccntr_el0");
  EXPECT_UNDEF("undef.mrs-pmuserenr_el0", "mrs x2, pmuserenr_el0");
  EXPECT_UNDEF("undef.msr-pmcntenset_el0", "msr pmcntenset_el0, xzr");
  EXPECT_UNDEF("undef.msr-id_aa64pfr0_el1", "msr S3_0_C0_C4_0, xzr");
  EXPECT_UNDEF("undef.msr-id_aa64mmfr0_el1", "msr S3_0_C0_C7_0, xzr");
  EXPECT_UNDEF("undef.msr-id_aa64dfr0_el1", "msr S3_0_C0_C5_0, xzr");
  EXPECT_UNDEF("undef.msr-reserved-id-S3_0_C0_C3_7", "msr S3_0_C0_C3_7, xzr");
  // A trapped read that faults leaves the destination register alone and
  // the next instruction runs: the guest is still alive and counting.
  return 0;
}
