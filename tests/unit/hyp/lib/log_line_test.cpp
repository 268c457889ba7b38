// Tests for hyp/lib/log_line: the exact shape of a log line's prefix and the
// log-level names.
#include "hyp/lib/log_line.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lamina {
namespace {

std::string prefix(LogLevel level, uint32_t cpu, uint64_t counter, uint64_t frequency_hz) {
  char storage[128];
  fmt::Buffer out(storage, sizeof storage);
  format_log_prefix(out, level, cpu, counter, frequency_hz);
  EXPECT_FALSE(out.truncated());
  return std::string(out.view());
}

TEST(LogPrefix, SecondsAndMicroseconds) {
  // 93,750,000 ticks at 62.5 MHz (QEMU virt's counter) = 1.5 s.
  EXPECT_EQ(prefix(LogLevel::kWarn, 3, 93'750'000, 62'500'000), "lamina: 1.500000 cpu3 warn: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, 0, 62'500'000), "lamina: 0.000000 cpu0 info: ");
  // One tick at 62.5 MHz is 16 ns: below a microsecond, truncated to 0.
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, 1, 62'500'000), "lamina: 0.000000 cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, 63, 62'500'000), "lamina: 0.000001 cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kError, 15, 771'604, 62'500'000), "lamina: 0.012345 cpu15 error: ");
  EXPECT_EQ(prefix(LogLevel::kDebug, 1, 1'999'999'999, 1'000'000'000), "lamina: 1.999999 cpu1 debug: ");
  EXPECT_EQ(prefix(LogLevel::kTrace, 255, 12'345'678'901, 1'000'000'000), "lamina: 12.345678 cpu255 trace: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, 54'000'000, 54'000'000), "lamina: 1.000000 cpu0 info: ") << "Raspberry Pi 4";
}

TEST(LogPrefix, NoTimeWithoutAFrequency) {
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, 123'456, 0), "lamina: cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kError, 7, ~uint64_t{0}, 0), "lamina: cpu7 error: ");
}

TEST(LogPrefix, LargeCountersDoNotOverflow) {
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, ~uint64_t{0}, 62'500'000), "lamina: 295147905179.352825 cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, ~uint64_t{0}, 1'000'000'000), "lamina: 18446744073.709551 cpu0 info: ");
  // The largest frequency CNTFRQ_EL0 can hold (32 bits).
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, ~uint64_t{0}, 0xffff'ffff), "lamina: 4294967297.000000 cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, 0xffff'fffe, 0xffff'ffff), "lamina: 0.999999 cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 0, ~uint64_t{0}, 1), "lamina: 18446744073709551615.000000 cpu0 info: ");
  EXPECT_EQ(prefix(LogLevel::kInfo, 4'294'967'295u, 0, 1), "lamina: 0.000000 cpu4294967295 info: ");
}

TEST(LogPrefix, AppendsToWhatIsAlreadyThere) {
  char storage[64];
  fmt::Buffer out(storage, sizeof storage);
  out.put("> ");
  format_log_prefix(out, LogLevel::kInfo, 2, 0, 0);
  EXPECT_EQ(out.view(), "> lamina: cpu2 info: ");
}

TEST(LogPrefix, SmallBufferIsTruncatedNotOverrun) {
  char storage[16 + 8];
  std::memset(storage, '#', sizeof storage);
  fmt::Buffer out(storage, 16);
  format_log_prefix(out, LogLevel::kWarn, 3, 93'750'000, 62'500'000);
  EXPECT_TRUE(out.truncated());
  EXPECT_EQ(out.size(), 15u);
  EXPECT_EQ(storage[15], '\0');
  for (size_t i = 16; i < sizeof storage; ++i) EXPECT_EQ(storage[i], '#');
}

TEST(LogLevel, Names) {
  EXPECT_EQ(log_level_name(LogLevel::kError), "error");
  EXPECT_EQ(log_level_name(LogLevel::kWarn), "warn");
  EXPECT_EQ(log_level_name(LogLevel::kInfo), "info");
  EXPECT_EQ(log_level_name(LogLevel::kDebug), "debug");
  EXPECT_EQ(log_level_name(LogLevel::kTrace), "trace");
  EXPECT_EQ(log_level_name(static_cast<LogLevel>(9)), "?");
}

TEST(LogLevel, ParsesNamesAndDigits) {
  const struct {
    std::string_view name;
    char digit;
    LogLevel level;
  } rows[] = {{"error", '0', LogLevel::kError},
              {"warn", '1', LogLevel::kWarn},
              {"info", '2', LogLevel::kInfo},
              {"debug", '3', LogLevel::kDebug},
              {"trace", '4', LogLevel::kTrace}};
  for (const auto& row : rows) {
    LogLevel out = LogLevel::kInfo;
    ASSERT_TRUE(parse_log_level(row.name, &out)) << row.name;
    EXPECT_EQ(out, row.level);
    out = LogLevel::kInfo;
    ASSERT_TRUE(parse_log_level(std::string_view(&row.digit, 1), &out)) << row.digit;
    EXPECT_EQ(out, row.level);
  }
}

TEST(LogLevel, RejectsEverythingElseAndLeavesTheOutputAlone) {
  const std::string_view bads[] = {"", "5", "9", "-1", "00", "01", "Info", "INFO", "warning", "err", "info ",
                                   " info", "debugx", "2 ", std::string_view("info\0", 5)};
  for (std::string_view bad : bads) {
    LogLevel out = LogLevel::kTrace;
    EXPECT_FALSE(parse_log_level(bad, &out)) << '"' << bad << '"';
    EXPECT_EQ(out, LogLevel::kTrace);
  }
}

}  // namespace
}  // namespace lamina
