#include "hyp/guest_console.hpp"

#include <atomic>

#include "arch/sysreg.hpp"
#include "hyp/console.hpp"
#include "hyp/gic_host.hpp"
#include "hyp/lib/console_escape.hpp"
#include "hyp/log.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vgic_el2.hpp"
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

// Typed bytes for one VM, in order (under the console lock; `count` is also
// read without it, as a hint that there is nothing to take).
constexpr size_t kInputQueueSize = 256;
struct InputQueue {
  uint8_t bytes[kInputQueueSize];
  size_t head = 0;
  std::atomic<size_t> count{0};

  [[nodiscard]] size_t room() const { return kInputQueueSize - count.load(std::memory_order_relaxed); }
  void push(uint8_t byte) {
    const size_t n = count.load(std::memory_order_relaxed);
    bytes[(head + n) % kInputQueueSize] = byte;
    count.store(n + 1, std::memory_order_relaxed);
  }
  uint8_t pop() {
    const uint8_t byte = bytes[head];
    head = (head + 1) % kInputQueueSize;
    count.store(count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return byte;
  }
};
InputQueue g_input[kMaxVms];

// Under the console lock.
ConsoleEscape g_escape;
size_t g_focus = 0;        // the VM with the console input
bool g_rx_masked = false;  // the UART's receive interrupts are masked (a full queue)

// Set once at boot, before any vCPU runs.
bool g_rx_irq = false;  // input is interrupt-driven
uint32_t g_rx_intid = 0;
bool g_rx_edge = false;

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

// A line of lamina's own, under the console lock (the logger takes it
// itself, so these are written directly): "lamina: <text><name>\n".
void say_locked(const char* text, const char* name = "") {
  console::start_line();
  console::write("lamina: ");
  console::write(text);
  console::write(name);
  console::write("\n");
}

// Routes the console's interrupt to the CPU of `vm`'s vCPU 0 (console lock).
void route_input_to(Vm& vm) {
  if (g_rx_irq) gic_spi_enable(g_rx_intid, vm.vcpu(0).cpu().mpidr, g_rx_edge);
}

void switch_input_locked(size_t index) {
  Vm& vm = vm_table()[index];
  g_focus = index;
  say_locked("console input -> ", vm.name());
  route_input_to(vm);
}

void help_locked() {
  say_locked("console keys: Ctrl-\\ 1..9 gives the input to that VM, Ctrl-\\ Ctrl-\\ sends a Ctrl-\\, "
             "Ctrl-\\ ? shows this; input is with ",
             vm_table()[g_focus].name());
}

// Reads the UART's receive FIFO into the input queue of the VM with the
// input, through the escape state machine (console lock). Stops when that
// queue is full (then masks the receive interrupts, in interrupt mode), or
// right after the input moved to another VM: what is still in the UART is
// for that VM, and its CPU takes it (the interrupt follows the input).
void drain_uart_locked() {
  for (;;) {
    InputQueue& queue = g_input[g_focus];
    if (queue.room() < 2) {  // an escape can deliver two bytes at once
      if (g_rx_irq && !g_rx_masked) {
        console::set_receive_interrupts(false);
        g_rx_masked = true;
      }
      return;
    }
    char c;
    if (!console::try_read(&c)) return;
    const ConsoleEscape::Action a = g_escape.feed(static_cast<uint8_t>(c));
    switch (a.kind) {
      case ConsoleEscape::Kind::kDeliver:
        for (unsigned i = 0; i < a.count; ++i) queue.push(a.bytes[i]);
        break;
      case ConsoleEscape::Kind::kSwitch:
        if (vm_table()[a.vm].state() == VmState::kStopped) {
          say_locked("that VM has stopped; console input stays with ", vm_table()[g_focus].name());
        } else if (a.vm != g_focus) {
          switch_input_locked(a.vm);
          return;
        } else {
          say_locked("console input stays with ", vm_table()[g_focus].name());
        }
        break;
      case ConsoleEscape::Kind::kNoSuchVm:
        say_locked("no such VM; console input stays with ", vm_table()[g_focus].name());
        break;
      case ConsoleEscape::Kind::kHelp: help_locked(); break;
    }
  }
}

// Fills `vm`'s vPL011 from its queue and updates its line, on the CPU of
// one of its vCPUs (the device models' rule: mmio_lock when it has more
// than one).
void deliver_input(Vm& vm) {
  const bool locked = vm.vcpu_count() > 1 && vm.mmio_lock.lock(this_cpu().index);
  vm.uart.receive_from_backend();
  update_uart_line(vm);
  if (locked) vm.mmio_lock.unlock();
}

}  // namespace

