// Type-safe, allocation-free text formatting for logs and panic messages.
//
//   char line[128];
//   fmt::Buffer out(line, sizeof line);
//   fmt::format_to(out, "vm {} fault at {:x}: {}", vm_id, far, pa);
//
// The format string is checked when the program is compiled: the number of
// placeholders must equal the number of arguments, and every spec must parse.
// A mistake is a compile error inside FormatString's consteval constructor
// that names the problem, e.g. "call to non-'constexpr' function
// 'void lamina::fmt::detail::placeholder_count_differs_from_argument_count()'".
// These misuses do not compile:
//   format_to(out, "{} {}", 1);        // two placeholders, one argument
//   format_to(out, "{}", 1, 2);        // one placeholder, two arguments
//   format_to(out, "{", 1);            // unterminated placeholder
//   format_to(out, "}", 1);            // lone '}' (write "}}")
//   format_to(out, "{0}", 1);          // positional/named arguments
//   format_to(out, "{:q}", 1);         // unknown presentation
//   format_to(out, "{:65}", 1);        // width above kMaxWidth
//   format_to(out, runtime_string, 1); // not a constant expression
//
// Placeholder grammar:  {}  or  {:[<|>][0][width][x|X|b|d|s]}
//   <  >   force left / right alignment. Numbers are right-aligned and text
//          left-aligned by default.
//   0      pad with zeros between the prefix (or sign) and the digits instead
//          of padding with spaces; the field is then full, so alignment has
//          nothing left to do. Text ignores it.
//   width  minimum field width, at most kMaxWidth. For prefixed output (0x,
//          0b, PA:0x, VA:0x) it counts the digits only, so `{:08x}` of 31 is
//          "0x0000001f" and columns of addresses line up whatever the tag.
//          For decimal it counts the sign too, as printf does: `{:05}` of -42
//          is "-0042".
//   x X    hex with a "0x" prefix, lower/upper case digits (the prefix stays
//          "0x"). Signed values print their two's complement bit pattern at
//          the argument's own width (int32_t{-1} is 0xffffffff): hex is for
//          registers and descriptors, where the bits are what matter.
//   b      binary with a "0b" prefix, same rules as hex.
//   d      decimal.
//   s      text (the default for strings, bool and char).
// A presentation that makes no sense for a type (`{:x}` of a string, `{:d}`
// of an address) is ignored and the type's default is used: formatting is for
// diagnostics and must never be the thing that fails.
//
// Built-in types:
//   integers       decimal; every width up to 64 bits (INT64_MIN included)
//   bool, char     "true"/"false" and the character; 'd', 'x', 'b' print the
//                  number (a char's code as unsigned, on every host)
//   const char*    text; nullptr prints "(null)"
//   char[N]        text up to the first NUL, never past the array's end
//   string_view    text
//   T*             "0x" hex (char pointers are text, see above)
//   enums          the underlying integer
//   PhysAddr       "PA:0x40000000"; VirtAddr "VA:0x..."; IntermediatePhysAddr "IPA:0x..."
//   PhysRange      "[PA:0x40000000-PA:0x40001000)", the spec applied to each end
//
// Extending: to make your own type formattable, declare in that type's
// namespace (next to the type, or in a small header beside it)
//   void format_value(lamina::fmt::Buffer& out, const T& value,
//                     const lamina::fmt::Spec& spec);
// format_to finds it by argument-dependent lookup, so this file never depends
// on the types it formats (mm/addr.hpp, a lower layer, is the exception).
// Not in lamina::fmt: format_to sees that namespace only as it stands here.
// Build it from the overloads here so that width and alignment keep working:
// format_value(out, raw_integer, spec), format_value(out, "text", spec)
// (a literal goes to the const char* overload; a string_view made from a
// literal costs a strlen call at -O0), or format_address(out, "IPA:",
// ipa.value(), spec) for a tagged hex value. A format_value for an enum
// beats the built-in "print the underlying integer" one, so an enum with a
// name table can print its names.
//
// Everything here is constexpr (except pointer printing, which needs
// reinterpret_cast), so the unit tests run the formatters under static_assert,
// where the compiler rejects UB such as negating INT64_MIN. It is header-only:
// the hot path is a walk over the literal text plus one direct call per
// argument, with no virtual calls and no type erasure.
//
// Freestanding: no heap, no exceptions, no floating point, and no libc calls
// (only memcpy/memset, which GCC may emit for any loop and which every
// freestanding environment must provide). That is also why the scans below
// are hand-written loops: std::string_view's find()/substr() can call memchr
// or throw.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "mm/addr.hpp"

