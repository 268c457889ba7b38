// lamina's own EL2 stage-1 translation tables (4K granule, one TTBR0_EL2
// range, identity-mapped by policy of the caller).
//
// One builder serves the early boot map (built with the MMU off, tables from
// a static pool) and the full map (tables from the frame allocator): table
// memory is injected, Hafnium/KVM-style, so the walker never reaches for a
// global allocator and runs unchanged in host tests.
//
// This builder only ever fills invalid entries (never changes a valid one),
// so it needs no break-before-make and no TLB maintenance: the architecture
// does not cache invalid entries (DDI 0487 K.a D8.13.1 "General TLB
// maintenance requirements"); a DSB + ISB before use suffices, and the caller
// does that when it publishes the tables.
#pragma once

#include <cstdint>

#include "arch/regs/stage1_desc.hpp"
#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"

namespace lamina::mm {

// Where table pages come from. `alloc` returns a zeroed, page-aligned page or
// kNoMemory; `table` turns a table's PA into a pointer the builder can use.
struct PageTableMemory {
  void* context = nullptr;
  Result<PhysAddr, Error> (*alloc)(void* context) = nullptr;
  uint64_t* (*table)(void* context, PhysAddr pa) = nullptr;
};

enum class HypMemType : uint8_t { kNormal, kDevice };

struct HypMapAttrs {
  HypMemType type = HypMemType::kNormal;
  bool writable = false;
  bool executable = false;
};

inline constexpr HypMapAttrs kHypText{HypMemType::kNormal, false, true};
inline constexpr HypMapAttrs kHypReadOnly{HypMemType::kNormal, false, false};
inline constexpr HypMapAttrs kHypReadWrite{HypMemType::kNormal, true, false};
inline constexpr HypMapAttrs kHypDevice{HypMemType::kDevice, true, false};

// What to do where the range is already (partly) mapped.
enum class Overlap : uint8_t {
  kFail,       // kAlreadyMapped, nothing after the conflict is mapped
  kFillHoles,  // keep existing mappings, map only what is unmapped
};

struct HypLeaf {
  arch::S1Leaf desc;
  unsigned level = 0;
  PhysAddr pa;  // output address for the looked-up VA
};

class HypPageTable {
 public:
  // A new, empty table for a `va_bits`-bit address space (32..48).
  [[nodiscard]] static Result<HypPageTable, Error> create(PageTableMemory memory, unsigned va_bits);

  // Maps [va, va + size) to [pa, pa + size) with `attrs`, using 1 GiB and
  // 2 MiB blocks wherever alignment and size allow, 4 KiB pages elsewhere.
  // va, pa and size must be page-aligned (kMisaligned). W+X is refused
  // (kWriteAndExecute), as is executable device memory (kExecuteDevice).
  // On kNoMemory the part mapped so far stays mapped.
  [[nodiscard]] Status<Error> map(VirtAddr va, PhysAddr pa, uint64_t size, HypMapAttrs attrs,
                                  Overlap overlap = Overlap::kFail);

  // The leaf that translates `va`, if any.
  [[nodiscard]] Result<HypLeaf, Error> lookup(VirtAddr va) const;

  [[nodiscard]] PhysAddr root() const { return root_; }
  [[nodiscard]] unsigned va_bits() const { return va_bits_; }
  [[nodiscard]] unsigned start_level() const { return start_level_; }
  [[nodiscard]] uint64_t tables_allocated() const { return tables_allocated_; }

  // Descriptor for a leaf at `level` mapping `pa` (exposed for tests).
  [[nodiscard]] static arch::S1Leaf leaf_descriptor(PhysAddr pa, HypMapAttrs attrs, unsigned level);

 private:
  HypPageTable(PageTableMemory memory, unsigned va_bits, unsigned start_level, PhysAddr root)
      : memory_(memory), va_bits_(va_bits), start_level_(start_level), root_(root) {}

  Status<Error> map_level(PhysAddr table, unsigned level, uint64_t va, uint64_t pa, uint64_t size,
                          HypMapAttrs attrs, Overlap overlap);

  PageTableMemory memory_;
  unsigned va_bits_;
  unsigned start_level_;
  PhysAddr root_;
  uint64_t tables_allocated_ = 1;
};

// Bytes mapped by one entry at `level` (4K granule): 512 GiB, 1 GiB, 2 MiB, 4 KiB.
[[nodiscard]] constexpr uint64_t level_entry_size(unsigned level) {
  return uint64_t{1} << (kPageShift + 9 * (3 - level));
}

// First level of a stage-1 walk for `va_bits` (no concatenation at stage 1).
[[nodiscard]] constexpr unsigned stage1_start_level(unsigned va_bits) {
  return va_bits > 39 ? 0 : (va_bits > 30 ? 1 : 2);
}

}  // namespace lamina::mm
