// lamina's own console: the host UART named by /chosen/stdout-path (or the
// build's fallback UART when the DT names none). Until a UART is attached,
// output is dropped.
#pragma once

#include <cstdint>
#include <string_view>

#include "hyp/lib/spinlock.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp::console {

enum class ConsoleSource : uint8_t { kDeviceTree, kFallback, kNone };

// Attaches the console named by the device tree at `fdt` (mapping its
// registers), else the build's fallback UART (LAMINA_FALLBACK_UART), else
// none. Uses no EL2 register, so the wrong-EL path can call it too.
ConsoleSource attach_from_device_tree(const void* fdt);

// Starts using the PL011 at `base`, which must already be mapped as device
// memory at the same VA (identity map) or the MMU must be off.
void attach_pl011(mm::PhysAddr base);

[[nodiscard]] bool attached();

// Writes `text`, turning "\n" into "\r\n". Not serialized: callers hold lock().
void write(std::string_view text);

// Ends a line a guest left unfinished, so that what follows starts a line
// of its own. Not serialized: callers hold lock().
void start_line();

// Writes one byte as it is (guest output). Not serialized: callers hold lock().
void put_raw(char c);

// A byte typed on the console, if one is waiting (guest input). Not
// serialized: callers hold lock().
[[nodiscard]] bool try_read(char* c);

// Turns the UART's receiver on and its receive and receive-timeout
// interrupts on or off (UARTIMSC RXIM/RTIM). Not serialized: callers hold
// lock() once other CPUs run.
void set_receive_interrupts(bool on);

// Waits until the UART has sent everything (before a power-off).
void flush();

// Serializes whole lines from every CPU (see hyp/log.cpp).
[[nodiscard]] SpinLock& lock();

}  // namespace lamina::hyp::console
