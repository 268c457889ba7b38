// Arm PrimeCell UART (PL011): register map and a polled transmit driver.
// ARM DDI 0183G "PrimeCell UART (PL011) Technical Reference Manual",
// 3.2 "Summary of registers" and 3.3 "Register descriptions".
#pragma once

#include <cstdint>

#include "arch/mmio.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

namespace pl011 {
inline constexpr uint64_t kDr = 0x000;    // data
inline constexpr uint64_t kFr = 0x018;    // flags
inline constexpr uint64_t kCr = 0x030;    // control
inline constexpr uint64_t kImsc = 0x038;  // interrupt mask
inline constexpr uint64_t kRegsSize = 0x1000;
}  // namespace pl011

#define LAMINA_PL011_FR_FIELDS(X) \
  X(cts, 0, 0, bool)              \
  X(busy, 3, 3, bool)             \
  X(rxfe, 4, 4, bool)             \
  X(txff, 5, 5, bool)             \
  X(rxff, 6, 6, bool)             \
  X(txfe, 7, 7, bool)

struct Pl011Fr : RegisterValue<Pl011Fr> {
  LAMINA_REGISTER_BODY(Pl011Fr, "UARTFR", 0, 0, LAMINA_PL011_FR_FIELDS)
};

#define LAMINA_PL011_CR_FIELDS(X) \
  X(uarten, 0, 0, bool)           \
  X(lbe, 7, 7, bool)              \
  X(txe, 8, 8, bool)              \
  X(rxe, 9, 9, bool)              \
  X(rts, 11, 11, bool)

struct Pl011Cr : RegisterValue<Pl011Cr> {
  LAMINA_REGISTER_BODY(Pl011Cr, "UARTCR", 0, 0, LAMINA_PL011_CR_FIELDS)
};

// Polled transmit-only driver. The baud rate is whatever firmware set up
// (QEMU ignores it); lamina only makes sure the UART and transmitter are on.
class Pl011 {
 public:
  constexpr explicit Pl011(uint64_t base) : base_(base) {}

  void enable_transmit() const {
    const Pl011Cr cr(mmio_read32(base_ + pl011::kCr));
    if (cr.get(Pl011Cr::uarten) && cr.get(Pl011Cr::txe)) return;
    const Pl011Cr on = cr.with(Pl011Cr::uarten, true).with(Pl011Cr::txe, true);
    mmio_write32(base_ + pl011::kCr, static_cast<uint32_t>(on.raw()));
  }

  void put(char c) const {
    while (Pl011Fr(mmio_read32(base_ + pl011::kFr)).get(Pl011Fr::txff)) {
    }
    mmio_write32(base_ + pl011::kDr, static_cast<uint8_t>(c));
  }

  // Waits until everything written has left the transmitter (before power-off).
  void flush() const {
    while (Pl011Fr(mmio_read32(base_ + pl011::kFr)).get(Pl011Fr::busy)) {
    }
  }

 private:
  uint64_t base_;
};

}  // namespace lamina::arch
