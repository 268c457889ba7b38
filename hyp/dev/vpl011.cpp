#include "hyp/dev/vpl011.hpp"

namespace lamina::hyp {

namespace {

namespace pl011 = arch::pl011;
using arch::Pl011Cr;
using arch::Pl011Dmacr;
using arch::Pl011Dr;
using arch::Pl011FifoLevel;
using arch::Pl011Fr;
using arch::Pl011Ifls;
using arch::Pl011Int;
using arch::Pl011LcrH;
using arch::Pl011Rsr;

// Writable bits of each register (DDI 0183 "Register descriptions": the
// rest are reserved, read as zero): the union of its declared fields, or the width of its value.
template <size_t N>
constexpr uint32_t fields_mask(const arch::FieldInfo (&fields)[N]) {
  return static_cast<uint32_t>(arch::union_of_fields(fields));
}
constexpr uint32_t kIlprMask = 0xff;    // ILPDVSR [7:0]
constexpr uint32_t kIbrdMask = 0xffff;  // BAUD DIVINT [15:0]
constexpr uint32_t kFbrdMask = 0x3f;    // BAUD DIVFRAC [5:0]

constexpr uint64_t kRegisterBytes = 4;

// The start of a register inside the window: an access of 1, 2 or 4 bytes
// there is naturally aligned and covers bits [7:0] (the low lane).
constexpr bool register_start(uint64_t offset) {
  return (offset & (kRegisterBytes - 1)) == 0 && offset < pl011::kRegsSize;
}

}  // namespace

void VirtualPl011::reset() {
  rx_head_ = 0;
  rx_count_ = 0;
  rsr_ = Pl011Rsr();
  ilpr_ = 0;
  ibrd_ = 0;
  fbrd_ = 0;
  lcr_h_ = Pl011LcrH();
  cr_ = kResetCr;
  ifls_ = kResetIfls;
  imsc_ = Pl011Int();
  ris_ = Pl011Int();
  dmacr_ = Pl011Dmacr();
}

// (A width is a power of two: offset & (width_bytes - 1) is the
// misalignment.)
MmioResult VirtualPl011::read(uint64_t offset, unsigned width_bytes, uint64_t* value) {
  // The low lane of a register, 8, 16 or 32 bits wide: what drivers do
  // for UARTFR and UARTDR around every character (Linux's amba-pl011 and
  // its earlycon use 16- and 8-bit accesses): no lane shifts.
  if (register_start(offset)) {
    if (width_bytes == kRegisterBytes) {
      *value = read_register(offset);
      return MmioResult::kOk;
    }
    if (width_bytes == 2 || width_bytes == 1) {
      *value = read_register(offset) & mmio_width_mask(width_bytes);
      return MmioResult::kOk;
    }
  }
  if (!is_mmio_width(width_bytes) || (offset & (width_bytes - 1)) != 0 || offset >= pl011::kRegsSize)
    return MmioResult::kExternalAbort;
  if (width_bytes == 8) {
    const uint64_t low = read_register(offset);
    const uint64_t high = read_register(offset + kRegisterBytes);
    *value = low | (high << 32);
    return MmioResult::kOk;
  }
  const unsigned shift = static_cast<unsigned>(offset % kRegisterBytes) * 8;
  *value = (read_register(offset - offset % kRegisterBytes) >> shift) & mmio_width_mask(width_bytes);
  return MmioResult::kOk;
}

MmioResult VirtualPl011::write(uint64_t offset, unsigned width_bytes, uint64_t value) {
  if (register_start(offset)) {
    if (width_bytes == kRegisterBytes) {
      write_register(offset, static_cast<uint32_t>(value), true);
      return MmioResult::kOk;
    }
    if (width_bytes == 2 || width_bytes == 1) {
      write_register(offset, static_cast<uint32_t>(value & mmio_width_mask(width_bytes)), true);
      return MmioResult::kOk;
    }
  }
  if (!is_mmio_width(width_bytes) || (offset & (width_bytes - 1)) != 0 || offset >= pl011::kRegsSize)
    return MmioResult::kExternalAbort;
  value &= mmio_width_mask(width_bytes);
  if (width_bytes == 8) {
    write_register(offset, static_cast<uint32_t>(value), true);
    write_register(offset + kRegisterBytes, static_cast<uint32_t>(value >> 32), true);
    return MmioResult::kOk;
  }
  const uint64_t lane = offset % kRegisterBytes;
  write_register(offset - lane, static_cast<uint32_t>(value << (lane * 8)), lane == 0);
  return MmioResult::kOk;
}

bool VirtualPl011::push_rx(uint8_t byte) {
  if (loopback()) return false;  // the receive input is disconnected
  return receive(byte);
}

unsigned VirtualPl011::fifo_depth() const { return lcr_h_.get(Pl011LcrH::fen) ? pl011::kFifoDepth : 1; }

// The FIFO level that raises the receive interrupt (DDI 0183 "Interrupt
// FIFO Level Select Register, UARTIFLS"): 1/8, 1/4, 1/2, 3/4 or 7/8 full.
// Without the FIFO, one character. Reserved encodings act as 1/2.
unsigned VirtualPl011::rx_trigger() const {
  if (!lcr_h_.get(Pl011LcrH::fen)) return 1;
  switch (ifls_.get(Pl011Ifls::rxiflsel)) {
    case Pl011FifoLevel::kEighth: return pl011::kFifoDepth / 8;
    case Pl011FifoLevel::kQuarter: return pl011::kFifoDepth / 4;
    case Pl011FifoLevel::kHalf: return pl011::kFifoDepth / 2;
    case Pl011FifoLevel::kThreeQuarters: return pl011::kFifoDepth * 3 / 4;
    case Pl011FifoLevel::kSevenEighths: return pl011::kFifoDepth * 7 / 8;
  }
  return pl011::kFifoDepth / 2;
}

bool VirtualPl011::receive(uint8_t byte) {
  if (rx_count_ >= fifo_depth()) return false;
  rx_fifo_[(rx_head_ + rx_count_) % pl011::kFifoDepth] = byte;
  ++rx_count_;
  // DDI 0183 "Interrupts": UARTRXINTR when the FIFO reaches its trigger
  // level (or holds the one character without the FIFO); UARTRTINTR when a
  // character waits and no more arrive for 32 bit periods, at once here.
  if (rx_count_ >= rx_trigger()) ris_ = ris_.with(Pl011Int::rx, true);
  ris_ = ris_.with(Pl011Int::rt, true);
  return true;
}

void VirtualPl011::take_from_backend() {
  uint8_t byte = 0;
  while (rx_count_ < fifo_depth() && poll_(context_, &byte)) {
    if (!receive(byte)) break;
  }
}

uint32_t VirtualPl011::pop_rx() {
  poll_if_empty();
  if (rx_count_ == 0) return 0;  // reading an empty FIFO: no character, no error
  const uint8_t byte = rx_fifo_[rx_head_];
  rx_head_ = (rx_head_ + 1) % pl011::kFifoDepth;
  --rx_count_;
  // The receive interrupt clears once the FIFO drops below the trigger
  // level, the timeout interrupt once it is empty.
  if (rx_count_ < rx_trigger()) ris_ = ris_.with(Pl011Int::rx, false);
  if (rx_count_ == 0) ris_ = ris_.with(Pl011Int::rt, false);
  // The character's own error flags (never any here); an overrun stays
  // flagged in UARTRSR until UARTECR is written.
  return static_cast<uint32_t>(Pl011Dr::from_scratch().with(Pl011Dr::data, uint64_t{byte}).raw());
}

void VirtualPl011::empty_rx() {
  rx_head_ = 0;
  rx_count_ = 0;
  ris_ = ris_.with(Pl011Int::rx, false).with(Pl011Int::rt, false);
}

void VirtualPl011::transmit(uint8_t byte) {
  if (loopback()) {
    // The transmitter feeds the receiver; a full FIFO loses the character
    // and flags an overrun (DDI 0183 "Receive Status Register/Error Clear
    // Register, UARTRSR/UARTECR", OE).
    if (!receive(byte)) {
      rsr_ = rsr_.with(Pl011Rsr::oe, true);
      ris_ = ris_.with(Pl011Int::oe, true);
    }
  } else if (transmit_ != nullptr) {
    transmit_(context_, byte);
  }
  // The character left at once, so the (empty) transmit FIFO is at or
  // below any trigger level: UARTTXINTR.
  ris_ = ris_.with(Pl011Int::tx, true);
}

uint32_t VirtualPl011::read_register(uint64_t reg) {
  switch (reg) {
    case pl011::kDr: return pop_rx();
    case pl011::kRsr: return static_cast<uint32_t>(rsr_.raw());
    case pl011::kFr: {
      poll_if_empty();
      const Pl011Fr fr = Pl011Fr::from_scratch()
                             .with(Pl011Fr::txfe, true)
                             .with(Pl011Fr::rxfe, rx_count_ == 0)
                             .with(Pl011Fr::rxff, rx_count_ >= fifo_depth());
      return static_cast<uint32_t>(fr.raw());
    }
    case pl011::kIlpr: return ilpr_;
    case pl011::kIbrd: return ibrd_;
    case pl011::kFbrd: return fbrd_;
    case pl011::kLcrH: return static_cast<uint32_t>(lcr_h_.raw());
    case pl011::kCr: return static_cast<uint32_t>(cr_.raw());
    case pl011::kIfls: return static_cast<uint32_t>(ifls_.raw());
    case pl011::kImsc: return static_cast<uint32_t>(imsc_.raw());
    case pl011::kRis: poll_if_empty(); return static_cast<uint32_t>(ris_.raw());
    case pl011::kMis: poll_if_empty(); return static_cast<uint32_t>(ris_.raw() & imsc_.raw());
    case pl011::kDmacr: return static_cast<uint32_t>(dmacr_.raw());
    default: break;
  }
  if (reg >= pl011::kPeriphId0 && reg < pl011::kPCellId0) return kPeriphId[(reg - pl011::kPeriphId0) / 4];
  if (reg >= pl011::kPCellId0 && reg < pl011::kRegsSize) return kPCellId[(reg - pl011::kPCellId0) / 4];
  return 0;  // UARTICR (write-only), test registers, reserved
}

void VirtualPl011::write_register(uint64_t reg, uint32_t value, bool covers_low_byte) {
  switch (reg) {
    case pl011::kDr:
      if (covers_low_byte) transmit(static_cast<uint8_t>(Pl011Dr(value).get(Pl011Dr::data)));
      return;
    case pl011::kRsr: rsr_ = Pl011Rsr(); return;  // UARTECR: any write clears the errors
    case pl011::kIlpr: ilpr_ = value & kIlprMask; return;
    case pl011::kIbrd: ibrd_ = value & kIbrdMask; return;
    case pl011::kFbrd: fbrd_ = value & kFbrdMask; return;
    case pl011::kLcrH: {
      const Pl011LcrH next(value & fields_mask(Pl011LcrH::kFields));
      // Switching the FIFO on or off empties it, as QEMU does.
      if (next.get(Pl011LcrH::fen) != lcr_h_.get(Pl011LcrH::fen)) empty_rx();
      lcr_h_ = next;
      return;
    }
    case pl011::kCr: cr_ = Pl011Cr(value & fields_mask(Pl011Cr::kFields)); return;
    case pl011::kIfls: ifls_ = Pl011Ifls(value & fields_mask(Pl011Ifls::kFields)); return;
    case pl011::kImsc: imsc_ = Pl011Int(value & fields_mask(Pl011Int::kFields)); return;
    case pl011::kIcr: ris_ = Pl011Int(ris_.raw() & ~uint64_t{value}); return;
    case pl011::kDmacr: dmacr_ = Pl011Dmacr(value & fields_mask(Pl011Dmacr::kFields)); return;
    default: return;  // UARTFR, UARTRIS, UARTMIS, the IDs: read-only; reserved offsets
  }
}

}  // namespace lamina::hyp
