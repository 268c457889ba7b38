#include "hyp/firmware.hpp"

#include "arch/barrier.hpp"
#include "hyp/console.hpp"
#include "hyp/lib/psci_abi.hpp"

namespace lamina::hyp::firmware {

int64_t psci_call(PsciConduit conduit, uint32_t function, uint64_t a1, uint64_t a2, uint64_t a3) {
  if (conduit == PsciConduit::kNone) return static_cast<int64_t>(psci::Status::kNotSupported);
  // SMCCC: arguments in x0-x3, result in x0; x4-x17 may be clobbered.
  // Arm DEN 0028 "SMC Calling Convention", 2.6 "SMC64/HVC64 argument passing".
  register uint64_t x0 asm("x0") = function;
  register uint64_t x1 asm("x1") = a1;
  register uint64_t x2 asm("x2") = a2;
  register uint64_t x3 asm("x3") = a3;
  const uint64_t use_hvc = conduit == PsciConduit::kHvc ? 1 : 0;
  asm volatile(
      "cbnz %[use_hvc], 1f\n\t"
      "smc #0\n\t"
      "b 2f\n"
      "1:\thvc #0\n"
      "2:"
      : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
      : [use_hvc] "r"(use_hvc)
      : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
        "memory");
  return static_cast<int64_t>(x0);
}

void power_off(PsciConduit conduit) {
  console::flush();
  (void)psci_call(conduit, psci::kSystemOff);
  arch::halt_cpu();
}

}  // namespace lamina::hyp::firmware
