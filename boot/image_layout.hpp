// lamina's own footprint, from the linker script's symbols (linker/lamina.ld).
// Run-time addresses: PC-relative references to these symbols give the
// loaded location, and the identity map makes VA == PA.
#pragma once

#include <cstdint>

#include "mm/addr.hpp"

extern "C" {
extern char __image_start[], __text_end[], __rodata_end[], __relro_start[], __relro_end[];
extern char __data_start[], __data_end[], __stacks_start[], __stacks_end[], __image_end[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
}

namespace lamina::boot {

struct ImageLayout {
  mm::PhysRange whole;   // everything the image occupies, BSS and stacks included
  mm::PhysRange text;    // read-only, executable
  mm::PhysRange rodata;  // read-only
  mm::PhysRange relro;   // read-only once relocated
  mm::PhysRange data;    // read-write: .data, .bss
  mm::PhysRange stacks;  // per-CPU stacks with guard pages
};

[[nodiscard]] inline mm::PhysAddr pa_of_symbol(const void* symbol) {
  return mm::to_pa(mm::va_of(symbol));
}

[[nodiscard]] inline mm::PhysRange range_between(const void* begin, const void* end) {
  const mm::PhysAddr b = pa_of_symbol(begin);
  return {b, pa_of_symbol(end).minus(b)};
}

[[nodiscard]] inline ImageLayout image_layout() {
  return {
      range_between(__image_start, __image_end),  range_between(__image_start, __text_end),
      range_between(__text_end, __rodata_end),    range_between(__relro_start, __relro_end),
      range_between(__data_start, __data_end),    range_between(__stacks_start, __stacks_end),
  };
}

}  // namespace lamina::boot
