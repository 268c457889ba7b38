// The console multiplexer's escape sequence: a byte-stream state machine
// over what is typed on lamina's console, deciding for each byte whether it
// is input for the VM that has the console or a command to lamina.
//
// With one VM the console is transparent: every byte is delivered, the
// escape key included. With several:
//   Ctrl-\ <digit n>   input goes to VM n (1-based, in /chosen order);
//   Ctrl-\ Ctrl-\      a literal Ctrl-\ for the VM that has the input;
//   Ctrl-\ ?           lamina prints the keys;
//   Ctrl-\ <other>     both bytes go to the VM (nothing typed is lost).
// Ctrl-A is QEMU's own escape on a `-serial mon:stdio` terminal (Ctrl-A X
// quits) and never reaches lamina, hence Ctrl-\ (ASCII FS, 0x1c; the key
// telnet uses for the same purpose, Ctrl-]'s neighbour).
//
// Architecture-neutral and host-tested (tests/unit/hyp/lib).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lamina {

class ConsoleEscape {
 public:
  static constexpr uint8_t kEscapeKey = 0x1c;  // Ctrl-\ (ASCII FS)
  static constexpr uint8_t kHelpKey = '?';

  enum class Kind : uint8_t {
    kDeliver,    // bytes[0, count) are input for the VM that has the console
    kSwitch,     // input goes to VM `vm` (0-based) from now on
    kNoSuchVm,   // a digit named a VM that does not exist (`vm` is its index)
    kHelp,       // print the keys
  };

  struct Action {
    Kind kind = Kind::kDeliver;
    uint8_t count = 0;  // kDeliver: 0 (the byte was taken by the escape), 1 or 2
    uint8_t bytes[2] = {};
    uint32_t vm = 0;
  };

  constexpr explicit ConsoleEscape(size_t vm_count = 1) : vm_count_(vm_count) {}

  // The number of VMs sharing the console (one: transparent). Drops a
  // half-typed sequence.
  void set_vm_count(size_t vm_count) {
    vm_count_ = vm_count;
    pending_ = false;
  }
  [[nodiscard]] size_t vm_count() const { return vm_count_; }

  // True after the escape key, while the next key is awaited.
  [[nodiscard]] bool pending() const { return pending_; }

  // One byte typed on the console.
  [[nodiscard]] Action feed(uint8_t byte);

 private:
  size_t vm_count_;
  bool pending_ = false;
};

}  // namespace lamina
