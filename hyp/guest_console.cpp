#include "hyp/guest_console.hpp"

#include "hyp/console.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vm.hpp"

namespace lamina::hyp {

namespace {

constexpr size_t kLineMax = 256;

struct LineBuffer {
  char text[kLineMax];
  size_t length = 0;
};

LineBuffer g_lines[kMaxVms];
size_t g_vm_count = 1;

// The console lock for one scope (lines from every CPU stay whole).
class ConsoleGuard : public SpinLockGuard {
 public:
  ConsoleGuard() : SpinLockGuard(console::lock(), this_cpu().index) {}
};

void write_line(const Vm& vm, LineBuffer& line) {
  ConsoleGuard guard;
  for (const char* p = vm.name(); *p != '\0'; ++p) console::put_raw(*p);
  console::put_raw('|');
  console::put_raw(' ');
  for (size_t i = 0; i < line.length; ++i) console::put_raw(line.text[i]);
  line.length = 0;
}

}  // namespace

void set_guest_console_vms(size_t count) { g_vm_count = count; }

void guest_console_putc(Vm& vm, char c) {
  if (g_vm_count <= 1) {
    ConsoleGuard guard;
    console::put_raw(c);
    return;
  }
  LineBuffer& line = g_lines[vm.index];
  if (c == '\r') return;  // the prefixed line ends with "\r\n" below
  if (c == '\n') {
    if (line.length < kLineMax - 1) line.text[line.length++] = '\r';
    line.text[line.length++] = '\n';
    write_line(vm, line);
    return;
  }
  line.text[line.length++] = c;
  if (line.length >= kLineMax - 2) {
    line.text[line.length++] = '\r';
    line.text[line.length++] = '\n';
    write_line(vm, line);
  }
}

void guest_console_flush(Vm& vm) {
  if (g_vm_count <= 1) return;
  LineBuffer& line = g_lines[vm.index];
  if (line.length == 0) return;
  line.text[line.length++] = '\r';
  line.text[line.length++] = '\n';
  write_line(vm, line);
}

bool guest_console_getc(Vm& vm, char* c) {
  if (vm.index != 0) return false;
  ConsoleGuard guard;
  return console::try_read(c);
}

}  // namespace lamina::hyp