namespace lamina::fmt {

// Literals become string_views through ""sv, never through
// string_view(const char*): that constructor calls strlen at run time when
// the optimizer does not fold it (at -O0 always), and EL2 has no strlen.
using namespace std::string_view_literals;

// Widest field a spec may ask for: enough for a uint64_t in binary.
inline constexpr uint8_t kMaxWidth = 64;

// A character sink over caller storage. `capacity` counts the terminating NUL,
// so at most capacity - 1 characters are visible.
//
// The contents are NUL-terminated after every operation (whenever capacity
// > 0), so a Buffer can be handed to a console at any point, including from a
// panic path that gave up half way. Output that does not fit is dropped, the
// Buffer remembers it (truncated()), and the last three visible characters
// become "..." (if there are three) so a truncated log line says so itself.
class Buffer {
 public:
  // A null `data` is treated as capacity 0: the result is empty and
  // truncated rather than a write to address 0.
  constexpr Buffer(char* data, size_t capacity)
      : data_(data), capacity_(data == nullptr ? 0 : capacity) {
    terminate();
  }
  // A copy would share the storage but not the length: two writers, one line.
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  constexpr void put(char c) {
    if (size_ + 1 < capacity_) {
      data_[size_++] = c;
      data_[size_] = '\0';
      return;
    }
    overflow();
  }

  constexpr void put(std::string_view text) {
    const size_t room = capacity_ == 0 ? 0 : capacity_ - 1 - size_;
    const size_t count = text.size() < room ? text.size() : room;
    for (size_t i = 0; i < count; ++i) data_[size_ + i] = text[i];
    size_ += count;
    terminate();
    if (count < text.size()) overflow();
  }

  // `count` copies of `c`: padding, without a loop of put(char) calls.
  constexpr void put_repeated(char c, size_t count) {
    const size_t room = capacity_ == 0 ? 0 : capacity_ - 1 - size_;
    const size_t fits = count < room ? count : room;
    for (size_t i = 0; i < fits; ++i) data_[size_ + i] = c;
    size_ += fits;
    terminate();
    if (fits < count) overflow();
  }

  // Empties the buffer and forgets any truncation.
  constexpr void clear() {
    size_ = 0;
    truncated_ = false;
    terminate();
  }

  [[nodiscard]] constexpr std::string_view view() const { return std::string_view(data_, size_); }
  // Visible characters, excluding the NUL.
  [[nodiscard]] constexpr size_t size() const { return size_; }
  [[nodiscard]] constexpr size_t capacity() const { return capacity_; }
  // True once anything has been dropped since construction or clear().
  [[nodiscard]] constexpr bool truncated() const { return truncated_; }

 private:
  static constexpr std::string_view kEllipsis = "..."sv;

  constexpr void terminate() {
    if (capacity_ != 0) data_[size_] = '\0';
  }

  // Called with the buffer full (size_ == capacity_ - 1, or capacity_ == 0).
  constexpr void overflow() {
    if (truncated_) return;
    truncated_ = true;
    if (capacity_ > kEllipsis.size()) {
      char* tail = data_ + size_ - kEllipsis.size();
      for (size_t i = 0; i < kEllipsis.size(); ++i) tail[i] = kEllipsis[i];
    }
  }

  char* data_;
  size_t capacity_;
  size_t size_ = 0;
  bool truncated_ = false;
};

enum class Align : uint8_t {
  kDefault,  // the type decides: numbers right, text left
  kLeft,     // '<'
  kRight,    // '>'
};

enum class Presentation : uint8_t {
  kDefault,   // nothing given: the type decides
  kDecimal,   // 'd'
  kHexLower,  // 'x'
  kHexUpper,  // 'X'
  kBinary,    // 'b'
  kString,    // 's'
};

// One parsed placeholder, handed to every format_value.
struct Spec {
  Align align = Align::kDefault;
  Presentation presentation = Presentation::kDefault;
  bool zero_fill = false;
  uint8_t width = 0;  // 0..kMaxWidth

