// The emulated PL011 against ARM DDI 0183 (register offsets, bit positions
// and reset values written here from the TRM's register summary and
// descriptions) and QEMU's hw/char/pl011.c where the TRM leaves a choice
// (identification values, 64-bit accesses, instantaneous transmission).
#include "hyp/dev/vpl011.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <gtest/gtest.h>
#include <string>

namespace lamina::hyp {
namespace {

// DDI 0183 register offsets.
constexpr uint64_t kDr = 0x00, kRsr = 0x04, kFr = 0x18, kIlpr = 0x20, kIbrd = 0x24, kFbrd = 0x28,
                   kLcrH = 0x2c, kCr = 0x30, kIfls = 0x34, kImsc = 0x38, kRis = 0x3c, kMis = 0x40,
                   kIcr = 0x44, kDmacr = 0x48;
// UARTFR bits.
constexpr uint64_t kFrBusy = 1 << 3, kFrRxfe = 1 << 4, kFrTxff = 1 << 5, kFrRxff = 1 << 6, kFrTxfe = 1 << 7;
// Interrupt bits (UARTIMSC/RIS/MIS/ICR).
constexpr uint64_t kIntRx = 1 << 4, kIntTx = 1 << 5, kIntRt = 1 << 6, kIntOe = 1 << 10;
constexpr uint64_t kLcrFen = 1 << 4;
constexpr uint64_t kCrLbe = 1 << 7;

struct Backend {
  std::string sent;
  std::deque<uint8_t> input;
  unsigned polls = 0;
};

void tx(void* context, uint8_t byte) {
  static_cast<Backend*>(context)->sent.push_back(static_cast<char>(byte));
}
bool rx(void* context, uint8_t* byte) {
  auto* b = static_cast<Backend*>(context);
  ++b->polls;
  if (b->input.empty()) return false;
  *byte = b->input.front();
  b->input.pop_front();
  return true;
}

class Vpl011Test : public ::testing::Test {
 protected:
  void SetUp() override { uart.attach(tx, rx, &backend); }

  uint64_t rd(uint64_t offset, unsigned width = 4) {
    uint64_t v = ~uint64_t{0};
    EXPECT_EQ(uart.read(offset, width, &v), MmioResult::kOk) << "read at " << offset;
    return v;
  }
  void wr(uint64_t offset, uint64_t value, unsigned width = 4) {
    EXPECT_EQ(uart.write(offset, width, value), MmioResult::kOk) << "write at " << offset;
  }

