// The little C++ and compiler runtime lamina needs, freestanding.
#include <cstdint>

#include "hyp/panic.hpp"

extern "C" {

// -fstack-protector canary (lamina's own code and Debian's libfdt.a use it).
// boot/entry.S replaces this value with one derived from the counter before
// the first C++ call, so it is not predictable across boots.
uintptr_t __stack_chk_guard = 0x5afe57ac6ca1a3a7ull;

[[noreturn]] void __stack_chk_fail() { lamina::panic("stack smashing detected"); }

// A pure virtual call means a corrupted object: treat as a hypervisor bug.
[[noreturn]] void __cxa_pure_virtual() { lamina::panic("pure virtual function called"); }

}  // extern "C"