  friend constexpr bool operator==(const Spec&, const Spec&) = default;
};

enum class ParseError : uint8_t {
  kNone,
  kUnterminatedPlaceholder,  // '{' without a closing '}'
  kUnmatchedCloseBrace,      // '}' that is neither "}}" nor closes a '{'
  kBadSpec,                  // the text between the braces breaks the grammar
  kWidthTooLarge,            // width above kMaxWidth
};

struct SpecParse {
  Spec spec;
  ParseError error = ParseError::kNone;
};

// Parses the text between '{' and '}' ("" or ":..."). Public so that tests
// can check the grammar under static_assert.
[[nodiscard]] constexpr SpecParse parse_spec(std::string_view body) {
  SpecParse out;
  if (body.empty()) return out;
  if (body[0] != ':') return {out.spec, ParseError::kBadSpec};  // no positional or named arguments
  size_t i = 1;
  if (i < body.size() && (body[i] == '<' || body[i] == '>')) {
    out.spec.align = body[i] == '<' ? Align::kLeft : Align::kRight;
    ++i;
  }
  if (i < body.size() && body[i] == '0') {
    out.spec.zero_fill = true;
    ++i;
  }
  // A second leading zero ("{:008}") would be a width with a leading zero:
  // reject it rather than guess.
  if (i < body.size() && body[i] == '0') return {out.spec, ParseError::kBadSpec};
  unsigned width = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
    width = width * 10 + static_cast<unsigned>(body[i] - '0');
    if (width > kMaxWidth) return {out.spec, ParseError::kWidthTooLarge};
    ++i;
  }
  out.spec.width = static_cast<uint8_t>(width);
  if (i < body.size()) {
    switch (body[i]) {
      case 'd': out.spec.presentation = Presentation::kDecimal; break;
      case 'x': out.spec.presentation = Presentation::kHexLower; break;
      case 'X': out.spec.presentation = Presentation::kHexUpper; break;
      case 'b': out.spec.presentation = Presentation::kBinary; break;
      case 's': out.spec.presentation = Presentation::kString; break;
      default: return {out.spec, ParseError::kBadSpec};
    }
    ++i;
  }
  if (i != body.size()) return {out.spec, ParseError::kBadSpec};
  return out;
}

struct FormatParse {
  size_t placeholders = 0;
  ParseError error = ParseError::kNone;
};

// Validates a whole format string, counts its placeholders and stores the
// first `max_specs` parsed specs in `specs` (nullptr only with max_specs 0).
[[nodiscard]] constexpr FormatParse parse_format(std::string_view text, Spec* specs = nullptr,
                                                 size_t max_specs = 0) {
  FormatParse out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        i += 2;
        continue;
      }
      out.error = ParseError::kUnmatchedCloseBrace;
      return out;
    }
    if (c != '{') {
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      i += 2;
      continue;
    }
    size_t close = i + 1;
    while (close < text.size() && text[close] != '}' && text[close] != '{') ++close;
    if (close == text.size() || text[close] != '}') {
      out.error = ParseError::kUnterminatedPlaceholder;
      return out;
    }
    const SpecParse spec = parse_spec(std::string_view(text.data() + i + 1, close - i - 1));
    if (spec.error != ParseError::kNone) {
      out.error = spec.error;
      return out;
    }
    // (No `specs != nullptr` test: GCC 12 cannot constant-fold that for a
    // member of the object being constructed; max_specs == 0 covers it.)
    if (out.placeholders < max_specs) specs[out.placeholders] = spec.spec;
    ++out.placeholders;
    i = close + 1;
  }
  return out;
}

namespace detail {

// Never defined: consteval code that reaches one of these is not a constant
// expression, so the compiler stops there and prints the function's name,
// which is the diagnosis.
void placeholder_count_differs_from_argument_count();
void format_string_has_unterminated_placeholder();
void format_string_has_unmatched_close_brace_use_double_brace();
void format_spec_is_malformed();
void format_width_is_above_kMaxWidth();

}  // namespace detail

// A format string checked against its argument types at compile time. Only
// built implicitly from a string literal at a format_to/format call; see
// FormatString below.
template <typename... Args>
class BasicFormatString {
 public:
  // Implicit on purpose: the literal at the call site converts to this, and
  // the conversion is where the checking happens.
  template <size_t N>
  consteval BasicFormatString(const char (&text)[N]) : text_(text, N - 1) {
    const FormatParse parse = parse_format(text_, specs_, sizeof...(Args));
    switch (parse.error) {
      case ParseError::kNone: break;
      case ParseError::kUnterminatedPlaceholder:
        detail::format_string_has_unterminated_placeholder();
        break;
      case ParseError::kUnmatchedCloseBrace:
        detail::format_string_has_unmatched_close_brace_use_double_brace();
        break;
      case ParseError::kBadSpec: detail::format_spec_is_malformed(); break;
      case ParseError::kWidthTooLarge: detail::format_width_is_above_kMaxWidth(); break;
    }
    if (parse.placeholders != sizeof...(Args)) {
      detail::placeholder_count_differs_from_argument_count();
    }
  }

