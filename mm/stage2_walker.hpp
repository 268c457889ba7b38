// The one stage-2 table walker (the shape of Linux's kvm_pgtable_walk in
// arch/arm64/kvm/hyp/pgtable.c): it visits every entry that translates part
// of [start, end), calling a visitor
//   - TABLE_PRE  on a table entry, before descending into it,
//   - LEAF       on a block, a page or an invalid entry,
//   - TABLE_POST on a table entry, after its subtree was walked.
// map, unmap, protect, lookup and destroy (mm/stage2.cpp) are visitors over it.
//
// Re-reading rules, which the visitors rely on:
//   - After TABLE_PRE the entry is read again: if it is no longer a table,
//     it is handed to LEAF (when requested) like any other non-table entry.
//   - After LEAF the entry is read again: if the visitor turned it into a
//     table (a fresh table, or a block split into one), the walker descends
//     into it. That is how map builds the path to a page and how a split
//     block is then changed piecewise.
//   - A visitor may answer kSkip: the walker neither calls LEAF nor
//     descends (a table replaced by a block whose store is deferred, or a
//     whole subtree detached at once).
//   - TABLE_POST also runs while an error unwinds (entry.unwinding): that is
//     where an operation that failed half-way frees the tables it left empty.
//     Its own error is then ignored and the first error is returned.
//
// Index math (4K granule, DDI 0487 K.a D8.2.7 "The VMSAv8-64 translation
// table format"): an entry at level L translates 2^shift(L) bytes with
// shift(L) = 12 + 9 * (3 - L). A non-root table has 512 entries; the root
// (start level S) has 2^(ipa_bits - shift(S)) entries, spread over
// `concatenated_tables` contiguous pages, 512 per page (D8.2.7, concatenated
// translation tables for the initial lookup).
//
// Cost (it runs on every stage-2 fault-in): the visits asked for and the
// level are template arguments, and each level's loop is inlined into the
// one above, so a whole walk is one function per visitor -- no call, frame
// or stack-protector check per level, every shift and entry size a
// constant, and level 3 without a descent. Visitors keep their common case
// small and inline too (see MapVisitor in mm/stage2.cpp). The price is code
// size: one copy of the loop per level a walk can start at, per visitor.
//
// Host-testable: no arch access. Slots are read with relaxed atomic loads
// (every write goes through s2ops::store_descriptor, under the address
// space's lock). tests/unit/mm/stage2_walker_test.cpp pins the visit order
// and the rules above.
#pragma once

#include <cstdint>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"
#include "mm/stage2.hpp"
#include "mm/stage2_desc.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::mm {

inline constexpr uint64_t kS2EntriesPerTable = 512;

// Which visits a walk asks for.
enum S2WalkFlags : unsigned {
  kS2WalkLeaf = 1u << 0,
  kS2WalkTablePre = 1u << 1,
  kS2WalkTablePost = 1u << 2,
};

enum class S2Visit : uint8_t { kLeaf, kTablePre, kTablePost };

// A visitor's answer.
enum class S2WalkNext : uint8_t {
  kContinue,  // go on as the re-read entry says (descend into a table)
  kSkip,      // do not call LEAF for, or descend into, this entry
};

// The entry at `ipa` (aligned to its size), `level` lies wholly inside [start, end).
[[nodiscard]] inline bool s2_entry_inside(uint64_t ipa, unsigned level, uint64_t start, uint64_t end) {
  return ipa >= start && ipa + s2_entry_size(level) <= end;
}

// The entry being visited.
struct S2WalkEntry {
  uint64_t* slot = nullptr;
  uint64_t old = 0;    // the descriptor as read just before this visit
  uint64_t ipa = 0;    // first IPA the entry translates (aligned to its size)
  unsigned level = 0;
  S2Visit visit = S2Visit::kLeaf;
  bool unwinding = false;  // TABLE_POST while an error from below propagates

  [[nodiscard]] uint64_t size() const { return s2_entry_size(level); }
  [[nodiscard]] uint64_t end() const { return ipa + size(); }
  // The entry lies entirely inside [start, end).
  [[nodiscard]] bool inside(uint64_t start, uint64_t end_ipa) const { return s2_entry_inside(ipa, level, start, end_ipa); }
};

