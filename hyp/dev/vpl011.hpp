// A per-VM emulated Arm PL011 UART, so that a guest's console driver (Linux's
// amba-pl011 and its earlycon, or a bare-metal program written for QEMU virt)
// finds the device it expects at the guest's UART address.
//
// Register behaviour follows ARM DDI 0183 "PrimeCell UART (PL011) Technical
// Reference Manual" (3.3 "Register descriptions"); where the TRM leaves room
// or the hardware depends on time, it follows QEMU's hw/char/pl011.c, the
// device these guests were written against:
//  - Transmission is instantaneous: every byte written to UARTDR goes to the
//    transmit callback at once, so UARTFR reads TXFE = 1, TXFF = 0, BUSY =
//    0, and each write raises the transmit interrupt (the FIFO drained past
//    its trigger level), which stays raised until UARTICR clears it, as in
//    QEMU (so a driver that unmasks TXIM with nothing left to send sees the
//    interrupt at once, and Linux's amba-pl011, which unmasks it only when
//    the FIFO filled up, never needs it). Bytes are sent whatever UARTCR.UARTEN/TXE say, as
//    QEMU does, so programs that never enable the UART still print.
//  - Reception: EL2 code feeds bytes with push_rx(), or has the device
//    pull them from the receive callback with receive_from_backend() when
//    input arrives (an interrupt); the callback is also asked for more
//    whenever the guest looks (UARTDR, UARTFR, UARTRIS, UARTMIS) at an
//    empty FIFO. The FIFO is 16 deep with
//    UARTLCR_H.FEN set, 1 deep without; changing FEN empties it (QEMU).
//    The receive interrupt follows UARTIFLS.RXIFLSEL; the receive timeout
//    interrupt is raised as soon as a byte arrives (no bit time passes in
//    an emulation) and cleared by UARTICR or an empty FIFO.
//  - UARTCR.LBE (loopback): transmitted bytes go to the receive FIFO instead
//    of the callback (an overflow sets OE in UARTRSR and UARTRIS), and
//    push_rx() refuses input.
//  - Accesses: 8, 16 and 32 bits at naturally aligned offsets address the
//    byte lanes of the 32-bit register (a narrower write replaces the whole
//    register with the value in its lanes, as on an APB bus without byte
//    strobes; UARTDR transmits only from a write that covers bits [7:0]).
//    64-bit accesses are split into two 32-bit ones, low word first, as
//    QEMU does. Misaligned accesses and offsets past the 4 KiB window abort.
//    Unimplemented and reserved offsets read as zero and ignore writes.
//  - Identification: UARTPeriphID0-3 = 0x11 0x10 0x14 0x00 (Arm, part 0x011,
//    revision 1) and UARTPCellID0-3 = 0x0d 0xf0 0x05 0xb1, QEMU's values.
// Interrupt delivery is the VM's business: interrupt_pending() is the level
// of the combined UARTINTR line.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "arch/pl011.hpp"

#include "hyp/dev/mmio_device.hpp"

namespace lamina::hyp {

class VirtualPl011 final : public MmioDevice {
 public:
  // Sends one byte the guest transmitted (to the console).
  using TransmitFn = void (*)(void* context, uint8_t byte);
  // Returns true and stores a byte if one is waiting for the guest.
  using ReceivePollFn = bool (*)(void* context, uint8_t* byte);

  static constexpr uint8_t kPeriphId[4] = {0x11, 0x10, 0x14, 0x00};
  static constexpr uint8_t kPCellId[4] = {0x0d, 0xf0, 0x05, 0xb1};

  // TRM reset values: UARTCR 0x300 (TXE and RXE set, UARTEN clear), UARTIFLS
  // 0x12 (both trigger levels at half full); everything else 0.
  static constexpr arch::Pl011Cr kResetCr =
      arch::Pl011Cr::from_scratch().with(arch::Pl011Cr::txe, true).with(arch::Pl011Cr::rxe, true);
  static constexpr arch::Pl011Ifls kResetIfls =
      arch::Pl011Ifls::from_scratch()
          .with(arch::Pl011Ifls::txiflsel, arch::Pl011FifoLevel::kHalf)
          .with(arch::Pl011Ifls::rxiflsel, arch::Pl011FifoLevel::kHalf);