  [[nodiscard]] constexpr std::string_view text() const { return text_; }
  // Precondition: index < sizeof...(Args).
  [[nodiscard]] constexpr const Spec& spec(size_t index) const { return specs_[index]; }

 private:
  std::string_view text_;
  Spec specs_[sizeof...(Args) == 0 ? 1 : sizeof...(Args)];  // no zero-length arrays
};

// type_identity keeps the format string out of template argument deduction:
// Args come from the arguments alone, and the literal is then checked
// against them.
template <typename... Args>
using FormatString = BasicFormatString<std::type_identity_t<Args>...>;

namespace detail {

inline constexpr char kDigitsLower[] = "0123456789abcdef";
inline constexpr char kDigitsUpper[] = "0123456789ABCDEF";

// Longest lead is "PA:0x"-like (a tag plus "0x"); 64 binary digits follow.
inline constexpr size_t kMaxLead = 8;
inline constexpr size_t kNumberChars = kMaxLead + 64;

// A number rendered right to left into a small stack array: the digits
// first, then the lead (sign, prefix, tag) in front of them. Kept as two
// pieces because zero fill goes between them.
class NumberText {
 public:
  // Digits of `value` in base 2, 10 or 16. Called once, first.
  constexpr void set_digits(uint64_t value, unsigned base, bool upper) {
    const char* digits = upper ? kDigitsUpper : kDigitsLower;
    do {
      chars_[--begin_] = digits[value % base];
      value /= base;
    } while (value != 0);
    digits_begin_ = begin_;
  }
  constexpr void prepend_lead(std::string_view lead) {
    for (size_t i = lead.size(); i > 0; --i) chars_[--begin_] = lead[i - 1];
  }
  [[nodiscard]] constexpr std::string_view lead() const {
    return std::string_view(chars_ + begin_, digits_begin_ - begin_);
  }
  [[nodiscard]] constexpr std::string_view digits() const {
    return std::string_view(chars_ + digits_begin_, kNumberChars - digits_begin_);
  }

 private:
  char chars_[kNumberChars];  // only [begin_, end) is ever written or read
  size_t begin_ = kNumberChars;
  size_t digits_begin_ = kNumberChars;
};

// Writes a number as one field. The width counts the digits plus the first
// `counted_lead` characters of the lead: a sign counts, a prefix or tag does
// not. Zero fill goes between lead and digits.
constexpr void put_number(Buffer& out, const NumberText& text, size_t counted_lead,
                          const Spec& spec) {
  const size_t length = counted_lead + text.digits().size();
  const size_t pad = size_t{spec.width} > length ? size_t{spec.width} - length : 0;
  if (spec.zero_fill) {
    out.put(text.lead());
    out.put_repeated('0', pad);
    out.put(text.digits());
    return;
  }
  if (spec.align != Align::kLeft) out.put_repeated(' ', pad);
  out.put(text.lead());
  out.put(text.digits());
  if (spec.align == Align::kLeft) out.put_repeated(' ', pad);
}

// The integer engine. `bits` is the value's bit pattern (for hex and
// binary); decimal prints `magnitude`, preceded by '-' when `negative`.
constexpr void format_integer(Buffer& out, uint64_t bits, bool negative, uint64_t magnitude,
                              const Spec& spec) {
  NumberText text;
  size_t counted_lead = 0;
  switch (spec.presentation) {
    case Presentation::kHexLower:
    case Presentation::kHexUpper:
      text.set_digits(bits, 16, spec.presentation == Presentation::kHexUpper);
      text.prepend_lead("0x"sv);
      break;
    case Presentation::kBinary:
      text.set_digits(bits, 2, false);
      text.prepend_lead("0b"sv);
      break;
    default:
      text.set_digits(magnitude, 10, false);
      if (negative) {
        text.prepend_lead("-"sv);
        counted_lead = 1;
      }
      break;
  }
  put_number(out, text, counted_lead, spec);
}

}  // namespace detail

