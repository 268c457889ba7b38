// Tests for hyp/lib/boot_options: parsing lamina.* words out of bootargs.
#include "hyp/lib/boot_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace lamina {
namespace {

TEST(BootOptions, EmptyGivesDefaults) {
  for (std::string_view args : {"", " ", "\t\n  \t"}) {
    const BootOptionsResult r = parse_boot_options(args);
    EXPECT_EQ(r.options.log_level, LogLevel::kInfo);
    EXPECT_EQ(r.options.self_test, SelfTest::kNone);
    EXPECT_TRUE(r.bad_option.empty());
  }
}

TEST(BootOptions, UnrelatedWordsAreIgnored) {
  const BootOptionsResult r =
      parse_boot_options("console=ttyAMA0 earlycon root=/dev/vda rw loglevel=8 lamina selftest=brk laminax.y=1 lamina");
  EXPECT_EQ(r.options.log_level, LogLevel::kInfo);
  EXPECT_EQ(r.options.self_test, SelfTest::kNone);
  EXPECT_TRUE(r.bad_option.empty());
}

TEST(BootOptions, LogLevel) {
  const struct {
    std::string_view args;
    LogLevel level;
  } rows[] = {{"lamina.loglevel=error", LogLevel::kError}, {"lamina.loglevel=warn", LogLevel::kWarn},
              {"lamina.loglevel=info", LogLevel::kInfo},   {"lamina.loglevel=debug", LogLevel::kDebug},
              {"lamina.loglevel=trace", LogLevel::kTrace}, {"lamina.loglevel=3", LogLevel::kDebug}};
  for (const auto& row : rows) {
    const BootOptionsResult r = parse_boot_options(row.args);
    EXPECT_EQ(r.options.log_level, row.level) << row.args;
    EXPECT_TRUE(r.bad_option.empty()) << row.args;
  }
}

TEST(BootOptions, SelfTest) {
  EXPECT_EQ(parse_boot_options("lamina.selftest=brk").options.self_test, SelfTest::kBrk);
  EXPECT_EQ(parse_boot_options("lamina.selftest=write-text").options.self_test, SelfTest::kWriteText);
  EXPECT_EQ(parse_boot_options("lamina.selftest=exec-data").options.self_test, SelfTest::kExecData);
}

TEST(BootOptions, SelfTestStage2At) {
  const BootOptionsResult r = parse_boot_options("console=ttyAMA0 lamina.selftest=stage2-at");
  EXPECT_EQ(r.options.self_test, SelfTest::kStage2At);
  EXPECT_TRUE(r.bad_option.empty());
  // Only the exact name: no prefix, suffix or other spelling.
  for (std::string_view args : {"lamina.selftest=stage2", "lamina.selftest=stage2-at2", "lamina.selftest=stage2_at",
                                "lamina.selftest=Stage2-AT"}) {
    const BootOptionsResult bad = parse_boot_options(args);
    EXPECT_EQ(bad.options.self_test, SelfTest::kNone) << args;
    EXPECT_EQ(bad.bad_option, args);
  }
}

TEST(BootOptions, MixedWithOtherWordsAndWhitespace) {
  const BootOptionsResult r =
      parse_boot_options("  console=ttyAMA0\tlamina.loglevel=debug \n\n earlycon\t\tlamina.selftest=brk  \n");
  EXPECT_EQ(r.options.log_level, LogLevel::kDebug);
  EXPECT_EQ(r.options.self_test, SelfTest::kBrk);
  EXPECT_TRUE(r.bad_option.empty());
}

TEST(BootOptions, UnknownOptionIsReportedFirstOneWins) {
  const BootOptionsResult r =
      parse_boot_options("lamina.loglevel=debug lamina.colour=on lamina.foo=bar lamina.selftest=brk");
  EXPECT_EQ(r.bad_option, "lamina.colour=on");
  // The good options around it still apply.
  EXPECT_EQ(r.options.log_level, LogLevel::kDebug);
  EXPECT_EQ(r.options.self_test, SelfTest::kBrk);
}

TEST(BootOptions, BadValuesAreReportedAndLeaveTheDefault) {
  for (std::string_view args : {"lamina.loglevel=loud", "lamina.loglevel=", "lamina.loglevel=5",
                                "lamina.selftest=panic", "lamina.selftest=", "lamina.selftest=BRK"}) {
    const BootOptionsResult r = parse_boot_options(args);
    EXPECT_EQ(r.bad_option, args);
    EXPECT_EQ(r.options.log_level, LogLevel::kInfo) << args;
    EXPECT_EQ(r.options.self_test, SelfTest::kNone) << args;
  }
}

TEST(BootOptions, MalformedWordsWithoutEquals) {
  for (std::string_view args : {"lamina.loglevel", "lamina.selftest", "lamina.", "lamina.debug"}) {
    const BootOptionsResult r = parse_boot_options(args);
    EXPECT_EQ(r.bad_option, args);
    EXPECT_EQ(r.options.log_level, LogLevel::kInfo);
  }
  // The key is the whole text up to '=': a prefix of a known key is not it.
  EXPECT_EQ(parse_boot_options("lamina.log=debug").bad_option, "lamina.log=debug");
  EXPECT_EQ(parse_boot_options("lamina.loglevelx=debug").bad_option, "lamina.loglevelx=debug");
  EXPECT_EQ(parse_boot_options("lamina.loglevel==debug").bad_option, "lamina.loglevel==debug");
}

TEST(BootOptions, BadOptionPointsIntoTheInput) {
  const std::string args = "a lamina.nope=1 b";
  const BootOptionsResult r = parse_boot_options(args);
  EXPECT_EQ(r.bad_option.data(), args.data() + 2);
  EXPECT_EQ(r.bad_option.size(), 13u);
}

TEST(BootOptions, RepeatedOptionLastValidValueWins) {
  EXPECT_EQ(parse_boot_options("lamina.loglevel=error lamina.loglevel=trace").options.log_level, LogLevel::kTrace);
  EXPECT_EQ(parse_boot_options("lamina.loglevel=trace lamina.loglevel=error").options.log_level, LogLevel::kError);
  EXPECT_EQ(parse_boot_options("lamina.selftest=brk lamina.selftest=exec-data").options.self_test,
            SelfTest::kExecData);
  // A later invalid value is reported and does not undo the earlier one.
  const BootOptionsResult r = parse_boot_options("lamina.loglevel=debug lamina.loglevel=bogus");
  EXPECT_EQ(r.options.log_level, LogLevel::kDebug);
  EXPECT_EQ(r.bad_option, "lamina.loglevel=bogus");
}

TEST(BootOptions, NotNulTerminatedInput) {
  // The DT's bootargs property is handed over as a view; nothing may be read
  // past its end.
  const char raw[] = {'l', 'a', 'm', 'i', 'n', 'a', '.', 'l', 'o', 'g', 'l', 'e', 'v', 'e', 'l', '=', 'w', 'a', 'r', 'n'};
  const BootOptionsResult r = parse_boot_options(std::string_view(raw, sizeof raw));
  EXPECT_EQ(r.options.log_level, LogLevel::kWarn);
  EXPECT_TRUE(r.bad_option.empty());
}

}  // namespace
}  // namespace lamina

TEST(BootOptions, Stats) {
  EXPECT_FALSE(lamina::parse_boot_options("").options.stats);
  EXPECT_TRUE(lamina::parse_boot_options("lamina.stats").options.stats);
  EXPECT_TRUE(lamina::parse_boot_options("lamina.stats=1").options.stats);
  EXPECT_FALSE(lamina::parse_boot_options("lamina.stats=0").options.stats);
  const lamina::BootOptionsResult bad = lamina::parse_boot_options("lamina.stats=yes");
  EXPECT_FALSE(bad.options.stats);
  EXPECT_EQ(bad.bad_option, "lamina.stats=yes");
}
