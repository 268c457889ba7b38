// The console multiplexer's escape sequence (hyp/lib/console_escape): what
// reaches the VM and what switches the input, byte by byte.
#include "hyp/lib/console_escape.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace lamina {
namespace {

using Kind = ConsoleEscape::Kind;
constexpr char kEsc = '\x1c';  // Ctrl-\, written independently of the header

// Feeds `typed` and returns what was delivered, with switches written as
// "<vmN>", refusals as "<novmN>" and help as "<help>".
std::string run(ConsoleEscape& e, const std::string& typed) {
  std::string out;
  for (const char c : typed) {
    const ConsoleEscape::Action a = e.feed(static_cast<uint8_t>(c));
    switch (a.kind) {
      case Kind::kDeliver:
        EXPECT_LE(a.count, 2u);
        for (unsigned i = 0; i < a.count; ++i) out.push_back(static_cast<char>(a.bytes[i]));
        break;
      case Kind::kSwitch: out += "<vm" + std::to_string(a.vm + 1) + ">"; break;
      case Kind::kNoSuchVm: out += "<novm" + std::to_string(a.vm + 1) + ">"; break;
      case Kind::kHelp: out += "<help>"; break;
    }
  }
  return out;
}

TEST(ConsoleEscape, EscapeKeyIsCtrlBackslash) { EXPECT_EQ(ConsoleEscape::kEscapeKey, 0x1c); }

TEST(ConsoleEscape, OneVmIsTransparentEvenForTheEscapeKey) {
  ConsoleEscape e(1);
  const std::string typed = std::string("ls\r") + kEsc + "2" + kEsc + kEsc + "?";
  EXPECT_EQ(run(e, typed), typed);
  EXPECT_FALSE(e.pending());
}

TEST(ConsoleEscape, PlainBytesPassWithSeveralVms) {
  ConsoleEscape e(2);
  std::string all;
  for (int c = 0; c < 256; ++c)
    if (c != 0x1c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(run(e, all), all);
}

TEST(ConsoleEscape, DigitSwitchesToThatVm) {
  ConsoleEscape e(3);
  EXPECT_EQ(run(e, std::string("a") + kEsc + "2b" + kEsc + "3c" + kEsc + "1d"), "a<vm2>b<vm3>c<vm1>d");
}

TEST(ConsoleEscape, EscapeAloneDeliversNothingYet) {
  ConsoleEscape e(2);
  const auto a = e.feed(0x1c);
  EXPECT_EQ(a.kind, Kind::kDeliver);
  EXPECT_EQ(a.count, 0u);
  EXPECT_TRUE(e.pending());
}

TEST(ConsoleEscape, DoubleEscapeIsOneLiteralEscape) {
  ConsoleEscape e(2);
  EXPECT_EQ(run(e, std::string("x") + kEsc + kEsc + "y"), std::string("x") + kEsc + "y");
  // And the state is back to normal: the next escape starts a new sequence.
  EXPECT_EQ(run(e, std::string(1, kEsc) + "2"), "<vm2>");
}

TEST(ConsoleEscape, UnknownKeyAfterEscapeDeliversBoth) {
  ConsoleEscape e(2);
  EXPECT_EQ(run(e, std::string(1, kEsc) + "q"), std::string(1, kEsc) + "q");
  EXPECT_EQ(run(e, std::string(1, kEsc) + "0"), std::string(1, kEsc) + "0");
  EXPECT_FALSE(e.pending());
}

TEST(ConsoleEscape, DigitBeyondTheVmsIsRefusedAndSwallowed) {
  ConsoleEscape e(2);
  EXPECT_EQ(run(e, std::string(1, kEsc) + "3z"), "<novm3>z");
  EXPECT_EQ(run(e, std::string(1, kEsc) + "9"), "<novm9>");
}

TEST(ConsoleEscape, QuestionMarkAsksForHelp) {
  ConsoleEscape e(4);
  EXPECT_EQ(run(e, std::string(1, kEsc) + "?"), "<help>");
}

TEST(ConsoleEscape, DigitWithoutEscapeIsJustADigit) {
  ConsoleEscape e(4);
  EXPECT_EQ(run(e, "1234"), "1234");
}

TEST(ConsoleEscape, SetVmCountDropsAHalfTypedSequence) {
  ConsoleEscape e(2);
  (void)e.feed(0x1c);
  ASSERT_TRUE(e.pending());
  e.set_vm_count(3);
  EXPECT_FALSE(e.pending());
  EXPECT_EQ(run(e, "2"), "2");
  e.set_vm_count(1);
  EXPECT_EQ(run(e, std::string(1, kEsc) + "2"), std::string(1, kEsc) + "2");
}

}  // namespace
}  // namespace lamina