// A tagged hex value such as "PA:0x40000000": the building block for every
// strong address type, so each kind shows in the log. Width and zero fill
// apply to the digits; 'X' selects upper-case digits; any other presentation
// is hex. The tag is a literal (its length is checked at compile time and no
// strlen is needed), e.g. format_address(out, "IPA:", ipa.value(), spec).
template <size_t N>
constexpr void format_address(Buffer& out, const char (&tag)[N], uint64_t value, const Spec& spec) {
  static_assert(N >= 1 && N - 1 + 2 <= detail::kMaxLead, "address tag too long");
  detail::NumberText text;
  text.set_digits(value, 16, spec.presentation == Presentation::kHexUpper);
  text.prepend_lead("0x"sv);
  text.prepend_lead(std::string_view(tag, N - 1));
  detail::put_number(out, text, 0, spec);
}

// ---- Built-in formatters. All of them are declared before format_to, so its
// ---- ordinary lookup sees them; other types are found by ADL.

// Text: left-aligned unless '>' is given; zero fill and presentation ignored.
constexpr void format_value(Buffer& out, std::string_view text, const Spec& spec) {
  const size_t pad = size_t{spec.width} > text.size() ? size_t{spec.width} - text.size() : 0;
  if (spec.align == Align::kRight) out.put_repeated(' ', pad);
  out.put(text);
  if (spec.align != Align::kRight) out.put_repeated(' ', pad);
}

// A C string; nullptr prints "(null)" rather than faulting at EL2.
constexpr void format_value(Buffer& out, const char* text, const Spec& spec) {
  if (text == nullptr) {
    format_value(out, "(null)"sv, spec);
    return;
  }
  // Only the first `width` characters decide the padding, so count no further
  // and stream the rest. That is one pass, and it keeps GCC from turning a
  // full count into a call to strlen, which EL2 does not have.
  size_t counted = 0;
  while (counted < spec.width && text[counted] != '\0') ++counted;
  if (text[counted] == '\0') {
    format_value(out, std::string_view(text, counted), spec);
    return;
  }
  for (const char* c = text; *c != '\0' && !out.truncated(); ++c) out.put(*c);
}

// Every integer type except bool and char (which print as words and
// characters). 128-bit integers are left out rather than silently cut.
template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char> && sizeof(T) <= sizeof(uint64_t))
constexpr void format_value(Buffer& out, T value, const Spec& spec) {
  using Unsigned = std::make_unsigned_t<T>;
  // Two's complement bits at the type's own width, then widened.
  const uint64_t bits = static_cast<uint64_t>(static_cast<Unsigned>(value));
  if constexpr (std::is_signed_v<T>) {
    // Negate in unsigned arithmetic: -INT64_MIN does not exist as int64_t.
    const bool negative = value < 0;
    const uint64_t magnitude = negative ? uint64_t{0} - static_cast<uint64_t>(value) : bits;
    detail::format_integer(out, bits, negative, magnitude, spec);
  } else {
    detail::format_integer(out, bits, false, bits, spec);
  }
}

// "true"/"false"; a numeric presentation prints 1/0.
constexpr void format_value(Buffer& out, bool value, const Spec& spec) {
  switch (spec.presentation) {
    case Presentation::kDefault:
    case Presentation::kString: format_value(out, value ? "true"sv : "false"sv, spec); break;
    default: format_value(out, static_cast<unsigned>(value), spec); break;
  }
}

// The character itself; a numeric presentation prints its code, as unsigned
// so that the host (signed char) and AArch64 (unsigned char) agree.
constexpr void format_value(Buffer& out, char value, const Spec& spec) {
  switch (spec.presentation) {
    case Presentation::kDefault:
    case Presentation::kString: format_value(out, std::string_view(&value, 1), spec); break;
    default: format_value(out, static_cast<unsigned char>(value), spec); break;
  }
}

// Enums print their underlying integer. A format_value written for a specific
// enum (in its own namespace) is preferred over this template.
template <typename E>
  requires std::is_enum_v<E>
constexpr void format_value(Buffer& out, E value, const Spec& spec) {
  using Underlying = std::underlying_type_t<E>;
  if constexpr (std::is_same_v<Underlying, bool> || std::is_same_v<Underlying, char>) {
    // An enum is a number even when its underlying type is bool or char.
    format_value(out, static_cast<unsigned char>(value), spec);
  } else {
    format_value(out, static_cast<Underlying>(value), spec);
  }
}

// Pointers print as hex with "0x" ('X' and 'b' are honoured, decimal is not).
// char pointers are strings (the const char* overload), never addresses.
template <typename T>
  requires(!std::same_as<std::remove_cv_t<T>, char>)
