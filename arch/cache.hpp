// Cache maintenance sequences, each a named function with its barriers
// inside. EL2-only. (TLB maintenance: arch/tlbi.hpp for stage 2; lamina's own
// EL2 map is only invalidated by the MMU-on sequence in boot/entry.S.)
// DDI 0487 K.a D7.5 "Cache support".
#pragma once

#include <cstdint>

#include "arch/barrier.hpp"
#include "arch/sysreg.hpp"

namespace lamina::arch {

namespace detail {
template <typename Op>
inline void for_each_dcache_line(uint64_t va, uint64_t size, Op op) {
  const uint64_t line = read<CtrEl0>().dcache_line_bytes();
  const uint64_t end = va + size;
  for (uint64_t p = va & ~(line - 1); p < end; p += line) op(p);
}
}  // namespace detail

// Clean [va, va+size) to the Point of Coherency, so that an observer with
// caches off (a CPU still running with its MMU off) sees what we wrote.
inline void clean_dcache_to_poc(uint64_t va, uint64_t size) {
  detail::for_each_dcache_line(va, size, [](uint64_t p) { asm volatile("dc cvac, %0" ::"r"(p) : "memory"); });
  dsb_sy();
}

// Clean and invalidate [va, va+size) to the PoC.
inline void clean_invalidate_dcache_to_poc(uint64_t va, uint64_t size) {
  detail::for_each_dcache_line(va, size, [](uint64_t p) { asm volatile("dc civac, %0" ::"r"(p) : "memory"); });
  dsb_sy();
}

// Invalidate [va, va+size) to the PoC, discarding any cached copy. Used
// before the MMU comes on for memory written with caches off, so stale lines
// left by an earlier boot stage cannot shadow what is in memory.
inline void invalidate_dcache_to_poc(uint64_t va, uint64_t size) {
  detail::for_each_dcache_line(va, size, [](uint64_t p) { asm volatile("dc ivac, %0" ::"r"(p) : "memory"); });
  dsb_sy();
}

// Invalidate this CPU's whole instruction cache to the PoU.
inline void invalidate_icache_local() {
  asm volatile("ic iallu" ::: "memory");
  dsb_nsh();
  isb();
}

}  // namespace lamina::arch
