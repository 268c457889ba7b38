// lamina's logger: levelled, type-safe (hyp/lib/format.hpp checks the format
// string against the arguments at compile time), usable from every CPU.
// Each line is formatted into a stack buffer first and written under the
// console lock, so lines from different CPUs never interleave.
//
//   LOG_INFO("RAM bank {}: {}", i, range);
#pragma once

#include <type_traits>

#include "hyp/lib/format.hpp"
#include "hyp/lib/log_line.hpp"

namespace lamina::hyp::log {

inline constexpr size_t kMaxLine = 256;

void set_level(LogLevel level);
[[nodiscard]] LogLevel level();

// Counter frequency for timestamps (0 until known).
void set_counter_frequency(uint64_t hz);

// Emits a fully formatted line (prefix included); the logger adds "\n".
void emit(LogLevel level, std::string_view line);

// Starts a line with the standard prefix for `level` on this CPU.
void begin_line(fmt::Buffer& out, LogLevel level);

template <typename... Args>
void write(LogLevel lvl, fmt::FormatString<Args...> f, const Args&... args) {
  if (lvl > level()) return;
  char storage[kMaxLine];
  fmt::Buffer out(storage, sizeof(storage));
  begin_line(out, lvl);
  fmt::format_to(out, f, args...);
  emit(lvl, out.view());
}

}  // namespace lamina::hyp::log

#define LOG_ERROR(...) ::lamina::hyp::log::write(::lamina::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN(...) ::lamina::hyp::log::write(::lamina::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO(...) ::lamina::hyp::log::write(::lamina::LogLevel::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) ::lamina::hyp::log::write(::lamina::LogLevel::kDebug, __VA_ARGS__)
