#include "hyp/lib/boot_options.hpp"

namespace lamina {

namespace {

// string_view::substr can throw, which freestanding EL2 code cannot link:
// slice clamps instead.
std::string_view slice(std::string_view s, size_t pos, size_t len = std::string_view::npos) {
  if (pos > s.size()) pos = s.size();
  if (len > s.size() - pos) len = s.size() - pos;
  return {s.data() + pos, len};
}

bool parse_self_test(std::string_view v, SelfTest* out) {
  if (v == "brk") *out = SelfTest::kBrk;
  else if (v == "write-text") *out = SelfTest::kWriteText;
  else if (v == "exec-data") *out = SelfTest::kExecData;
  else if (v == "stack-overflow") *out = SelfTest::kStackOverflow;
  else if (v == "stage2-at") *out = SelfTest::kStage2At;
  else return false;
  return true;
}

// "lamina.stats" alone, or "=1"/"=0".
bool parse_flag(std::string_view v, bool* out) {
  if (v.empty() || v == "1") *out = true;
  else if (v == "0") *out = false;
  else return false;
  return true;
}

}  // namespace

BootOptionsResult parse_boot_options(std::string_view args) {
  constexpr std::string_view kPrefix = "lamina.";
  BootOptionsResult result;
  while (!args.empty()) {
    const size_t start = args.find_first_not_of(" \t\n");
    if (start == std::string_view::npos) break;
    args.remove_prefix(start);
    const size_t end = args.find_first_of(" \t\n");
    const std::string_view word = slice(args, 0, end);
    args.remove_prefix(end == std::string_view::npos ? args.size() : end);

    if (slice(word, 0, kPrefix.size()) != kPrefix) continue;
    const size_t eq = word.find('=');
    const std::string_view key =
        slice(word, kPrefix.size(), eq == std::string_view::npos ? eq : eq - kPrefix.size());
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : slice(word, eq + 1);
    bool ok = false;
    if (key == "loglevel") ok = parse_log_level(value, &result.options.log_level);
    else if (key == "selftest") ok = parse_self_test(value, &result.options.self_test);
    else if (key == "stats") ok = parse_flag(value, &result.options.stats);
    if (!ok && result.bad_option.empty()) result.bad_option = word;
  }
  return result;
}

}  // namespace lamina
