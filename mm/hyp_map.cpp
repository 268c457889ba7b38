#include "mm/hyp_map.hpp"

namespace lamina::mm {

using arch::El2Access;
using arch::MemAttrIndex;
using arch::S1Leaf;
using arch::S1Table;
using arch::Shareability;

namespace {

constexpr uint64_t kEntriesPerTable = 512;

[[nodiscard]] unsigned index_at(uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (kPageShift + 9 * (3 - level))) & (kEntriesPerTable - 1));
}

[[nodiscard]] bool is_valid(uint64_t raw) { return (raw & 1) != 0; }
// Bit 1 distinguishes table (1) from block (0) at levels 0-2; at level 3 a
// valid descriptor must have it set (page).
[[nodiscard]] bool is_table(uint64_t raw, unsigned level) { return level < 3 && (raw & 2) != 0; }

[[nodiscard]] uint64_t table_descriptor(PhysAddr next) {
  return S1Table::from_scratch()
      .with(S1Table::valid, true)
      .with(S1Table::is_table, true)
      .with(S1Table::next_level, next.value() >> kPageShift)
      .raw();
}

[[nodiscard]] PhysAddr next_table(uint64_t raw) {
  return PhysAddr(S1Table(raw).get(S1Table::next_level) << kPageShift);
}

}  // namespace

Result<HypPageTable, Error> HypPageTable::create(PageTableMemory memory, unsigned va_bits) {
  if (va_bits < 32 || va_bits > arch::kMaxTranslatedAddressBits) return Err{Error::kOutOfRange};
  const PhysAddr root = TRY(memory.alloc(memory.context));
  return HypPageTable(memory, va_bits, stage1_start_level(va_bits), root);
}

S1Leaf HypPageTable::leaf_descriptor(PhysAddr pa, HypMapAttrs attrs, unsigned level) {
  const bool device = attrs.type == HypMemType::kDevice;
  return S1Leaf::from_scratch()
      .with(S1Leaf::valid, true)
      .with(S1Leaf::is_page_or_table, level == 3)
      .with(S1Leaf::attr_index, device ? MemAttrIndex::kDeviceNgnre : MemAttrIndex::kNormalWriteBack)
      .with(S1Leaf::ap, attrs.writable ? El2Access::kReadWrite : El2Access::kReadOnly)
      // Shareability is ignored for Device memory (always outer shareable).
      .with(S1Leaf::sh, device ? Shareability::kOuterShareable : Shareability::kInnerShareable)
      .with(S1Leaf::af, true)
      .with(S1Leaf::output_address, pa.value() >> kPageShift)
      .with(S1Leaf::xn, !attrs.executable);
}

Status<Error> HypPageTable::map(VirtAddr va, PhysAddr pa, uint64_t size, HypMapAttrs attrs,
                                Overlap overlap) {
  if (!va.is_aligned(kPageSize) || !pa.is_aligned(kPageSize) || !is_aligned(size, kPageSize))
    return Err{Error::kMisaligned};
  if (attrs.writable && attrs.executable) return Err{Error::kWriteAndExecute};
  if (attrs.type == HypMemType::kDevice && attrs.executable) return Err{Error::kExecuteDevice};
  uint64_t va_end = 0;
  uint64_t pa_end = 0;
  if (!checked_add(va.value(), size, &va_end) || !checked_add(pa.value(), size, &pa_end))
    return Err{Error::kOutOfRange};
  if (va_end > (uint64_t{1} << va_bits_) || pa_end > (uint64_t{1} << arch::kMaxTranslatedAddressBits)) return Err{Error::kOutOfRange};
  if (size == 0) return Ok{};
  return map_level(root_, start_level_, va.value(), pa.value(), size, attrs, overlap);
}

Status<Error> HypPageTable::map_level(PhysAddr table_pa, unsigned level, uint64_t va, uint64_t pa,
                                      uint64_t size, HypMapAttrs attrs, Overlap overlap) {
  uint64_t* table = memory_.table(memory_.context, table_pa);
  const uint64_t entry_size = level_entry_size(level);
  while (size > 0) {
    const uint64_t entry_end = align_down(va, entry_size) + entry_size;
    const uint64_t chunk = (entry_end - va < size) ? entry_end - va : size;
    uint64_t& entry = table[index_at(va, level)];

    // Blocks exist at levels 1 and 2, pages at level 3 (4K granule).
    const bool whole_entry = chunk == entry_size && is_aligned(pa, entry_size);
    if (level == 3 || (level >= 1 && whole_entry && !is_valid(entry))) {
      if (is_valid(entry)) {
        if (overlap == Overlap::kFail) return Err{Error::kAlreadyMapped};
      } else {
        entry = leaf_descriptor(PhysAddr(pa), attrs, level).raw();
      }
    } else if (is_valid(entry) && !is_table(entry, level)) {
      // An existing block covers this chunk.
      if (overlap == Overlap::kFail) return Err{Error::kAlreadyMapped};
    } else {
      if (!is_valid(entry)) {
        const PhysAddr next = TRY(memory_.alloc(memory_.context));
        ++tables_allocated_;
        entry = table_descriptor(next);
      }
      TRY(map_level(next_table(entry), level + 1, va, pa, chunk, attrs, overlap));
    }
    va += chunk;
    pa += chunk;
    size -= chunk;
  }
  return Ok{};
}

Result<HypLeaf, Error> HypPageTable::lookup(VirtAddr va) const {
  if (va.value() >= (uint64_t{1} << va_bits_)) return Err{Error::kOutOfRange};
  PhysAddr table_pa = root_;
  for (unsigned level = start_level_; level <= 3; ++level) {
    const uint64_t raw = memory_.table(memory_.context, table_pa)[index_at(va.value(), level)];
    if (!is_valid(raw)) return Err{Error::kOutOfRange};
    if (is_table(raw, level)) {
      table_pa = next_table(raw);
      continue;
    }
    const S1Leaf leaf(raw);
    const uint64_t base = leaf.get(S1Leaf::output_address) << kPageShift;
    const uint64_t offset = va.value() & (level_entry_size(level) - 1);
    return HypLeaf{leaf, level, PhysAddr(align_down(base, level_entry_size(level)) + offset)};
  }
  return Err{Error::kOutOfRange};
}

}  // namespace lamina::mm
