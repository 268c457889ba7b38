// crash: a guest that faults unrecoverably (the two-VM test's vm2). With
// VBAR_EL1 pointing into a hole, a load from a hole gets an external abort
// injected whose vector fetch (VBAR_EL1 + 0x200) faults again: lamina must
// stop this VM alone, with a dump, while the other VM runs on.
#include "guest.hpp"

extern "C" char guest_vectors[];

extern const char kGuestName[] = "crash";

int guest_main() {
  using namespace guest;
  info("crash: VBAR_EL1 = 0x%lx (a hole), then a load from the hole", kHoleIpa);
  GUEST_WRITE_SYSREG(vbar_el1, kHoleIpa);
  isb();
  (void)mmio_read64(kHoleIpa);
  // Not reached under lamina.
  GUEST_WRITE_SYSREG(vbar_el1, reinterpret_cast<uintptr_t>(guest_vectors));
  isb();
  check("crash.vm-should-have-stopped", false, "the load from IPA 0x%lx returned", kHoleIpa);
  return 0;
}
