// echo: reads lines typed on its console (the vPL011's receive FIFO) and
// prints each back as "GUEST-INFO echo: <line>", non-printable bytes as
// \xHH, until it receives the line "q"; then it passes. The console tests
// (tests/guest/guest_tests.cmake, two VMs) type into it through
// scripts/lamina-qemu --send-after and check which VM echoed what.
//
// The receive FIFO is polled (UARTFR.RXFE, DDI 0183 "Flag Register,
// UARTFR"), waiting in WFE between looks, woken by the guest's own event
// stream (CNTKCTL_EL1.EVNTEN/EVNTI, DDI 0487 D12.2 "Event streams"): the
// guest does not spin on MMIO exits.
#include "guest.hpp"

extern const char kGuestName[] = "echo";

namespace {

constexpr uintptr_t kUartDr = guest::kPl011Base + 0x000;
constexpr uintptr_t kUartFr = guest::kPl011Base + 0x018;
constexpr uint32_t kFrRxfe = 1u << 4;
// CNTKCTL_EL1: EVNTEN bit 2, EVNTI [7:4] (an event when counter bit EVNTI
// toggles: bit 15, every 32768 ticks).
constexpr uint64_t kCntkctlEvnten = 1u << 2;
constexpr uint64_t kEventBit = 15;

char read_char() {
  while ((guest::mmio_read32(kUartFr) & kFrRxfe) != 0) guest::wfe();
  return static_cast<char>(guest::mmio_read32(kUartDr) & 0xff);
}

}  // namespace

int guest_main() {
  using namespace guest;
  GUEST_WRITE_SYSREG(cntkctl_el1, GUEST_READ_SYSREG(cntkctl_el1) | kCntkctlEvnten | (kEventBit << 4));
  isb();
  info("echo ready");
  char line[80];
  unsigned lines = 0;
  for (;;) {
    size_t n = 0;
    for (;;) {
      const char c = read_char();
      if (c == '\r' || c == '\n') break;
      if (n + 5 >= sizeof line) continue;  // too long: the rest is dropped
      if (c >= 0x20 && c < 0x7f) {
        line[n++] = c;
      } else {
        n += snprintf(line + n, sizeof line - n, "\\x%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
      }
    }
    line[n] = '\0';
    if (n == 0) continue;
    if (n == 1 && line[0] == 'q') break;
    ++lines;
    printf("GUEST-INFO echo: %s\n", line);
  }
  check_ge("echo.lines", lines, 1);
  return 0;
}
