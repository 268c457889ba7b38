#include "hyp/log.hpp"

#include "arch/sysreg.hpp"
#include "hyp/console.hpp"
#include "hyp/percpu.hpp"

namespace lamina::hyp::log {

namespace {
LogLevel g_level = LogLevel::kInfo;
uint64_t g_counter_hz = 0;
}  // namespace

void set_level(LogLevel level) { g_level = level; }
LogLevel level() { return g_level; }
void set_counter_frequency(uint64_t hz) { g_counter_hz = hz; }

void begin_line(fmt::Buffer& out, LogLevel lvl) {
  format_log_prefix(out, lvl, this_cpu().index, arch::read<arch::CntpctEl0>().value(), g_counter_hz);
}

void emit(LogLevel /*level*/, std::string_view line) {
  const uint32_t me = this_cpu().index;
  // A CPU that already holds the lock is logging from inside a crash in the
  // middle of a line: write anyway rather than deadlock.
  const bool locked = console::lock().lock(me);
  console::start_line();
  console::write(line);
  console::write("\n");
  if (locked) console::lock().unlock();
}

}  // namespace lamina::hyp::log
