// SMCCC calls over HVC and SMC (DEN 0028 "SMC Calling Convention": function
// ID in W0, arguments in X1-X3, results in X0-X3; X4-X17 may be clobbered by
// an SMCCC 1.0 implementation, so they are declared clobbered).
#include "guest.hpp"

namespace guest {

SmcccResult smccc_call(Conduit c, uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
  register uint64_t x0 asm("x0") = fid;
  register uint64_t x1 asm("x1") = a1;
  register uint64_t x2 asm("x2") = a2;
  register uint64_t x3 asm("x3") = a3;
  if (c == Conduit::kHvc) {
    asm volatile("hvc #0"
                 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                 :
                 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
                   "memory");
  } else {
    asm volatile("smc #0"
                 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                 :
                 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
                   "memory");
  }
  return {x0, x1, x2, x3};
}

}  // namespace guest
