// progress: the VM that keeps running (the two-VM test). It prints a
// progress line every 100 ms of guest time for 3 s, so that a failure of
// another VM happens while it runs, then checks that time advanced as
// expected and passes.
#include "guest.hpp"

extern const char kGuestName[] = "progress";

int guest_main() {
  using namespace guest;
  constexpr unsigned kSteps = 30;
  const uint64_t start = counter();
  uint64_t previous = start;
  bool monotonic = true;
  for (unsigned i = 1; i <= kSteps; ++i) {
    delay_us(100000);
    const uint64_t now = counter();
    monotonic = monotonic && now >= previous;
    previous = now;
    printf("GUEST-INFO progress %u/%u\n", i, kSteps);
  }
  const uint64_t elapsed_us = (counter() - start) * 1000000 / counter_freq();
  check("progress.counter-monotonic", monotonic, "CNTVCT_EL0 went backwards");
  check_ge("progress.elapsed-us", elapsed_us, kSteps * 100000);
  check_eq("progress.psci-version", static_cast<uint64_t>(psci_call(Conduit::kHvc, psci::kVersion)), 0x10001);
  return 0;
}