  Backend backend;
  VirtualPl011 uart;
};

TEST_F(Vpl011Test, ResetValues) {
  EXPECT_EQ(rd(kFr), kFrTxfe | kFrRxfe);  // 0x90
  EXPECT_EQ(rd(kCr), 0x300u);             // TXE | RXE
  EXPECT_EQ(rd(kIfls), 0x12u);            // both at 1/2
  for (uint64_t reg : {kRsr, kIlpr, kIbrd, kFbrd, kLcrH, kImsc, kRis, kMis, kDmacr})
    EXPECT_EQ(rd(reg), 0u) << reg;
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Vpl011Test, IdentificationRegisters) {
  // UARTPeriphID0-3 and UARTPCellID0-3, one byte in each 32-bit register.
  const uint64_t expected[] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
  for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(rd(0xfe0 + 4 * i), expected[i]) << i;
}

TEST_F(Vpl011Test, TransmitsEveryWidthFromTheLowByte) {
  wr(kDr, 'h');
  wr(kDr, 'i', 1);
  wr(kDr, 0x0a21, 2);          // '!' in bits [7:0]
  wr(kDr + 1, 'X', 1);         // bits [15:8] only: no character
  wr(kDr, 0xffff'ff00 | 'z');  // only [7:0] is data
  EXPECT_EQ(backend.sent, "hi!z");
  // Transmission is instantaneous: never full, never busy.
  EXPECT_EQ(rd(kFr) & (kFrTxff | kFrBusy), 0u);
  EXPECT_NE(rd(kFr) & kFrTxfe, 0u);
}

TEST_F(Vpl011Test, TransmitsWhateverTheEnables) {
  wr(kCr, 0);  // UARTEN, TXE off: QEMU sends anyway
  wr(kDr, 'q');
  EXPECT_EQ(backend.sent, "q");
}

TEST_F(Vpl011Test, TransmitInterruptRaisedByAWriteClearedByIcr) {
  EXPECT_EQ(rd(kRis) & kIntTx, 0u);
  wr(kDr, 'a');
  EXPECT_EQ(rd(kRis) & kIntTx, kIntTx);
  EXPECT_EQ(rd(kMis), 0u);  // masked
  EXPECT_FALSE(uart.interrupt_pending());
  wr(kImsc, kIntTx);
  EXPECT_EQ(rd(kMis), kIntTx);
  EXPECT_TRUE(uart.interrupt_pending());
  wr(kIcr, kIntTx);
  EXPECT_EQ(rd(kRis) & kIntTx, 0u);
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Vpl011Test, ReceiveWithoutFifoHoldsOneCharacter) {
  EXPECT_TRUE(uart.push_rx('x'));
  EXPECT_FALSE(uart.push_rx('y'));  // FEN = 0: one-deep
  EXPECT_EQ(rd(kFr), kFrTxfe | kFrRxff);
  // One character reaches the trigger level (1) at once: RX and RT.
  EXPECT_EQ(rd(kRis), kIntRx | kIntRt);
  EXPECT_EQ(rd(kDr), uint64_t{'x'});
  EXPECT_EQ(rd(kFr), kFrTxfe | kFrRxfe);
  EXPECT_EQ(rd(kRis), 0u);
  EXPECT_EQ(rd(kDr), 0u);  // empty: nothing
}

TEST_F(Vpl011Test, ReceiveFifoIsSixteenDeepAndInOrder) {
  wr(kLcrH, kLcrFen | (0b11 << 5));  // FIFO on, 8 bits
  for (unsigned i = 0; i < 16; ++i) EXPECT_TRUE(uart.push_rx(static_cast<uint8_t>('a' + i)));
  EXPECT_FALSE(uart.push_rx('!'));
  EXPECT_EQ(uart.rx_level(), 16u);
  EXPECT_EQ(rd(kFr) & (kFrRxff | kFrRxfe), kFrRxff);
  std::string got;
  while ((rd(kFr) & kFrRxfe) == 0) got.push_back(static_cast<char>(rd(kDr)));
  EXPECT_EQ(got, "abcdefghijklmnop");
}

TEST_F(Vpl011Test, ReceiveInterruptFollowsTheTriggerLevel) {
  wr(kLcrH, kLcrFen);
  // Reset IFLS: RXIFLSEL 0b010, half of 16 = 8.
  for (unsigned i = 0; i < 7; ++i) ASSERT_TRUE(uart.push_rx('.'));
  EXPECT_EQ(rd(kRis), kIntRt) << "7 < 8: only the timeout";
  ASSERT_TRUE(uart.push_rx('.'));
  EXPECT_EQ(rd(kRis), kIntRx | kIntRt);
  (void)rd(kDr);
  EXPECT_EQ(rd(kRis), kIntRt) << "below the level again";
  wr(kIcr, kIntRt);
  EXPECT_EQ(rd(kRis), 0u) << "the timeout clears by UARTICR with data left";
  ASSERT_TRUE(uart.push_rx('.'));
  EXPECT_EQ(rd(kRis), kIntRx | kIntRt);
  // The other levels: 1/8 = 2, 1/4 = 4, 3/4 = 12, 7/8 = 14 characters.
  const struct {
    uint64_t rxiflsel;
    unsigned level;
  } levels[] = {{0b000, 2}, {0b001, 4}, {0b011, 12}, {0b100, 14}};
  for (const auto& l : levels) {
    uart.reset();
    wr(kLcrH, kLcrFen);
    wr(kIfls, l.rxiflsel << 3);
    for (unsigned i = 0; i + 1 < l.level; ++i) ASSERT_TRUE(uart.push_rx('.'));
    EXPECT_EQ(rd(kRis) & kIntRx, 0u) << l.level;
    ASSERT_TRUE(uart.push_rx('.'));
    EXPECT_EQ(rd(kRis) & kIntRx, kIntRx) << l.level;
  }
}

TEST_F(Vpl011Test, ReceiveInterruptPendingWhenUnmasked) {
  wr(kImsc, kIntRx | kIntRt);
  EXPECT_FALSE(uart.interrupt_pending());
  ASSERT_TRUE(uart.push_rx('k'));
  EXPECT_TRUE(uart.interrupt_pending());
  EXPECT_EQ(rd(kMis), kIntRx | kIntRt);
  (void)rd(kDr);
  EXPECT_FALSE(uart.interrupt_pending());
}

// The line Linux's amba-pl011 driver sees, in the order it programs the
// device (drivers/tty/serial/amba-pl011.c: pl011_hwinit clears every
// interrupt, pl011_enable_interrupts unmasks RX and RT; transmission
// polls TXFF with TXIM masked): up when input arrives, down once the FIFO
// is read empty, never raised by transmitting.
TEST_F(Vpl011Test, InterruptLineThroughLinuxDriverSequence) {
  wr(kLcrH, kLcrFen | (0b11 << 5));
  wr(kIcr, 0x7ff);
  wr(kImsc, kIntRx | kIntRt);
  EXPECT_FALSE(uart.interrupt_pending());
  for (const char c : std::string("echo hi\r")) wr(kDr, static_cast<uint8_t>(c));
  EXPECT_FALSE(uart.interrupt_pending()) << "TX raised in UARTRIS but masked";
  backend.input = {'l', 's', '\r'};
  uart.receive_from_backend();
  EXPECT_TRUE(uart.interrupt_pending());
  EXPECT_EQ(uart.rx_level(), 3u);
  EXPECT_EQ(rd(kMis), kIntRt) << "3 below the 1/2 trigger: the timeout carries the line";
  std::string got;
  while ((rd(kFr) & kFrRxfe) == 0) {
    EXPECT_TRUE(uart.interrupt_pending()) << "still data";
    got.push_back(static_cast<char>(rd(kDr)));
  }
  EXPECT_EQ(got, "ls\r");
  EXPECT_FALSE(uart.interrupt_pending()) << "read empty: the line drops";
}

// Input beyond the FIFO stays with the backend until the guest has read
// the FIFO empty; receive_from_backend() takes only what fits.
TEST_F(Vpl011Test, ReceiveFromBackendTakesWhatFits) {
  wr(kLcrH, kLcrFen);
  wr(kImsc, kIntRx | kIntRt);
  for (int i = 0; i < 20; ++i) backend.input.push_back(static_cast<uint8_t>('A' + i));
  uart.receive_from_backend();
  EXPECT_EQ(uart.rx_level(), 16u);
  EXPECT_EQ(backend.input.size(), 4u);
  EXPECT_EQ(rd(kMis), kIntRx | kIntRt) << "at or above the trigger level";
  uart.receive_from_backend();  // full: nothing more
  EXPECT_EQ(backend.input.size(), 4u);
  std::string got;
  while ((rd(kFr) & kFrRxfe) == 0) got.push_back(static_cast<char>(rd(kDr)));
  EXPECT_EQ(got, "ABCDEFGHIJKLMNOPQRST") << "UARTFR on the empty FIFO fetched the rest";
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Vpl011Test, ReceiveFromBackendRefusedInLoopback) {
  wr(kCr, 0x300 | kCrLbe | 1);
  backend.input = {'x'};
  uart.receive_from_backend();
  EXPECT_EQ(uart.rx_level(), 0u);
  EXPECT_EQ(backend.input.size(), 1u);
}

// QEMU's model, which these guests are written against: the transmit
// interrupt is raised by every write and cleared only by UARTICR, so a
// driver that unmasks TXIM after sending sees the line up at once (the FIFO
// is empty), and a write after UARTICR raises it again.
TEST_F(Vpl011Test, TransmitLineAsQemu) {
  wr(kDr, 'a');
  wr(kImsc, kIntTx);
  EXPECT_TRUE(uart.interrupt_pending());
  wr(kIcr, kIntTx);
  EXPECT_FALSE(uart.interrupt_pending());
  wr(kDr, 'b');
  EXPECT_TRUE(uart.interrupt_pending());
  wr(kImsc, 0);
  EXPECT_FALSE(uart.interrupt_pending()) << "masking drops the line";
  wr(kImsc, kIntTx);
  EXPECT_TRUE(uart.interrupt_pending()) << "unmasking raises it again";
}

// UARTINTR is UARTMIS != 0 for every interrupt bit, one at a time.
TEST_F(Vpl011Test, InterruptPendingIsMisNonZero) {
  wr(kCr, 0x300 | kCrLbe | 1);  // loopback: the OE overrun is reachable
  wr(kLcrH, 0);                 // one-deep FIFO
  wr(kDr, 'x');
  wr(kDr, 'y');                 // overrun
  const uint64_t raised = rd(kRis);
  EXPECT_EQ(raised & (kIntRx | kIntRt | kIntTx | kIntOe), kIntRx | kIntRt | kIntTx | kIntOe);
  for (unsigned bit = 0; bit < 11; ++bit) {
    wr(kImsc, uint64_t{1} << bit);
    EXPECT_EQ(uart.interrupt_pending(), ((raised >> bit) & 1) != 0) << bit;
  }
}

TEST_F(Vpl011Test, ResetDropsTheLine) {
  wr(kImsc, kIntRx | kIntRt);
  ASSERT_TRUE(uart.push_rx('k'));
  ASSERT_TRUE(uart.interrupt_pending());
  uart.reset();
  EXPECT_FALSE(uart.interrupt_pending());
}

TEST_F(Vpl011Test, SwitchingTheFifoEmptiesIt) {
  ASSERT_TRUE(uart.push_rx('a'));
  wr(kLcrH, kLcrFen);
  EXPECT_EQ(uart.rx_level(), 0u);
  EXPECT_EQ(rd(kRis) & (kIntRx | kIntRt), 0u);
  ASSERT_TRUE(uart.push_rx('b'));
  wr(kLcrH, kLcrFen | (0b11 << 5));  // FEN unchanged: kept
  EXPECT_EQ(uart.rx_level(), 1u);
}

TEST_F(Vpl011Test, PollsTheBackendOnlyWhenEmpty) {
  backend.input = {'o', 'k'};
  wr(kLcrH, kLcrFen);
  EXPECT_EQ(rd(kFr) & kFrRxfe, 0u);  // looking at an empty FIFO fetched both
  EXPECT_EQ(uart.rx_level(), 2u);
  const unsigned polls = backend.polls;
  EXPECT_EQ(rd(kDr), uint64_t{'o'});
  EXPECT_EQ(backend.polls, polls) << "not polled while bytes wait";
  EXPECT_EQ(rd(kDr), uint64_t{'k'});
  (void)rd(kFr);
  EXPECT_GT(backend.polls, polls) << "polled again once empty";
  // Without the FIFO, one byte at a time.
  uart.reset();
  backend.input = {'1', '2'};
  EXPECT_EQ(rd(kDr), uint64_t{'1'});
  EXPECT_EQ(uart.rx_level(), 0u);
  EXPECT_EQ(rd(kDr), uint64_t{'2'});
}

// With a receive hint, the backend is asked only while the hint says it
// holds bytes: the UARTFR/UARTDR/UARTRIS/UARTMIS looks at an empty FIFO
// and receive_from_backend() leave the callback alone at 0.
TEST_F(Vpl011Test, ReceiveHintSkipsTheBackendWhileZero) {
  std::atomic<size_t> waiting{0};
  uart.set_receive_hint(&waiting);
  wr(kLcrH, kLcrFen);
  backend.input = {'h', 'i'};
  EXPECT_NE(rd(kFr) & kFrRxfe, 0u) << "the hint says nothing waits";
  (void)rd(kDr);
  (void)rd(kRis);
  (void)rd(kMis);
  uart.receive_from_backend();
  EXPECT_EQ(backend.polls, 0u);
  EXPECT_EQ(uart.rx_level(), 0u);
  waiting.store(2);
  EXPECT_EQ(rd(kFr) & kFrRxfe, 0u);
  EXPECT_EQ(uart.rx_level(), 2u);
  EXPECT_GT(backend.polls, 0u);
  EXPECT_EQ(rd(kDr), uint64_t{'h'});
  EXPECT_EQ(rd(kDr), uint64_t{'i'});
  // A hint of null again: asked at every look.
  uart.set_receive_hint(nullptr);
  const unsigned polls = backend.polls;
  (void)rd(kFr);
  EXPECT_GT(backend.polls, polls);
}

TEST_F(Vpl011Test, LoopbackFeedsTheReceiver) {
  wr(kCr, 0x300 | kCrLbe | 1);
  wr(kDr, 'L');
  EXPECT_EQ(backend.sent, "");
  EXPECT_FALSE(uart.push_rx('x')) << "the receive input is disconnected";
  backend.input = {'z'};
  EXPECT_EQ(rd(kDr), uint64_t{'L'});
  EXPECT_EQ(backend.input.size(), 1u) << "no polling in loopback";
  // Overrun: the FIFO (1 deep) is full, the next character is lost.
  wr(kDr, '1');
  wr(kDr, '2');
  EXPECT_EQ(rd(kRsr) & (1 << 3), uint64_t{1} << 3) << "UARTRSR.OE";
  EXPECT_EQ(rd(kRis) & kIntOe, kIntOe);
  EXPECT_EQ(rd(kDr), uint64_t{'1'});
  wr(kRsr, 0);  // UARTECR
  EXPECT_EQ(rd(kRsr), 0u);
}

TEST_F(Vpl011Test, RegistersKeepOnlyTheirBits) {
  const struct {
    uint64_t reg;
    uint64_t mask;
  } regs[] = {{kIlpr, 0xff}, {kIbrd, 0xffff}, {kFbrd, 0x3f},  {kLcrH, 0xff},
              {kCr, 0xff87}, {kIfls, 0x3f},   {kImsc, 0x7ff}, {kDmacr, 0x7}};
  for (const auto& r : regs) {
    wr(r.reg, 0xffff'ffff);
    EXPECT_EQ(rd(r.reg), r.mask) << r.reg;
  }
  // Read-only registers ignore writes.
  wr(kFr, 0);
  wr(kRis, 0xffff);
  EXPECT_NE(rd(kFr), 0u);
  wr(0xfe0, 0);
  EXPECT_EQ(rd(0xfe0), 0x11u);
}

TEST_F(Vpl011Test, NarrowAndWideAccesses) {
  // Byte lanes of a 32-bit register.
  wr(kCr, 0x0301);
  EXPECT_EQ(rd(kCr + 1, 1), 0x03u);
  EXPECT_EQ(rd(kCr, 2), 0x0301u);
  EXPECT_EQ(rd(kCr + 2, 2), 0u);
  // A narrow write replaces the register with the value in its lanes.
  wr(kCr + 1, 0x01, 1);
  EXPECT_EQ(rd(kCr), 0x0100u);
  // 64 bits: two 32-bit registers, low word first (QEMU).
  wr(kCr, 0x0301);
  EXPECT_EQ(rd(kCr, 8), (uint64_t{0x12} << 32) | 0x0301);  // UARTCR | UARTIFLS << 32
  wr(kCr, (uint64_t{0x09} << 32) | 0x0300, 8);
  EXPECT_EQ(rd(kCr), 0x300u);
  EXPECT_EQ(rd(kIfls), 0x09u);
  // Unimplemented offsets: zero, writes ignored.
  wr(0x80, 0xffff);
  EXPECT_EQ(rd(0x80), 0u);
  EXPECT_EQ(rd(kIcr), 0u);  // write-only
}

TEST_F(Vpl011Test, UnsupportedAccessesAbort) {
  uint64_t v = 0;
  EXPECT_EQ(uart.read(kCr + 1, 2, &v), MmioResult::kExternalAbort);  // misaligned
  EXPECT_EQ(uart.read(kCr + 2, 4, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(uart.read(kCr + 4, 8, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(uart.read(kCr, 3, &v), MmioResult::kExternalAbort);     // not a width
  EXPECT_EQ(uart.read(0x1000, 4, &v), MmioResult::kExternalAbort);  // outside
  EXPECT_EQ(uart.write(kDr + 2, 4, 'x'), MmioResult::kExternalAbort);
  EXPECT_EQ(uart.write(0x1000, 1, 'x'), MmioResult::kExternalAbort);
  EXPECT_EQ(backend.sent, "");
}

TEST_F(Vpl011Test, ResetKeepsTheBackend) {
  wr(kCr, 0);
  wr(kImsc, 0x7ff);
  ASSERT_TRUE(uart.push_rx('r'));
  uart.reset();
  EXPECT_EQ(rd(kCr), 0x300u);
  EXPECT_EQ(rd(kImsc), 0u);
  EXPECT_EQ(uart.rx_level(), 0u);
  wr(kDr, 'k');
  EXPECT_EQ(backend.sent, "k");
}

// A VM's devices live in static storage: they must need no constructor code.
constinit VirtualPl011 g_static_uart;

TEST(Vpl011Detached, TransmitAndPollWithoutABackend) {
  uint64_t cr = 0;
  EXPECT_EQ(g_static_uart.read(kCr, 4, &cr), MmioResult::kOk);
  EXPECT_EQ(cr, 0x300u);
  VirtualPl011 uart;
  EXPECT_EQ(uart.write(kDr, 4, 'x'), MmioResult::kOk);
  uint64_t v = 1;
  EXPECT_EQ(uart.read(kDr, 4, &v), MmioResult::kOk);
  EXPECT_EQ(v, 0u);
}

}  // namespace
}  // namespace lamina::hyp
