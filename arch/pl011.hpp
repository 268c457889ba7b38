// Arm PrimeCell UART (PL011): register map and layouts (also used by the
// emulated PL011, hyp/dev/vpl011) and a polled driver.
// ARM DDI 0183G "PrimeCell UART (PL011) Technical Reference Manual",
// 3.2 "Summary of registers" and 3.3 "Register descriptions".
#pragma once

#include <cstdint>

#include "arch/mmio.hpp"
#include "arch/regs/register.hpp"

namespace lamina::arch {

namespace pl011 {
inline constexpr uint64_t kDr = 0x000;    // data
inline constexpr uint64_t kRsr = 0x004;   // receive status (read) / error clear (write, UARTECR)
inline constexpr uint64_t kFr = 0x018;    // flags
inline constexpr uint64_t kIlpr = 0x020;  // IrDA low-power counter
inline constexpr uint64_t kIbrd = 0x024;  // integer baud rate divisor
inline constexpr uint64_t kFbrd = 0x028;  // fractional baud rate divisor
inline constexpr uint64_t kLcrH = 0x02c;  // line control
inline constexpr uint64_t kCr = 0x030;    // control
inline constexpr uint64_t kIfls = 0x034;  // interrupt FIFO level select
inline constexpr uint64_t kImsc = 0x038;  // interrupt mask set/clear
inline constexpr uint64_t kRis = 0x03c;   // raw interrupt status
inline constexpr uint64_t kMis = 0x040;   // masked interrupt status
inline constexpr uint64_t kIcr = 0x044;   // interrupt clear (write-only)
inline constexpr uint64_t kDmacr = 0x048; // DMA control
inline constexpr uint64_t kPeriphId0 = 0xfe0;  // UARTPeriphID0-3, then UARTPCellID0-3 at 0xff0
inline constexpr uint64_t kPCellId0 = 0xff0;
inline constexpr uint64_t kRegsSize = 0x1000;
// FIFO depth with UARTLCR_H.FEN set (1 without): 16 for the revisions
// before r1p5, which has 32; a driver goes by UARTPeriphID2[7:4] (Linux's
// amba-pl011 assumes 32 from revision 3).
inline constexpr unsigned kFifoDepth = 16;
}  // namespace pl011

// UARTDR: a read returns the character with its error flags.
#define LAMINA_PL011_DR_FIELDS(X) \
  X(data, 7, 0, uint64_t)         \
  X(fe, 8, 8, bool)               \
  X(pe, 9, 9, bool)               \
  X(be, 10, 10, bool)             \
  X(oe, 11, 11, bool)

struct Pl011Dr : RegisterValue<Pl011Dr> {
  LAMINA_REGISTER_BODY(Pl011Dr, "UARTDR", 0, 0, LAMINA_PL011_DR_FIELDS)
};

// UARTRSR: the error flags of the last character read from UARTDR (OE is
// set as soon as the FIFO overflows).
#define LAMINA_PL011_RSR_FIELDS(X) \
  X(fe, 0, 0, bool)                \
  X(pe, 1, 1, bool)                \
  X(be, 2, 2, bool)                \
  X(oe, 3, 3, bool)

struct Pl011Rsr : RegisterValue<Pl011Rsr> {
  LAMINA_REGISTER_BODY(Pl011Rsr, "UARTRSR", 0, 0, LAMINA_PL011_RSR_FIELDS)
};

#define LAMINA_PL011_FR_FIELDS(X) \
  X(cts, 0, 0, bool)              \
  X(dsr, 1, 1, bool)              \
  X(dcd, 2, 2, bool)              \
  X(busy, 3, 3, bool)             \
  X(rxfe, 4, 4, bool)             \
  X(txff, 5, 5, bool)             \
  X(rxff, 6, 6, bool)             \
  X(txfe, 7, 7, bool)             \
  X(ri, 8, 8, bool)

struct Pl011Fr : RegisterValue<Pl011Fr> {
  LAMINA_REGISTER_BODY(Pl011Fr, "UARTFR", 0, 0, LAMINA_PL011_FR_FIELDS)
};

#define LAMINA_PL011_CR_FIELDS(X) \
  X(uarten, 0, 0, bool)           \
  X(siren, 1, 1, bool)            \
  X(sirlp, 2, 2, bool)            \
  X(lbe, 7, 7, bool)              \
  X(txe, 8, 8, bool)              \
  X(rxe, 9, 9, bool)              \
  X(dtr, 10, 10, bool)            \
  X(rts, 11, 11, bool)            \
  X(out1, 12, 12, bool)           \
  X(out2, 13, 13, bool)           \
  X(rtsen, 14, 14, bool)          \
  X(ctsen, 15, 15, bool)

struct Pl011Cr : RegisterValue<Pl011Cr> {
  LAMINA_REGISTER_BODY(Pl011Cr, "UARTCR", 0, 0, LAMINA_PL011_CR_FIELDS)
};

// UARTLCR_H: frame format and FIFO enable.
#define LAMINA_PL011_LCR_H_FIELDS(X) \
  X(brk, 0, 0, bool)                 \
  X(pen, 1, 1, bool)                 \
  X(eps, 2, 2, bool)                 \
  X(stp2, 3, 3, bool)                \
  X(fen, 4, 4, bool)                 \
  X(wlen, 6, 5, uint64_t)            \
  X(sps, 7, 7, bool)

struct Pl011LcrH : RegisterValue<Pl011LcrH> {
  LAMINA_REGISTER_BODY(Pl011LcrH, "UARTLCR_H", 0, 0, LAMINA_PL011_LCR_H_FIELDS)
};

// UARTIFLS trigger levels (TXIFLSEL, RXIFLSEL): the FIFO fill that raises
// the interrupt; 0b101-0b111 are reserved.
enum class Pl011FifoLevel : uint64_t {
  kEighth = 0b000,
  kQuarter = 0b001,
  kHalf = 0b010,
  kThreeQuarters = 0b011,
  kSevenEighths = 0b100,
};

#define LAMINA_PL011_IFLS_FIELDS(X) \
  X(txiflsel, 2, 0, Pl011FifoLevel) \
  X(rxiflsel, 5, 3, Pl011FifoLevel)

struct Pl011Ifls : RegisterValue<Pl011Ifls> {
  LAMINA_REGISTER_BODY(Pl011Ifls, "UARTIFLS", 0, 0, LAMINA_PL011_IFLS_FIELDS)
};

// The interrupt bits, in the same place in UARTIMSC, UARTRIS, UARTMIS and
// UARTICR (RIMIS/RIRMIS/RIMIC... in the TRM): modem status RI, CTS, DCD,
// DSR; receive, transmit, receive timeout; framing, parity, break, overrun
// errors.
#define LAMINA_PL011_INT_FIELDS(X) \
  X(ri, 0, 0, bool)                \
  X(cts, 1, 1, bool)               \
  X(dcd, 2, 2, bool)               \
  X(dsr, 3, 3, bool)               \
  X(rx, 4, 4, bool)                \
  X(tx, 5, 5, bool)                \
  X(rt, 6, 6, bool)                \
  X(fe, 7, 7, bool)                \
  X(pe, 8, 8, bool)                \
  X(be, 9, 9, bool)                \
  X(oe, 10, 10, bool)

struct Pl011Int : RegisterValue<Pl011Int> {
  LAMINA_REGISTER_BODY(Pl011Int, "UARTRIS", 0, 0, LAMINA_PL011_INT_FIELDS)
};

#define LAMINA_PL011_DMACR_FIELDS(X) \
  X(rxdmae, 0, 0, bool)              \
  X(txdmae, 1, 1, bool)              \
  X(dmaonerr, 2, 2, bool)

struct Pl011Dmacr : RegisterValue<Pl011Dmacr> {
  LAMINA_REGISTER_BODY(Pl011Dmacr, "UARTDMACR", 0, 0, LAMINA_PL011_DMACR_FIELDS)
};

// Polled driver. The baud rate is whatever firmware set up
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

  void enable_receive() const {
    const Pl011Cr cr(mmio_read32(base_ + pl011::kCr));
    if (cr.get(Pl011Cr::rxe)) return;
    mmio_write32(base_ + pl011::kCr, static_cast<uint32_t>(cr.with(Pl011Cr::rxe, true).raw()));
  }

  // UARTIMSC RXIM and RTIM (receive, receive timeout): UARTINTR follows
  // received characters while they are unmasked. Other mask bits kept.
  void set_receive_interrupts(bool on) const {
    const Pl011Int imsc(mmio_read32(base_ + pl011::kImsc));
    const Pl011Int next = imsc.with(Pl011Int::rx, on).with(Pl011Int::rt, on);
    if (next.raw() != imsc.raw()) mmio_write32(base_ + pl011::kImsc, static_cast<uint32_t>(next.raw()));
  }

  // A received byte, if the receive FIFO holds one.
  [[nodiscard]] bool try_get(char* c) const {
    if (Pl011Fr(mmio_read32(base_ + pl011::kFr)).get(Pl011Fr::rxfe)) return false;
    *c = static_cast<char>(mmio_read32(base_ + pl011::kDr) & 0xff);
    return true;
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
