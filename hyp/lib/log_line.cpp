#include "hyp/lib/log_line.hpp"

namespace lamina {

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kTrace: return "trace";
  }
  return "?";
}

bool parse_log_level(std::string_view text, LogLevel* out) {
  for (uint8_t i = 0; i <= static_cast<uint8_t>(LogLevel::kTrace); ++i) {
    const auto level = static_cast<LogLevel>(i);
    if (text == log_level_name(level) || (text.size() == 1 && text[0] == static_cast<char>('0' + i))) {
      *out = level;
      return true;
    }
  }
  return false;
}

void format_log_prefix(fmt::Buffer& out, LogLevel level, uint32_t cpu, uint64_t counter,
                       uint64_t frequency_hz) {
  if (frequency_hz == 0) {
    fmt::format_to(out, "lamina: cpu{} {}: ", cpu, log_level_name(level));
    return;
  }
  const uint64_t seconds = counter / frequency_hz;
  // (counter % f) < f <= 2^32 in practice, so * 10^6 cannot overflow 2^64.
  const uint64_t micros = (counter % frequency_hz) * 1000000 / frequency_hz;
  fmt::format_to(out, "lamina: {}.{:06} cpu{} {}: ", seconds, micros, cpu, log_level_name(level));
}

}  // namespace lamina
