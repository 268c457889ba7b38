#include "hyp/console.hpp"

#include "arch/pl011.hpp"
#include "boot/hyp_mmu.hpp"
#include "hyp/platform/platform.hpp"

namespace lamina::hyp::console {

namespace {
// 0 = none attached. Written once by the boot CPU before secondaries start.
uint64_t g_pl011_base = 0;
SpinLock g_lock;
// The last byte sent (under g_lock): a guest may leave a line unfinished.
char g_last = '\n';
}  // namespace

void attach_pl011(mm::PhysAddr base) {
  arch::Pl011(base.value()).enable_transmit();
  g_pl011_base = base.value();
}

ConsoleSource attach_from_device_tree(const void* fdt) {
  auto uart = find_console_uart(fdt);
  if (uart.ok() && boot::map_device(uart.value().regs).ok()) {
    attach_pl011(uart.value().regs.base);
    return ConsoleSource::kDeviceTree;
  }
  const mm::PhysAddr fallback(LAMINA_FALLBACK_UART);
  if (fallback.value() != 0 && boot::map_device({fallback, mm::kPageSize}).ok()) {
    attach_pl011(fallback);
    return ConsoleSource::kFallback;
  }
  return ConsoleSource::kNone;
}

bool attached() { return g_pl011_base != 0; }

void write(std::string_view text) {
  if (g_pl011_base == 0) return;
  const arch::Pl011 uart(g_pl011_base);
  for (const char c : text) {
    if (c == '\n') uart.put('\r');
    uart.put(c);
    g_last = c;
  }
}

void start_line() {
  if (g_last != '\n') write("\n");
}

void put_raw(char c) {
  if (g_pl011_base == 0) return;
  arch::Pl011(g_pl011_base).put(c);
  g_last = c;
}

bool try_read(char* c) {
  if (g_pl011_base == 0) return false;
  const arch::Pl011 uart(g_pl011_base);
  uart.enable_receive();
  return uart.try_get(c);
}

void set_receive_interrupts(bool on) {
  if (g_pl011_base == 0) return;
  const arch::Pl011 uart(g_pl011_base);
  uart.enable_receive();
  uart.set_receive_interrupts(on);
}

void flush() {
  if (g_pl011_base != 0) arch::Pl011(g_pl011_base).flush();
}

SpinLock& lock() { return g_lock; }

}  // namespace lamina::hyp::console
