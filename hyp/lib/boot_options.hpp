// lamina's own options from /chosen/bootargs (QEMU: -append). Words not
// starting with "lamina." are ignored (they may be meant for others).
//
//   lamina.loglevel=error|warn|info|debug|trace   (default info)
//   lamina.selftest=brk|write-text|exec-data|stack-overflow
//                                                 deliberately crash after
//                                                 boot, to test crash reports
//                                                 and the W^X map
//   lamina.selftest=stage2-at                     check stage-2 tables against
//                                                 the MMU (AT S12E1R/W), then
//                                                 boot on normally
//   lamina.stats[=1|0]                            count guest exits by kind and
//                                                 print them when a VM stops
#pragma once

#include <string_view>

#include "hyp/lib/log_line.hpp"

namespace lamina {

enum class SelfTest : uint8_t { kNone, kBrk, kWriteText, kExecData, kStackOverflow, kStage2At };

struct BootOptions {
  LogLevel log_level = LogLevel::kInfo;
  SelfTest self_test = SelfTest::kNone;
  bool stats = false;
};

struct BootOptionsResult {
  BootOptions options;
  // The first lamina.* word that was not understood, or empty.
  std::string_view bad_option;
};

[[nodiscard]] BootOptionsResult parse_boot_options(std::string_view bootargs);

}  // namespace lamina
