// How one log line looks, kept apart from where it goes so it is host-tested:
//
//   lamina: 0.012345 cpu0 info: text
//
// "lamina:" keeps the hypervisor's lines distinguishable from guest output
// on a shared console; the time is seconds since the counter started (the
// architected counter, so it is exact and icount-deterministic under QEMU).
#pragma once

#include <cstdint>
#include <string_view>

#include "hyp/lib/format.hpp"

namespace lamina {

enum class LogLevel : uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

[[nodiscard]] std::string_view log_level_name(LogLevel level);

// Parses "error", "warn", "info", "debug", "trace" (or 0..4).
[[nodiscard]] bool parse_log_level(std::string_view text, LogLevel* out);

// Appends "lamina: S.UUUUUU cpuN level: " to `out`. `frequency_hz` 0 prints
// no time (the counter frequency is unknown).
void format_log_prefix(fmt::Buffer& out, LogLevel level, uint32_t cpu, uint64_t counter,
                       uint64_t frequency_hz);

}  // namespace lamina