  constexpr VirtualPl011() = default;

  // Connects the device to its backend; either callback may be null (bytes
  // sent then vanish, nothing is polled).
  void attach(TransmitFn transmit, ReceivePollFn poll, void* context) {
    transmit_ = transmit;
    poll_ = poll;
    context_ = context;
  }

  // Optional, with a receive callback: a count the backend keeps of the
  // bytes it holds for this device, read (relaxed) before each poll. While
  // it is 0 the poll is skipped, so the backend must answer "nothing" then
  // (an interrupt-driven console: a look at an empty FIFO, which a driver
  // makes for every character it prints, costs a load instead of a call).
  // Null (the default): the callback is always asked.
  void set_receive_hint(const std::atomic<size_t>* waiting) { rx_waiting_ = waiting; }

  // Every register to its reset value and the receive FIFO emptied. The
  // backend stays attached.
  void reset();

  [[nodiscard]] MmioResult read(uint64_t offset, unsigned width_bytes, uint64_t* value) override;
  [[nodiscard]] MmioResult write(uint64_t offset, unsigned width_bytes, uint64_t value) override;
  [[nodiscard]] const char* name() const override { return "pl011"; }

  // Queues a received byte. False (and the byte is not taken) when the FIFO
  // is full or loopback is on; the caller keeps it for later.
  [[nodiscard]] bool push_rx(uint8_t byte);

  // Input arrived at the backend: takes bytes from the receive callback
  // while the FIFO has room (and loopback is off), raising RX/RT.
  void receive_from_backend() {
    if (poll_ == nullptr || loopback()) return;
    if (rx_waiting_ != nullptr && rx_waiting_->load(std::memory_order_relaxed) == 0) return;
    take_from_backend();
  }

  // The combined interrupt output UARTINTR: UARTMIS != 0. Its level changes
  // only through read(), write(), push_rx(), receive_from_backend() and
  // reset(); the VM drives its interrupt line (SPI 1 on QEMU virt,
  // level-sensitive) from it after each of those.
  [[nodiscard]] bool interrupt_pending() const { return (ris_.raw() & imsc_.raw()) != 0; }

  // Bytes waiting in the receive FIFO.
  [[nodiscard]] unsigned rx_level() const { return rx_count_; }

 private:
  [[nodiscard]] uint32_t read_register(uint64_t reg);
  void write_register(uint64_t reg, uint32_t value, bool covers_low_byte);
  [[nodiscard]] unsigned fifo_depth() const;
  [[nodiscard]] unsigned rx_trigger() const;
  [[nodiscard]] bool loopback() const { return cr_.get(arch::Pl011Cr::lbe); }
  void transmit(uint8_t byte);
  // Appends to the receive FIFO and raises RX/RT; false if it is full.
  [[nodiscard]] bool receive(uint8_t byte);
  // receive_from_backend's loop, out of line: its byte buffer would give
  // every register access a stack-protector check.
  [[gnu::noinline]] void take_from_backend();
  // Asks the poll callback for bytes while the FIFO is empty.
  void poll_if_empty() {
    if (rx_count_ == 0) receive_from_backend();
  }
  [[nodiscard]] uint32_t pop_rx();
  void empty_rx();

  TransmitFn transmit_ = nullptr;
  ReceivePollFn poll_ = nullptr;
  void* context_ = nullptr;
  const std::atomic<size_t>* rx_waiting_ = nullptr;

  uint8_t rx_fifo_[arch::pl011::kFifoDepth] = {};
  unsigned rx_head_ = 0;
  unsigned rx_count_ = 0;

  arch::Pl011Rsr rsr_;
  uint32_t ilpr_ = 0;
  uint32_t ibrd_ = 0;
  uint32_t fbrd_ = 0;
  arch::Pl011LcrH lcr_h_;
  arch::Pl011Cr cr_ = kResetCr;
  arch::Pl011Ifls ifls_ = kResetIfls;
  arch::Pl011Int imsc_;
  arch::Pl011Int ris_;
  arch::Pl011Dmacr dmacr_;
};

}  // namespace lamina::hyp