[[nodiscard]] inline uint64_t s2_load_descriptor(const uint64_t* slot) {
  return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

[[nodiscard]] constexpr unsigned s2_level_shift(unsigned level) {
  return static_cast<unsigned>(kPageShift) + 9 * (3 - level);
}

class S2Walker {
 public:
  S2Walker(const S2TableMemory& memory, const Stage2Geometry& geometry, PhysAddr root)
      : memory_(memory),
        root_(root),
        start_level_(geometry.start_level),
        root_entries_(uint64_t{1} << (geometry.ipa_bits - s2_level_shift(geometry.start_level))) {}

  // The host pointer of the table page at `pa`.
  [[nodiscard]] uint64_t* table(PhysAddr pa) const { return memory_.table(memory_.context, pa); }

  // Walks [start, end) from the root, with the visits `Flags` (S2WalkFlags)
  // asks for. The caller has checked that the range lies inside the IPA
  // space. `visitor(S2WalkEntry&)` returns Result<S2WalkNext, Error>; the
  // first error stops the walk.
  template <unsigned Flags, typename Visitor>
  [[nodiscard]] Status<Error> walk(uint64_t start, uint64_t end, Visitor& visitor) const {
    return walk_from<Flags>(root_, start_level_, root_entries_, start, end, visitor);
  }

  // Walks [start, end) inside one (possibly detached) non-root table at
  // `level`. Only the low bits of the IPAs index the table, so for a walk
  // that needs no IPAs (freeing a detached subtree) any 512-entry-aligned
  // range will do.
  template <unsigned Flags, typename Visitor>
  [[nodiscard]] Status<Error> walk_table(PhysAddr table_pa, unsigned level, uint64_t start, uint64_t end,
                                         Visitor& visitor) const {
    return walk_from<Flags>(table_pa, level, kS2EntriesPerTable, start, end, visitor);
  }

 private:
  // The level is a template argument from here on, like the visits asked
  // for: each level's shift, entry size and descriptor classification are
  // constants, level 3 (pages only, DDI 0487 K.a D8.3.1) has no descent at
  // all, and a visit not asked for costs nothing.
  template <unsigned Flags, typename Visitor>
  [[nodiscard]] Status<Error> walk_from(PhysAddr table_pa, unsigned level, uint64_t entries, uint64_t start,
                                        uint64_t end, Visitor& visitor) const {
    switch (level) {
      case 0: return walk_level<Flags, 0>(table_pa, entries, start, end, visitor);
      case 1: return walk_level<Flags, 1>(table_pa, entries, start, end, visitor);
      case 2: return walk_level<Flags, 2>(table_pa, entries, start, end, visitor);
      case 3: return walk_level<Flags, 3>(table_pa, entries, start, end, visitor);
      default: return Err{Error::kOutOfRange};  // no such level with the 4K granule
    }
  }

  // One table's entries in [start, end). always_inline: the levels below
  // are inlined into the level above, so a whole walk is one function (one
  // frame, one stack-protector check) rather than a call per level.
  template <unsigned Flags, unsigned Level, typename Visitor>
  [[nodiscard, gnu::always_inline]] Status<Error> walk_level(PhysAddr table_pa, uint64_t entries,
                                                             uint64_t start, uint64_t end,
                                                             Visitor& visitor) const {
    static_assert(Level <= 3);
    constexpr unsigned kShift = s2_level_shift(Level);
    constexpr uint64_t kEntrySize = uint64_t{1} << kShift;
    uint64_t* page = nullptr;
    uint64_t page_index = ~uint64_t{0};
    uint64_t ipa = start;
    while (ipa < end) {
      const uint64_t index = (ipa >> kShift) & (entries - 1);
      if ((index / kS2EntriesPerTable) != page_index) {
        page_index = index / kS2EntriesPerTable;
        page = table(table_pa.offset(page_index * kPageSize));
      }
      S2WalkEntry entry;
      entry.slot = &page[index % kS2EntriesPerTable];
      entry.old = s2_load_descriptor(entry.slot);
      entry.ipa = align_down(ipa, kEntrySize);
      entry.level = Level;
      const uint64_t next = entry.ipa + kEntrySize;

      bool is_table = classify(entry.old, Level) == S2DescKind::kTable;
      S2WalkNext action = S2WalkNext::kContinue;
      if (is_table && (Flags & kS2WalkTablePre) != 0) {
        entry.visit = S2Visit::kTablePre;
        action = TRY(visitor(entry));
        entry.old = s2_load_descriptor(entry.slot);
        is_table = classify(entry.old, Level) == S2DescKind::kTable;
      }
      if (action == S2WalkNext::kContinue && !is_table && (Flags & kS2WalkLeaf) != 0) {
        entry.visit = S2Visit::kLeaf;
        action = TRY(visitor(entry));
        entry.old = s2_load_descriptor(entry.slot);
        is_table = classify(entry.old, Level) == S2DescKind::kTable;
      }
      if constexpr (Level < 3) {
        if (action == S2WalkNext::kContinue && is_table) {
          const uint64_t sub_end = next < end ? next : end;
          const Status<Error> below = walk_level<Flags, Level + 1>(table_address(entry.old),
                                                                   kS2EntriesPerTable, ipa, sub_end, visitor);
          if ((Flags & kS2WalkTablePost) != 0) {
            entry.visit = S2Visit::kTablePost;
            entry.old = s2_load_descriptor(entry.slot);
            entry.unwinding = !below.ok();
            const Result<S2WalkNext, Error> post = visitor(entry);
            if (below.ok() && !post.ok()) return Err{post.error()};
          }
          if (!below.ok()) return below;
        }
      }
      ipa = next;
    }
    return Ok{};
  }

  S2TableMemory memory_;
  PhysAddr root_;
  unsigned start_level_;
  uint64_t root_entries_;
};

}  // namespace lamina::mm