inline void format_value(Buffer& out, T* pointer, const Spec& spec) {
  Spec hex = spec;
  if (hex.presentation != Presentation::kHexUpper && hex.presentation != Presentation::kBinary) {
    hex.presentation = Presentation::kHexLower;
  }
  format_value(out, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(pointer)), hex);
}

// Strong address types (mm/addr.hpp): the kind is part of the text.
constexpr void format_value(Buffer& out, mm::PhysAddr pa, const Spec& spec) {
  format_address(out, "PA:", pa.value(), spec);
}
constexpr void format_value(Buffer& out, mm::VirtAddr va, const Spec& spec) {
  format_address(out, "VA:", va.value(), spec);
}
constexpr void format_value(Buffer& out, mm::IntermediatePhysAddr ipa, const Spec& spec) {
  format_address(out, "IPA:", ipa.value(), spec);
}
// "[PA:0x...-PA:0x...)", half-open like the range itself; the spec applies to
// each end, so `{:010x}` lines up a table of ranges.
constexpr void format_value(Buffer& out, const mm::PhysRange& range, const Spec& spec) {
  out.put('[');
  format_value(out, range.base, spec);
  out.put('-');
  format_value(out, range.end(), spec);
  out.put(')');
}

// True when format_to can print a T: some format_value takes it, found here or
// by ADL in T's namespace.
template <typename T>
concept Formattable = requires(Buffer& out, const T& value, const Spec& spec) {
  format_value(out, value, spec);
};

namespace detail {

// Arguments reach format_value unchanged, except char arrays, which become
// strings bounded by the array: a name field that fills its array without a
// NUL (Platform::model, say) must not be read past its end.
template <typename T>
constexpr const T& as_argument(const T& value) {
  return value;
}
template <size_t N>
constexpr std::string_view as_argument(const char (&text)[N]) {
  size_t length = 0;
  while (length < N && text[length] != '\0') ++length;
  return std::string_view(text, length);
}

// Copies the literal text at the front of `rest` (turning "{{" and "}}" into
// single braces) up to and including the next placeholder, which it consumes.
// The string was validated at compile time, so every '{' that is not "{{"
// opens a placeholder closed by the next '}', and every '}' outside one is
// "}}".
constexpr void copy_literal(Buffer& out, std::string_view& rest) {
  while (!rest.empty()) {
    size_t brace = 0;
    while (brace < rest.size() && rest[brace] != '{' && rest[brace] != '}') ++brace;
    out.put(std::string_view(rest.data(), brace));
    if (brace == rest.size()) {
      rest = {};
      return;
    }
    const bool escaped = brace + 1 < rest.size() && rest[brace + 1] == rest[brace];
    if (escaped) {
      out.put(rest[brace]);
      rest.remove_prefix(brace + 2);
      continue;
    }
    size_t close = brace;
    while (rest[close] != '}') ++close;
    rest.remove_prefix(close + 1);
    return;
  }
}

// One step of format_to: the literal before the argument, then the argument.
template <typename T>
constexpr void format_next(Buffer& out, std::string_view& rest, const Spec& spec, const T& value) {
  copy_literal(out, rest);
  format_value(out, as_argument(value), spec);
}

}  // namespace detail

// Appends `fmt` with its placeholders replaced by `args` to `out`. Never
// fails: output that does not fit is truncated (see Buffer).
template <typename... Args>
constexpr void format_to(Buffer& out, FormatString<Args...> fmt, const Args&... args) {
  static_assert((Formattable<std::remove_cvref_t<decltype(detail::as_argument(args))>> && ...),
                "no format_value(fmt::Buffer&, const T&, const fmt::Spec&) for an argument type; "
                "declare one in the type's namespace");
  std::string_view rest = fmt.text();
  [[maybe_unused]] size_t index = 0;
  (detail::format_next(out, rest, fmt.spec(index++), args), ...);
  detail::copy_literal(out, rest);  // the text after the last placeholder
}

// format_to into `data` (capacity bytes including the NUL). Returns the
// number of characters written, excluding the NUL; on truncation that is
// capacity - 1 (or 0 when capacity is 0).
template <typename... Args>
constexpr size_t format(char* data, size_t capacity, FormatString<Args...> fmt,
                        const Args&... args) {
  Buffer out(data, capacity);
  format_to(out, fmt, args...);
  return out.size();
}

}  // namespace lamina::fmt
