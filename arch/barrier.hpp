// Barriers and hints as named functions. EL2-only.
// DDI 0487 K.a B2.3 "Ordering requirements", C6.2 "DMB/DSB/ISB".
#pragma once

#if !defined(__aarch64__)
#error "arch/barrier.hpp is EL2-only"
#endif

namespace lamina::arch {

inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb_sy() { asm volatile("dsb sy" ::: "memory"); }
inline void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
inline void dsb_ishst() { asm volatile("dsb ishst" ::: "memory"); }
inline void dsb_nsh() { asm volatile("dsb nsh" ::: "memory"); }
inline void dmb_ish() { asm volatile("dmb ish" ::: "memory"); }
inline void sev() { asm volatile("sev" ::: "memory"); }
inline void wfe() { asm volatile("wfe" ::: "memory"); }
inline void wfi() { asm volatile("wfi" ::: "memory"); }

// Masks D, A, I and F on this CPU (lamina runs with exceptions masked).
inline void mask_all_exceptions() { asm volatile("msr daifset, #0xf" ::: "memory"); }

// Stops this CPU for good: used after a fatal error on this CPU.
[[noreturn]] inline void halt_cpu() {
  mask_all_exceptions();
  for (;;) wfi();
}

}  // namespace lamina::arch
