// Tests for hyp/lib/format.hpp: Buffer, the format-string parser, and every
// built-in formatter.
//
// The formatters are constexpr, so many expectations are also checked under
// static_assert, where the compiler rejects UB (negating INT64_MIN, writing
// past an array) instead of merely not noticing it.
//
// Misuses that must NOT compile cannot be tested here (a static_assert cannot
// observe a compile error). They are listed at the top of format.hpp; each one
// stops in BasicFormatString's consteval constructor at a call to a
// non-constexpr function whose name states the problem, e.g.
//   fmt::format_to(out, "{} {}", 1);   // placeholder_count_differs_from_argument_count
//   fmt::format_to(out, "{}", 1, 2);   // placeholder_count_differs_from_argument_count
//   fmt::format_to(out, "{", 1);       // format_string_has_unterminated_placeholder
//   fmt::format_to(out, "}", 1);       // format_string_has_unmatched_close_brace_use_double_brace
//   fmt::format_to(out, "{0}", 1);     // format_spec_is_malformed
//   fmt::format_to(out, "{:65}", 1);   // format_width_is_above_kMaxWidth
// The parser those constructors run is tested directly below (parse_format /
// parse_spec), on both valid and invalid strings.
#include "hyp/lib/format.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>

#include "mm/addr.hpp"

namespace format_test_ext {

// A stand-in for a type defined elsewhere (a Vmid, say) that brings its own
// formatter: found by ADL, composed from the public building blocks.
struct Vmid {
  uint16_t value;
};
constexpr void format_value(lamina::fmt::Buffer& out, const Vmid& vmid,
                            const lamina::fmt::Spec& spec) {
  out.put("vmid:");
  lamina::fmt::format_value(out, vmid.value, spec);
}

// An enum with names beats the generic "underlying integer" formatter.
enum class Color : uint8_t { kRed, kGreen };
constexpr void format_value(lamina::fmt::Buffer& out, Color color, const lamina::fmt::Spec& spec) {
  lamina::fmt::format_value(out, color == Color::kRed ? "red" : "green", spec);
}

// An enum without a formatter of its own.
enum class Plain : uint8_t { kSeven = 7 };

// A type in a third namespace, with a tag of its own.
struct Ipa {
  uint64_t value;
};
constexpr void format_value(lamina::fmt::Buffer& out, const Ipa& ipa,
                            const lamina::fmt::Spec& spec) {
  lamina::fmt::format_address(out, "IPA:", ipa.value, spec);
}

struct NotFormattable {};

}  // namespace format_test_ext

namespace lamina::fmt {
namespace {

using mm::PhysAddr;
using mm::PhysRange;
using mm::VirtAddr;

using namespace std::string_view_literals;

// ---- Helpers ---------------------------------------------------------------

// The result of one format_to into a roomy buffer. It owns its text, so it
// can be returned and compared both at run time and under static_assert.
struct Line {
  std::array<char, 256> data{};
  size_t size = 0;
  bool truncated = false;
  bool terminated = false;  // data[size] == '\0' after formatting

  [[nodiscard]] constexpr std::string_view view() const { return {data.data(), size}; }
  friend constexpr bool operator==(const Line& line, std::string_view expected) {
    return line.view() == expected;
  }
  friend void PrintTo(const Line& line, std::ostream* os) { *os << '"' << line.view() << '"'; }
};

template <typename... Args>
constexpr Line text(FormatString<Args...> fmt, const Args&... args) {
  Line line;
  line.data.fill('#');
  Buffer out(line.data.data(), line.data.size());
  format_to(out, fmt, args...);
  line.size = out.size();
  line.truncated = out.truncated();
  line.terminated = line.data[line.size] == '\0';
  return line;
}

// A Buffer of `capacity` inside a larger array filled with '#', so writes past
// the capacity are visible.
struct Guarded {
  static constexpr size_t kStorage = 64;
  std::array<char, kStorage> storage;
  Buffer buffer;

  explicit Guarded(size_t capacity) : storage(filled()), buffer(storage.data(), capacity) {}

