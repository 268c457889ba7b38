// Fatal hypervisor errors: a broken lamina invariant, never anything a guest
// or the device tree can cause (those get messages, faults or a clean stop).
#pragma once

namespace lamina {

// Prints "PANIC" with the message and a backtrace, then stops this CPU.
[[noreturn]] void panic(const char* message);

}  // namespace lamina

#define LAMINA_CHECK(cond, why)                                          \
  do {                                                                   \
    if (!(cond)) ::lamina::panic("check failed: " #cond ": " why);       \
  } while (0)