void set_guest_console_vms(size_t count) {
  g_vm_count = count;
  g_escape.set_vm_count(count);
}

void start_guest_console_input(const UartDesc& uart) {
  if (vm_count() == 0) return;
  if (!uart.has_interrupt || !gic_host_ready()) {
    LOG_INFO("console input: polled ({})", uart.has_interrupt ? "lamina does not run this GIC at EL2 yet"
                                                             : "the console UART has no GIC interrupt");
  } else {
    g_rx_irq = true;
    g_rx_intid = uart.intid;
    g_rx_edge = uart.edge;
    // Input reaches a VM only through its queue now: its vPL011 asks
    // guest_console_receive only when the queue holds something.
    for (size_t i = 0; i < vm_count(); ++i) vm_table()[i].uart.set_receive_hint(&g_input[i].count);
    ConsoleGuard guard;
    route_input_to(vm_table()[g_focus]);
    console::set_receive_interrupts(true);
  }
  if (vm_count() > 1) {
    ConsoleGuard guard;
    help_locked();
  }
}

void guest_console_vm_stopped(Vm& vm) {
  ConsoleGuard guard;
  if (g_focus != vm.index) return;
  for (size_t step = 1; step < vm_count(); ++step) {
    const size_t next = (vm.index + step) % vm_count();
    if (vm_table()[next].state() == VmState::kRunning) {
      switch_input_locked(next);
      return;
    }
  }
}

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

namespace {

// guest_console_receive past its quick answers (console lock): drains the
// UART when `poll` (polled input), then takes a byte from the queue.
// Out of line, so that the common "nothing" costs no frame.
[[gnu::noinline]] bool receive_locked(Vm& vm, uint8_t* byte, bool poll) {
  InputQueue& queue = g_input[vm.index];
  ConsoleGuard guard;
  if (poll) {
    if (g_focus != vm.index) return false;
    drain_uart_locked();
  }
  if (queue.count.load(std::memory_order_relaxed) == 0) return false;
  *byte = queue.pop();
  vm.uart_last_poll = 0;  // more may follow at once (a paste)
  if (g_rx_masked && queue.room() >= kInputQueueSize / 2) {
    console::set_receive_interrupts(true);
    g_rx_masked = false;
  }
  return true;
}

}  // namespace

bool guest_console_receive(void* context, uint8_t* byte) {
  Vm& vm = *static_cast<Vm*>(context);
  if (g_input[vm.index].count.load(std::memory_order_relaxed) != 0) return receive_locked(vm, byte, false);
  if (g_rx_irq) return false;
  // Polled: only for the VM with the input, rate-limited.
  const uint64_t now = arch::read<arch::CntpctEl0>().value();
  if (now - vm.uart_last_poll < vm.uart_poll_interval) return false;
  vm.uart_last_poll = now;
  return receive_locked(vm, byte, true);
}

bool guest_console_irq(Vcpu& vcpu, uint32_t intid) {
  if (!g_rx_irq || intid != g_rx_intid) return false;
  Vm& vm = vcpu.vm();
  {
    ConsoleGuard guard;
    Vm& focus = vm_table()[g_focus];
    if (&focus != &vm || vcpu.index() != 0) {
      // The input moved while this interrupt was on its way here: it
      // follows, and fires again on the right CPU while bytes wait.
      route_input_to(focus);
      return true;
    }
    drain_uart_locked();
  }
  if (g_input[vm.index].count.load(std::memory_order_relaxed) != 0) deliver_input(vm);
  return true;
}

void guest_uart_line_changed(Vm& vm, bool level) {
  vm.uart_line = level;
  // SPI n is INTID 32 + n (IHI 0069 "INTIDs").
  (void)vgic_set_spi_level(vm, arch::gic::kNumPrivate + kGuestUartSpi, level);
}

}  // namespace lamina::hyp