  static std::array<char, kStorage> filled() {
    std::array<char, kStorage> a;
    a.fill('#');
    return a;
  }
  // Nothing at or past `capacity` was touched, and the text is terminated.
  [[nodiscard]] bool intact() const {
    const size_t capacity = buffer.capacity();
    for (size_t i = capacity; i < kStorage; ++i) {
      if (storage[i] != '#') return false;
    }
    return capacity == 0 || storage[buffer.size()] == '\0';
  }
};

constexpr std::string_view kBinary64Ones =
    "1111111111111111111111111111111111111111111111111111111111111111";

// ---- Compile-time checks ---------------------------------------------------
// The parser the consteval constructor runs, on valid strings.
static_assert(parse_format("").placeholders == 0);
static_assert(parse_format("no placeholders").placeholders == 0);
static_assert(parse_format("{}").placeholders == 1);
static_assert(parse_format("{} and {:x} and {:<8s}").placeholders == 3);
static_assert(parse_format("{{}}").placeholders == 0);    // escapes only
static_assert(parse_format("{{{}}}").placeholders == 1);  // escape, placeholder, escape
static_assert(parse_format("{:}").placeholders == 1);
static_assert(parse_format("{:64b}").error == ParseError::kNone);
static_assert(parse_format("{:>064X}").error == ParseError::kNone);

// ... and on invalid ones: what the constructor turns into compile errors.
static_assert(parse_format("{").error == ParseError::kUnterminatedPlaceholder);
static_assert(parse_format("abc {:x").error == ParseError::kUnterminatedPlaceholder);
static_assert(parse_format("{ {}").error == ParseError::kUnterminatedPlaceholder);
static_assert(parse_format("}").error == ParseError::kUnmatchedCloseBrace);
static_assert(parse_format("{{}").error == ParseError::kUnmatchedCloseBrace);
static_assert(parse_format("{0}").error == ParseError::kBadSpec);
static_assert(parse_format("{name}").error == ParseError::kBadSpec);
static_assert(parse_format("{:q}").error == ParseError::kBadSpec);
static_assert(parse_format("{:x8}").error == ParseError::kBadSpec);   // type before width
static_assert(parse_format("{:0<8}").error == ParseError::kBadSpec);  // fill before align
static_assert(parse_format("{:008}").error == ParseError::kBadSpec);
static_assert(parse_format("{:xx}").error == ParseError::kBadSpec);
static_assert(parse_format("{:^8}").error == ParseError::kBadSpec);  // no centring
static_assert(parse_format("{:65}").error == ParseError::kWidthTooLarge);
static_assert(parse_format("{:99999999999999999999}").error == ParseError::kWidthTooLarge);

// Spec fields.
static_assert(parse_spec("").spec == Spec{});
static_assert(parse_spec(":").spec == Spec{});
static_assert(parse_spec(":>08X").spec ==
              Spec{Align::kRight, Presentation::kHexUpper, /*zero_fill=*/true, /*width=*/8});
static_assert(parse_spec(":<12s").spec ==
              Spec{Align::kLeft, Presentation::kString, /*zero_fill=*/false, /*width=*/12});
static_assert(parse_spec(":0").spec.zero_fill);
static_assert(parse_spec(":b").spec.presentation == Presentation::kBinary);
static_assert(parse_spec(":d").spec.presentation == Presentation::kDecimal);
static_assert(parse_spec(":x").spec.presentation == Presentation::kHexLower);
static_assert(parse_spec(":64").spec.width == 64);

// The constructor itself, in a constexpr context: it counted and stored.
constexpr FormatString<int, unsigned, const char*> kCheckedAtCompileTime("{} {:08x} {:>6}");
static_assert(kCheckedAtCompileTime.text() == "{} {:08x} {:>6}");
static_assert(kCheckedAtCompileTime.spec(0) == Spec{});
static_assert(kCheckedAtCompileTime.spec(1).width == 8 && kCheckedAtCompileTime.spec(1).zero_fill);
static_assert(kCheckedAtCompileTime.spec(2).align == Align::kRight);
constexpr FormatString<> kNoArguments("{{literal}}");
static_assert(kNoArguments.text() == "{{literal}}");

// Whole formatting runs, evaluated by the compiler.
static_assert(text("{}", std::numeric_limits<int64_t>::min()) == "-9223372036854775808");
static_assert(text("{}", std::numeric_limits<uint64_t>::max()) == "18446744073709551615");
static_assert(text("{:x}", 31) == "0x1f");
static_assert(text("{:08x}", 31) == "0x0000001f");
static_assert(text("{:05}", -42) == "-0042");
static_assert(text("{:b}", uint8_t{5}) == "0b101");
static_assert(text("{{{}}}", 5) == "{5}");
static_assert(text("{}", PhysAddr(0x4000'0000)) == "PA:0x40000000");
static_assert(text("{}", PhysRange{PhysAddr(0x1000), 0x2000}) == "[PA:0x1000-PA:0x3000)");
static_assert(text("{} {}", true, 'c') == "true c");
static_assert(text("{}", format_test_ext::Vmid{3}) == "vmid:3");
static_assert(text("{}", "x").terminated);

// The Formattable concept sees the built-ins and ADL formatters.
static_assert(Formattable<int>);
static_assert(Formattable<const char*>);
static_assert(Formattable<std::string_view>);
static_assert(Formattable<void*>);
static_assert(Formattable<PhysRange>);
static_assert(Formattable<format_test_ext::Vmid>);
static_assert(Formattable<format_test_ext::Plain>);
static_assert(!Formattable<format_test_ext::NotFormattable>);
static_assert(!Formattable<__int128>);  // refused rather than cut to 64 bits

// Truncation, evaluated by the compiler (writes past the end would not compile).
constexpr bool truncates_with_ellipsis() {
  char data[6] = {};
  Buffer out(data, sizeof data);
  format_to(out, "{}", 1234567);
  return out.view() == "12..." && out.truncated() && data[5] == '\0';
}
static_assert(truncates_with_ellipsis());

// ---- Buffer ----------------------------------------------------------------

TEST(FormatBufferTest, NewBufferIsEmptyAndTerminated) {
  // Construction alone writes the NUL, so even an unused buffer is a valid C string.
  Guarded g(16);
  EXPECT_EQ(g.buffer.size(), 0u);
  EXPECT_EQ(g.buffer.capacity(), 16u);
  EXPECT_EQ(g.buffer.view(), "");
  EXPECT_FALSE(g.buffer.truncated());
  EXPECT_EQ(g.storage[0], '\0');
  EXPECT_TRUE(g.intact());
}

TEST(FormatBufferTest, PutAppendsAndStaysTerminated) {
  // Every put keeps data[size] == '\0'.
  Guarded g(16);
  g.buffer.put('a');
  EXPECT_EQ(g.buffer.view(), "a");
  EXPECT_TRUE(g.intact());
  g.buffer.put("bcd"sv);
  EXPECT_EQ(g.buffer.view(), "abcd");
  EXPECT_TRUE(g.intact());
  g.buffer.put_repeated('-', 3);
  EXPECT_EQ(g.buffer.view(), "abcd---");
  EXPECT_EQ(g.buffer.size(), 7u);
  EXPECT_TRUE(g.intact());
  g.buffer.put(""sv);
  g.buffer.put_repeated('x', 0);
  EXPECT_EQ(g.buffer.view(), "abcd---");
  EXPECT_FALSE(g.buffer.truncated());
  EXPECT_EQ(std::string(g.storage.data()), "abcd---");
}

TEST(FormatBufferTest, ExactFitIsNotTruncation) {
  // capacity - 1 characters fit exactly; only the next one truncates.
  Guarded g(5);
  g.buffer.put("abcd"sv);
  EXPECT_EQ(g.buffer.view(), "abcd");
  EXPECT_FALSE(g.buffer.truncated());
  EXPECT_TRUE(g.intact());
  g.buffer.put('e');
  EXPECT_TRUE(g.buffer.truncated());
  EXPECT_EQ(g.buffer.view(), "a...");
  EXPECT_TRUE(g.intact());
}

struct TruncationCase {
  size_t capacity;
  std::string_view visible;
  bool truncated;
};

// "abcdefgh" (8 characters) into every small capacity.
constexpr TruncationCase kTruncationCases[] = {
    {0, "", true},        {1, "", true},           {2, "a", true},        {3, "ab", true},
    {4, "...", true},     {5, "a...", true},       {6, "ab...", true},    {8, "abcd...", true},
    {9, "abcdefgh", false}, {10, "abcdefgh", false},
};

TEST(FormatBufferTest, TruncationAtEveryCapacityWithString) {
  // A put(string_view) that does not fit keeps what fits, marks the last three
  // visible characters "..." when there are three, and never writes past capacity.
  for (const TruncationCase& c : kTruncationCases) {
    SCOPED_TRACE(c.capacity);
    Guarded g(c.capacity);
    g.buffer.put("abcdefgh"sv);
    EXPECT_EQ(g.buffer.view(), c.visible);
    EXPECT_EQ(g.buffer.truncated(), c.truncated);
    EXPECT_TRUE(g.intact());
    if (c.capacity == 0) {
      EXPECT_EQ(g.storage[0], '#');  // nothing at all is written
    }
  }
}

TEST(FormatBufferTest, TruncationAtEveryCapacityWithChars) {
  // The same result when the text arrives one character at a time.
  for (const TruncationCase& c : kTruncationCases) {
    SCOPED_TRACE(c.capacity);
    Guarded g(c.capacity);
    for (char ch : "abcdefgh"sv) g.buffer.put(ch);
    EXPECT_EQ(g.buffer.view(), c.visible);
    EXPECT_EQ(g.buffer.truncated(), c.truncated);
    EXPECT_TRUE(g.intact());
  }
}

TEST(FormatBufferTest, TruncationAtEveryCapacityWithPadding) {
  // put_repeated truncates the same way.
  for (size_t capacity = 0; capacity < 12; ++capacity) {
    SCOPED_TRACE(capacity);
    Guarded g(capacity);
    g.buffer.put_repeated('z', 8);
    EXPECT_EQ(g.buffer.truncated(), capacity <= 8);
    EXPECT_TRUE(g.intact());
    if (capacity >= 4 && capacity <= 8) {
      EXPECT_EQ(g.buffer.view().substr(capacity - 4), "...");
      EXPECT_EQ(g.buffer.view().substr(0, capacity - 4), std::string(capacity - 4, 'z'));
    }
  }
}

TEST(FormatBufferTest, WritesAfterTruncationAreDropped) {
  // Once truncated, the text (with its "...") no longer changes.
  Guarded g(6);
  g.buffer.put("abcdefgh"sv);
  ASSERT_EQ(g.buffer.view(), "ab...");
  g.buffer.put('x');
  g.buffer.put("yz"sv);
  g.buffer.put_repeated(' ', 4);
  EXPECT_EQ(g.buffer.view(), "ab...");
  EXPECT_TRUE(g.buffer.truncated());
  EXPECT_TRUE(g.intact());
}

TEST(FormatBufferTest, ClearForgetsContentsAndTruncation) {
  // clear() makes the buffer as good as new.
  Guarded g(4);
  g.buffer.put("abcdef"sv);
  ASSERT_TRUE(g.buffer.truncated());
  g.buffer.clear();
  EXPECT_EQ(g.buffer.view(), "");
  EXPECT_FALSE(g.buffer.truncated());
  EXPECT_EQ(g.storage[0], '\0');
  g.buffer.put("xyz"sv);
  EXPECT_EQ(g.buffer.view(), "xyz");
  EXPECT_FALSE(g.buffer.truncated());
  EXPECT_TRUE(g.intact());
}

TEST(FormatBufferTest, NullStorageActsAsCapacityZero) {
  // A null pointer is never written, whatever capacity comes with it.
  Buffer out(nullptr, 100);
  EXPECT_EQ(out.capacity(), 0u);
  out.put("abc"sv);
  EXPECT_EQ(out.view(), "");
  EXPECT_TRUE(out.truncated());
  EXPECT_EQ(format(nullptr, 0, "{}", 12345), 0u);
}

// ---- format_to: literals and escapes ---------------------------------------

TEST(FormatLiteralTest, TextWithoutPlaceholders) {
  // Literal text is copied as is.
  EXPECT_EQ(text(""), "");
  EXPECT_EQ(text("plain text"), "plain text");
  EXPECT_TRUE(text("").terminated);
  EXPECT_TRUE(text("plain").terminated);
}

TEST(FormatLiteralTest, DoubledBracesAreLiteralBraces) {
  // "{{" and "}}" print one brace each, wherever they are.
  EXPECT_EQ(text("{{}}"), "{}");
  EXPECT_EQ(text("{{{{"), "{{");
  EXPECT_EQ(text("}}}}"), "}}");
  EXPECT_EQ(text("a}}b{{c"), "a}b{c");
  EXPECT_EQ(text("{{{}}}", 5), "{5}");
  EXPECT_EQ(text("{{}} {} {{x}}", 1), "{} 1 {x}");
  EXPECT_EQ(text("{}{{", 1), "1{");
  EXPECT_EQ(text("}}{}", 1), "}1");
}

TEST(FormatLiteralTest, ArgumentsFillPlaceholdersInOrder) {
  // Text before, between and after placeholders is kept; adjacent placeholders work.
  EXPECT_EQ(text("{}{}{}", 1, 2, 3), "123");
  EXPECT_EQ(text("<{}|{}>", "a", "b"), "<a|b>");
  EXPECT_EQ(text("x = {}, y = {:x}.", 10, 255), "x = 10, y = 0xff.");
  EXPECT_EQ(text("{:}", 7), "7");
}

TEST(FormatLiteralTest, FormatToAppends) {
  // Successive format_to calls append to the same buffer.
  char data[32];
  Buffer out(data, sizeof data);
  format_to(out, "a={}", 1);
  format_to(out, " b={}", 2);
  format_to(out, "!");
  EXPECT_EQ(out.view(), "a=1 b=2!");
  EXPECT_EQ(std::string(data), "a=1 b=2!");
}

// ---- Integers --------------------------------------------------------------

TEST(FormatIntegerTest, EveryIntegerTypeInDecimal) {
  // Each integer type prints its value, including int8_t/uint8_t (numbers, not characters).
  EXPECT_EQ(text("{}", int8_t{-128}), "-128");
  EXPECT_EQ(text("{}", uint8_t{255}), "255");
  EXPECT_EQ(text("{}", static_cast<signed char>(-5)), "-5");
  EXPECT_EQ(text("{}", static_cast<unsigned char>(200)), "200");
  EXPECT_EQ(text("{}", int16_t{-32768}), "-32768");
  EXPECT_EQ(text("{}", uint16_t{65535}), "65535");
  EXPECT_EQ(text("{}", short{-1}), "-1");
  EXPECT_EQ(text("{}", -2147483647 - 1), "-2147483648");
  EXPECT_EQ(text("{}", 4294967295u), "4294967295");
  EXPECT_EQ(text("{}", -123456789L), "-123456789");
  EXPECT_EQ(text("{}", 123456789UL), "123456789");
  EXPECT_EQ(text("{}", -1LL), "-1");
  EXPECT_EQ(text("{}", 1ULL), "1");
  EXPECT_EQ(text("{}", size_t{42}), "42");
  EXPECT_EQ(text("{}", ptrdiff_t{-42}), "-42");
  EXPECT_EQ(text("{}", uintptr_t{7}), "7");
  EXPECT_EQ(text("{}", 0), "0");
  EXPECT_EQ(text("{:d}", 99), "99");
  EXPECT_EQ(text("{:d}", -99), "-99");
}

TEST(FormatIntegerTest, Extremes) {
  // The limits of the 64-bit types, INT64_MIN included (its magnitude is not an int64_t).
  EXPECT_EQ(text("{}", std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(text("{}", std::numeric_limits<int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(text("{}", std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(text("{:x}", std::numeric_limits<uint64_t>::max()), "0xffffffffffffffff");
  EXPECT_EQ(text("{:X}", std::numeric_limits<uint64_t>::max()), "0xFFFFFFFFFFFFFFFF");
  EXPECT_EQ(text("{:x}", std::numeric_limits<int64_t>::min()), "0x8000000000000000");
  EXPECT_EQ(text("{:b}", std::numeric_limits<uint64_t>::max()),
            std::string("0b") + std::string(kBinary64Ones));
  EXPECT_EQ(text("{:b}", std::numeric_limits<int64_t>::min()),
            "0b1000000000000000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(text("{:d}", std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(text("{:021}", std::numeric_limits<int64_t>::min()), "-09223372036854775808");
}

TEST(FormatIntegerTest, Hex) {
  // 'x'/'X' print "0x" and lower/upper case digits; the prefix is always "0x".
  EXPECT_EQ(text("{:x}", 31), "0x1f");
  EXPECT_EQ(text("{:X}", 31), "0x1F");
  EXPECT_EQ(text("{:x}", 0), "0x0");
  EXPECT_EQ(text("{:x}", 0xdead'beefu), "0xdeadbeef");
  EXPECT_EQ(text("{:X}", uint64_t{0x0123'4567'89ab'cdef}), "0x123456789ABCDEF");
}

TEST(FormatIntegerTest, HexOfNegativeIsTheBitPatternAtTheTypesWidth) {
  // Signed values in hex/binary show two's complement at their own width.
  EXPECT_EQ(text("{:x}", int8_t{-1}), "0xff");
  EXPECT_EQ(text("{:x}", int16_t{-2}), "0xfffe");
  EXPECT_EQ(text("{:x}", -1), "0xffffffff");
  EXPECT_EQ(text("{:x}", int64_t{-1}), "0xffffffffffffffff");
  EXPECT_EQ(text("{:b}", int8_t{-128}), "0b10000000");
  EXPECT_EQ(text("{:04b}", int8_t{-1}), "0b11111111");
}

TEST(FormatIntegerTest, Binary) {
  // 'b' prints "0b" and binary digits.
  EXPECT_EQ(text("{:b}", 5), "0b101");
  EXPECT_EQ(text("{:b}", 0), "0b0");
  EXPECT_EQ(text("{:08b}", 5), "0b00000101");
  EXPECT_EQ(text("{:064b}", 1u), "0b" + std::string(63, '0') + "1");
  EXPECT_EQ(text("{:8b}", 5u), "     0b101");
}

TEST(FormatIntegerTest, ZeroFillCountsDigitsForPrefixedOutput) {
  // For hex and binary the width counts digits only, so the prefix comes on top.
  EXPECT_EQ(text("{:08x}", 31), "0x0000001f");
  EXPECT_EQ(text("{:016X}", uint64_t{0xabc}), "0x0000000000000ABC");
  EXPECT_EQ(text("{:02x}", 0x1234), "0x1234");  // never cut
  EXPECT_EQ(text("{:0x}", 31), "0x1f");         // zero fill without width: nothing to fill
}

TEST(FormatIntegerTest, SpacePaddedHexAlsoCountsDigitsOnly) {
  // Space padding for hex uses the same width rule, so both fields are 10 wide.
  EXPECT_EQ(text("{:8x}", 31), "      0x1f");
  EXPECT_EQ(text("{:>8x}", 31), "      0x1f");
  EXPECT_EQ(text("{:<8x}", 31), "0x1f      ");
  EXPECT_EQ(text("{:8x}|{:08x}", 31, 31), "      0x1f|0x0000001f");
}

TEST(FormatIntegerTest, DecimalWidthAndAlignment) {
  // Numbers are right-aligned by default; '<' and '>' force alignment.
  EXPECT_EQ(text("{:5}", 42), "   42");
  EXPECT_EQ(text("{:>5}", 42), "   42");
  EXPECT_EQ(text("{:<5}|", 42), "42   |");
  EXPECT_EQ(text("{:5d}", 42u), "   42");
  EXPECT_EQ(text("{:2}", 12345), "12345");  // never cut
  EXPECT_EQ(text("{:1}", 0), "0");
  EXPECT_EQ(text("{:64}", 1), std::string(63, ' ') + "1");
}

TEST(FormatIntegerTest, NegativeDecimalWithWidth) {
  // The width counts the sign; zero fill goes between the sign and the digits.
  EXPECT_EQ(text("{:5}", -42), "  -42");
  EXPECT_EQ(text("{:<5}|", -42), "-42  |");
  EXPECT_EQ(text("{:05}", -42), "-0042");
  EXPECT_EQ(text("{:05}", 42), "00042");
  EXPECT_EQ(text("{:03}", -42), "-42");
  EXPECT_EQ(text("{:2}", -42), "-42");
}

TEST(FormatIntegerTest, ZeroFillWinsOverAlignment) {
  // With '0' the digits fill the field, so there is nothing left to align.
  EXPECT_EQ(text("{:<05}", 42), "00042");
  EXPECT_EQ(text("{:>05}", 42), "00042");
  EXPECT_EQ(text("{:<08x}", 31), "0x0000001f");
}

TEST(FormatIntegerTest, StringPresentationFallsBackToDecimal) {
  // A presentation that does not apply is ignored, not an error.
  EXPECT_EQ(text("{:s}", 42), "42");
  EXPECT_EQ(text("{:s}", -42), "-42");
}

// ---- bool and char ---------------------------------------------------------

TEST(FormatBoolTest, WordsByDefaultNumbersOnRequest) {
  // bool prints as text (left-aligned) unless a numeric presentation is asked for.
  EXPECT_EQ(text("{}", true), "true");
  EXPECT_EQ(text("{}", false), "false");
  EXPECT_EQ(text("{:s}", true), "true");
  EXPECT_EQ(text("{:6}|", true), "true  |");
  EXPECT_EQ(text("{:>6}", false), " false");
  EXPECT_EQ(text("{:d}", true), "1");
  EXPECT_EQ(text("{:d}", false), "0");
  EXPECT_EQ(text("{:x}", true), "0x1");
  EXPECT_EQ(text("{:b}", false), "0b0");
  EXPECT_EQ(text("{:03d}", true), "001");
}

TEST(FormatCharTest, CharacterByDefaultCodeOnRequest) {
  // char prints as a character; 'd'/'x'/'b' print its code, unsigned on every host.
  EXPECT_EQ(text("{}", 'A'), "A");
  EXPECT_EQ(text("{:s}", 'A'), "A");
  EXPECT_EQ(text("[{}]", ' '), "[ ]");
  EXPECT_EQ(text("{:3}|", 'A'), "A  |");
  EXPECT_EQ(text("{:<3}|", 'A'), "A  |");
  EXPECT_EQ(text("{:>3}", 'A'), "  A");
  EXPECT_EQ(text("{:d}", 'A'), "65");
  EXPECT_EQ(text("{:x}", 'A'), "0x41");
  EXPECT_EQ(text("{:X}", '\xff'), "0xFF");
  EXPECT_EQ(text("{:d}", '\xff'), "255");
  EXPECT_EQ(text("{:b}", '\x05'), "0b101");
  EXPECT_EQ(text("{:04d}", 'A'), "0065");
}

// ---- Strings ---------------------------------------------------------------

TEST(FormatStringTest, EveryStringKind) {
  // const char*, char*, literals, char arrays and string_view all print as text.
  const char* c_string = "const";
  char mutable_storage[] = "mutable";
  char* mutable_string = mutable_storage;
  EXPECT_EQ(text("{}", c_string), "const");
  EXPECT_EQ(text("{}", mutable_string), "mutable");
  EXPECT_EQ(text("{}", mutable_storage), "mutable");
  EXPECT_EQ(text("{}", "literal"), "literal");
  EXPECT_EQ(text("{}", "view"sv), "view");
  EXPECT_EQ(text("{}", std::string_view()), "");
  EXPECT_EQ(text("{}", ""), "");
  EXPECT_EQ(text("[{}]", static_cast<const char*>("")), "[]");
}

TEST(FormatStringTest, NullCStringPrintsNull) {
  // A null C string prints "(null)" (and pads like any text) instead of faulting.
  const char* null_string = nullptr;
  char* null_mutable = nullptr;
  EXPECT_EQ(text("{}", null_string), "(null)");
  EXPECT_EQ(text("{}", null_mutable), "(null)");
  EXPECT_EQ(text("{}", nullptr), "(null)");
  EXPECT_EQ(text("{:8}|", null_string), "(null)  |");
  EXPECT_EQ(text("{:>8}", null_string), "  (null)");
}

TEST(FormatStringTest, CharArraysAreBoundedByTheArray) {
  // A char array prints up to its first NUL, and never past its end.
  const char unterminated[4] = {'a', 'b', 'c', 'd'};
  const char early_nul[8] = {'a', 'b', '\0', 'X', 'Y', 'Z', '\0', '\0'};
  struct {
    char name[3];
    char after[3];
  } packed = {{'x', 'y', 'z'}, {'B', 'A', 'D'}};
  EXPECT_EQ(text("{}", unterminated), "abcd");
  EXPECT_EQ(text("{}", early_nul), "ab");
  EXPECT_EQ(text("{}", packed.name), "xyz");
  EXPECT_EQ(text("{:6}|", unterminated), "abcd  |");
}

TEST(FormatStringTest, WidthAndAlignment) {
  // Text is left-aligned by default; '>' right-aligns; zero fill and numeric
  // presentations are ignored.
  const char* c_string = "abc";
  EXPECT_EQ(text("{:6}|", "abc"), "abc   |");
  EXPECT_EQ(text("{:<6}|", "abc"), "abc   |");
  EXPECT_EQ(text("{:>6}", "abc"), "   abc");
  EXPECT_EQ(text("{:06}|", "abc"), "abc   |");
  EXPECT_EQ(text("{:x}", "abc"), "abc");
  EXPECT_EQ(text("{:2}", "abcdef"), "abcdef");  // never cut
  EXPECT_EQ(text("{:6}|", c_string), "abc   |");
  EXPECT_EQ(text("{:>6}", c_string), "   abc");
  EXPECT_EQ(text("{:3}|", c_string), "abc|");  // exactly the width
  EXPECT_EQ(text("{:2}|", c_string), "abc|");  // longer than the width
  EXPECT_EQ(text("{:>2}|", c_string), "abc|");
  EXPECT_EQ(text("{:>10}", "view"sv), "      view");
  EXPECT_EQ(text("{:>64}", "a"), std::string(63, ' ') + "a");
}

TEST(FormatStringTest, LongCStringIntoSmallBuffer) {
  // A C string longer than the buffer is cut with "..." and nothing is overrun.
  const char* long_string = "the quick brown fox jumps over the lazy dog";
  Guarded g(10);
  format_to(g.buffer, "{}", long_string);
  EXPECT_EQ(g.buffer.view(), "the qu...");
  EXPECT_TRUE(g.buffer.truncated());
  EXPECT_TRUE(g.intact());
}

// ---- Pointers --------------------------------------------------------------

TEST(FormatPointerTest, PointersPrintInHex) {
  // Object pointers print as "0x" hex; width and zero fill count the digits.
  void* pointer = reinterpret_cast<void*>(uintptr_t{0x1000});
  const int* int_pointer = reinterpret_cast<const int*>(uintptr_t{0xabc0});
  const volatile uint32_t* mmio =
      reinterpret_cast<const volatile uint32_t*>(uintptr_t{0x0900'0000});
  EXPECT_EQ(text("{}", pointer), "0x1000");
  EXPECT_EQ(text("{}", int_pointer), "0xabc0");
  EXPECT_EQ(text("{}", mmio), "0x9000000");
  EXPECT_EQ(text("{:X}", int_pointer), "0xABC0");
  EXPECT_EQ(text("{:d}", pointer), "0x1000");  // decimal is not offered for pointers
  EXPECT_EQ(text("{:b}", pointer), "0b1000000000000");
  EXPECT_EQ(text("{:016x}", pointer), "0x0000000000001000");
  EXPECT_EQ(text("{:8}", pointer), "    0x1000");
  EXPECT_EQ(text("{:<8}|", pointer), "0x1000    |");
}

TEST(FormatPointerTest, NullPointerIsZero) {
  // A null object pointer is an address like any other (only char pointers are strings).
  void* null_pointer = nullptr;
  const uint64_t* null_u64 = nullptr;
  EXPECT_EQ(text("{}", null_pointer), "0x0");
  EXPECT_EQ(text("{}", null_u64), "0x0");
}

TEST(FormatPointerTest, RealPointerMatchesItsValue) {
  // The printed value is the pointer's integer value.
  int object = 0;
  char expected[32];
  const size_t length = format(expected, sizeof expected, "{:x}",
                               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&object)));
  EXPECT_EQ(text("{}", &object), std::string_view(expected, length));
}

// ---- Enums -----------------------------------------------------------------

enum class Small : uint8_t { kSeven = 7, kMax = 255 };
enum class Signed : int8_t { kNegative = -3 };
enum class Wide : uint64_t { kTop = 0x8000'0000'0000'0000 };
enum class CharBacked : char { kA = 'A' };
enum class BoolBacked : bool { kYes = true };
enum Unscoped { kUnscopedTen = 10 };

TEST(FormatEnumTest, EnumsPrintTheirUnderlyingInteger) {
  // Enums print as numbers, honouring the spec, whatever their underlying type.
  EXPECT_EQ(text("{}", Small::kSeven), "7");
  EXPECT_EQ(text("{}", Small::kMax), "255");
  EXPECT_EQ(text("{}", Signed::kNegative), "-3");
  EXPECT_EQ(text("{:x}", Signed::kNegative), "0xfd");
  EXPECT_EQ(text("{:x}", Wide::kTop), "0x8000000000000000");
  EXPECT_EQ(text("{}", CharBacked::kA), "65");
  EXPECT_EQ(text("{}", BoolBacked::kYes), "1");
  EXPECT_EQ(text("{}", kUnscopedTen), "10");
  EXPECT_EQ(text("{:04}", Small::kSeven), "0007");
  EXPECT_EQ(text("{}", format_test_ext::Plain::kSeven), "7");
}

TEST(FormatEnumTest, AnEnumsOwnFormatterWins) {
  // A format_value declared next to an enum replaces the integer fallback.
  EXPECT_EQ(text("{}", format_test_ext::Color::kRed), "red");
  EXPECT_EQ(text("{:>6}", format_test_ext::Color::kGreen), " green");
}

// ---- Strong addresses ------------------------------------------------------

TEST(FormatAddressTest, PhysAndVirtAddrShowTheirKind) {
  // PhysAddr prints "PA:0x...", VirtAddr "VA:0x...", hex by default.
  EXPECT_EQ(text("{}", PhysAddr(0x4000'0000)), "PA:0x40000000");
  EXPECT_EQ(text("{}", VirtAddr(0xffff'0000'0000'1000)), "VA:0xffff000000001000");
  EXPECT_EQ(text("{}", PhysAddr()), "PA:0x0");
  EXPECT_EQ(text("{:x}", PhysAddr(0xdead'beef)), "PA:0xdeadbeef");
  EXPECT_EQ(text("{:X}", PhysAddr(0xdead'beef)), "PA:0xDEADBEEF");
  EXPECT_EQ(text("{:X}", VirtAddr(0xabc)), "VA:0xABC");
  EXPECT_EQ(text("{}", PhysAddr(std::numeric_limits<uint64_t>::max())), "PA:0xffffffffffffffff");
  EXPECT_EQ(text("{:d}", PhysAddr(16)), "PA:0x10");  // addresses are always hex
}

TEST(FormatAddressTest, WidthCountsTheDigits) {
  // Zero fill pads the digits after "PA:0x"; space padding goes around the whole address.
  EXPECT_EQ(text("{:016x}", PhysAddr(0x4000'0000)), "PA:0x0000000040000000");
  EXPECT_EQ(text("{:016}", VirtAddr(0x1000)), "VA:0x0000000000001000");
  EXPECT_EQ(text("{:012X}", PhysAddr(0xabc)), "PA:0x000000000ABC");
  EXPECT_EQ(text("{:10}", PhysAddr(0x1000)), "      PA:0x1000");
  EXPECT_EQ(text("{:<10}|", PhysAddr(0x1000)), "PA:0x1000      |");
  EXPECT_EQ(text("{:2}", PhysAddr(0x1000)), "PA:0x1000");
}

TEST(FormatAddressTest, PhysRangeIsHalfOpen) {
  // A range prints "[base-end)" with both ends as PhysAddr, the spec applied to each.
  EXPECT_EQ(text("{}", PhysRange{PhysAddr(0x4000'0000), 0x1000}), "[PA:0x40000000-PA:0x40001000)");
  EXPECT_EQ(text("{}", PhysRange{PhysAddr(0x1000), 0}), "[PA:0x1000-PA:0x1000)");
  EXPECT_EQ(text("{}", PhysRange{}), "[PA:0x0-PA:0x0)");
  EXPECT_EQ(text("{:010x}", PhysRange{PhysAddr(0x4000'0000), 0x4000'0000}),
            "[PA:0x0040000000-PA:0x0080000000)");
  EXPECT_EQ(text("{:X}", PhysRange{PhysAddr(0xa000), 0x1000}), "[PA:0xA000-PA:0xB000)");
}

TEST(FormatAddressTest, OtherAddressKindsUseFormatAddress) {
  // format_address is the building block for tags defined elsewhere (IPA:, GVA:).
  EXPECT_EQ(text("{}", format_test_ext::Ipa{0x8000'0000}), "IPA:0x80000000");
  EXPECT_EQ(text("{:012x}", format_test_ext::Ipa{0x8000'0000}), "IPA:0x000080000000");
}

// ---- Extension by ADL ------------------------------------------------------

TEST(FormatExtensionTest, TypesBringTheirOwnFormatter) {
  // A format_value in the type's namespace is found by ADL and can reuse the built-ins.
  EXPECT_EQ(text("{}", format_test_ext::Vmid{5}), "vmid:5");
  EXPECT_EQ(text("{:04x}", format_test_ext::Vmid{0x1f}), "vmid:0x001f");
  EXPECT_EQ(text("vm {} on {}", format_test_ext::Vmid{1}, PhysAddr(0x1000)),
            "vm vmid:1 on PA:0x1000");
}

// ---- format() and truncation through format_to -----------------------------

TEST(FormatFunctionTest, ReturnsLengthAndTerminates) {
  // format() returns the number of characters written, excluding the NUL.
  char data[32];
  EXPECT_EQ(format(data, sizeof data, "{}-{}", 12, "ab"), 5u);
  EXPECT_EQ(std::string(data), "12-ab");
  EXPECT_EQ(format(data, sizeof data, ""), 0u);
  EXPECT_EQ(data[0], '\0');
}

TEST(FormatFunctionTest, TruncationAtSeveralCapacities) {
  // "hello 12345" formatted into capacities 0..12: always terminated, never overrun.
  struct Case {
    size_t capacity;
    std::string_view visible;
  };
  constexpr Case kCases[] = {
      {0, ""},         {1, ""},          {2, "h"},           {3, "he"},
      {4, "..."},      {5, "h..."},      {6, "he..."},       {7, "hel..."},
      {8, "hell..."},  {10, "hello ..."}, {11, "hello 1..."}, {12, "hello 12345"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.capacity);
    std::array<char, 32> storage;
    storage.fill('#');
    const size_t length = format(storage.data(), c.capacity, "{} {}", "hello", 12345);
    EXPECT_EQ(length, c.visible.size());
    EXPECT_EQ(std::string_view(storage.data(), length), c.visible);
    if (c.capacity > 0) {
      EXPECT_EQ(storage[length], '\0');
    }
    for (size_t i = c.capacity; i < storage.size(); ++i) ASSERT_EQ(storage[i], '#') << i;
  }
}

TEST(FormatFunctionTest, TruncationIsReportedByTheBuffer) {
  // The Buffer says whether the whole message fit.
  char data[12];
  Buffer out(data, sizeof data);
  format_to(out, "{:x}", uint32_t{0x1234'5678});
  EXPECT_FALSE(out.truncated());
  EXPECT_EQ(out.view(), "0x12345678");
  format_to(out, "{}", 12);  // 11 visible characters fit; the 12th does not
  EXPECT_TRUE(out.truncated());
  EXPECT_EQ(out.view(), "0x123456...");
  EXPECT_EQ(data[11], '\0');
}

TEST(FormatFunctionTest, PaddingIsTruncatedToo) {
  // Wide padding into a small buffer truncates like any other output.
  Guarded g(8);
  format_to(g.buffer, "{:>40}", "x");
  EXPECT_TRUE(g.buffer.truncated());
  EXPECT_EQ(g.buffer.view(), "    ...");
  EXPECT_TRUE(g.intact());
}

TEST(FormatFunctionTest, ALogLineWithEverything) {
  // A realistic line mixing kinds, specs and escapes.
  const char model[8] = {'q', 'e', 'm', 'u'};
  const Line line =
      text("{:<6}| {{vm {}}} esr={:08x} {} {} fault={} ok={} tag={}", model,
           format_test_ext::Vmid{2}, uint64_t{0x9200'0046},
           PhysRange{PhysAddr(0x4000'0000), 0x20'0000}, VirtAddr(0x1000), -14, false, 'Z');
  EXPECT_EQ(line.view(),
            "qemu  | {vm vmid:2} esr=0x92000046 [PA:0x40000000-PA:0x40200000) VA:0x1000 "
            "fault=-14 ok=false tag=Z");
  EXPECT_FALSE(line.truncated);
  EXPECT_TRUE(line.terminated);
}

}  // namespace
}  // namespace lamina::fmt
