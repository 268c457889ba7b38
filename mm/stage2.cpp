// A VM's stage-2 address space: map, unmap, protect, lookup and destroy, each
// a visitor over the one walker (mm/stage2_walker.hpp), every descriptor made
// by the one codec (mm/stage2_desc), every store and TLB operation through the
// link-time hooks of mm/stage2_arch_ops.hpp.
//
// Break-before-make (DDI 0487 K.a D8.16.1 "Using break-before-make when
// updating translation table entries"). A valid entry whose output address,
// size (block <-> table, or a different table) or memory type
// (MemAttr, shareability, contiguous hint) changes is replaced in three steps:
//   1. break:  store an invalid entry, queue its TLB invalidation;
//   2. the batch is flushed: DSB ISHST, TLBI by IPA (or the whole VMID),
//      DSB ISH, TLBI VMALLE1IS, DSB ISH, ISB (s2ops, arch/tlbi.hpp);
//   3. make:   store the new entry.
// Only a change of permissions (S2AP, XN) or software bits is written in
// place; its invalidation is queued like any other and done before the
// operation returns.
//
// Batching. One operation collects its invalidations in a Batch: up to
// kMaxBatchedInvalidations (ipa, level, last-level) triples, beyond that one
// invalidation of the whole VMID. A "make" that must wait for its break's
// invalidation is deferred into the batch too (up to kMaxDeferredMakes at
// once), so replacing N mappings costs N/kMaxDeferredMakes TLB sequences, not
// N. The batch is flushed when the operation ends, when a queue is full, and
// when a block is split (the walker must descend into the new table at once,
// so the split's make cannot wait).
//
// Freeing tables. A subtree is detached by breaking the table entry that
// points at it and queuing invalidations for its whole range: a TLBI by IPA
// drops only what translates that IPA, so that is one non-last-level TLBI
// per table entry (walk caches) and one per valid leaf in the subtree, which
// for any subtree with more than kMaxBatchedInvalidations of them overflows
// into one invalidation of the whole VMID. Its pages are freed only after that
// invalidation has completed: until then another CPU's walker may hold the
// old table descriptor in a TLB walk cache (or be half-way through a walk)
// and keep reading the page; freeing it earlier would let the page's next
// owner's data be walked as descriptors. A non-root table that becomes empty
// (unmap, or a map that failed half-way) is detached the same way, in
// TABLE_POST; an unmap that covers a whole table entry detaches the subtree
// in TABLE_PRE without touching the leaves one by one.
//
// The contiguous hint (bit 52; DDI 0487 K.a D8.7.1 "The Contiguous bit").
// lamina uses it at levels 2 (16 x 2 MiB = 32 MiB) and 3 (16 x 4 KiB =
// 64 KiB), not at level 1 (s2_contiguous_level()). Invariant: an entry with
// the hint is one of a whole run -- 16 valid leaves of one table, the run's
// IPA and output aligned to 16 x the entry size, outputs contiguous, the same
// attributes, all with the hint -- because a TLB may hold one entry for the
// whole run.
//  - Setting it: map() writes the hint on every entry of each aligned run
//    that lies wholly inside its range with a suitably aligned output, all 16
//    handled at the run's first entry (map_run()): entries already equal are
//    left alone (mapping a run again is a no-op); otherwise every valid entry
//    of the run is broken (leaf or table) and the 16 hinted entries are made
//    after that invalidation completed, so a hinted entry never sits next to
//    a valid entry that is not part of the new run. A block split (by any
//    operation) fills its new, still unreachable, table with the hint on the
//    runs that keep one mapping; protect() keeps it on a run it covers whole.
//  - Changing any entry of a run (unmap, protect, map over part of it, the
//    split of a block that is part of it) first breaks the whole run
//    (break_run()): all 16 entries invalid, a TLBI for each (or the VMID),
//    completion (a flush), and only then the remaining entries are written
//    again: without the hint, unless the operation leaves the run whole and
//    uniform (protect() of all of it). A change that leaves an entry as it is
//    but for the hint (map over part of a run with the same mapping) changes
//    nothing. A change of the hint alone is a change of size: break first.
//
// Locking: one SpinLock per address space, taken by every public operation
// but init() (which runs before the address space is shared). Re-entry from
// the CPU that already holds it (a hypervisor bug: e.g. a fault taken while
// holding it) cannot wait, so the operation fails with kLockReentered
// (below) and changes nothing; destroy(), which cannot fail, traps.
#include "mm/stage2.hpp"

#include <cstdint>

#include "mm/stage2_arch_ops.hpp"
#include "mm/stage2_walker.hpp"

namespace lamina::mm {

namespace {

// Bit 0 clear: invalid at every level (DDI 0487 K.a D8.3.1).
constexpr uint64_t kInvalidDescriptor = 0;
constexpr unsigned kMaxDeferredMakes = kMaxBatchedInvalidations;
constexpr unsigned kMaxDeferredFrees = 32;

// A CPU calling in while it already holds the lock (e.g. from a fault taken
// inside an operation) gets kBusy and changes nothing.
constexpr Error kLockReentered = Error::kBusy;

// Codec errors as mm errors.
[[nodiscard]] Error from_codec(CodecError e) {
  switch (e) {
    case CodecError::kExecutableDevice: return Error::kExecuteDevice;
    case CodecError::kMisaligned: return Error::kMisaligned;
    case CodecError::kOutputOutOfRange: return Error::kOutOfRange;
    case CodecError::kExecSplitUnsupported:
    case CodecError::kSoftwareBitsTooWide:
    case CodecError::kBadShareability: return Error::kBadAttributes;
    case CodecError::kBadLevel:
    case CodecError::kNotALeaf:
    case CodecError::kUnknownMemAttr: return Error::kOutOfRange;
  }
  return Error::kOutOfRange;
}

[[nodiscard]] Result<uint64_t, Error> encode(PhysAddr output, unsigned level, const S2Attrs& attrs,
                                             S2CodecConfig codec, bool contiguous = false) {
  const auto leaf = encode_leaf(output, level, attrs, codec, S2LeafOptions{contiguous});
  if (!leaf.ok()) return Err{from_codec(leaf.error())};
  return leaf.value().raw();
}

[[nodiscard]] Result<S2DecodedLeaf, Error> decode(uint64_t raw, unsigned level, S2CodecConfig codec) {
  const auto leaf = decode_leaf(raw, level, codec);
  if (!leaf.ok()) return Err{from_codec(leaf.error())};
  return leaf.value();
}

[[nodiscard]] bool is_valid(uint64_t raw, unsigned level) { return classify(raw, level) != S2DescKind::kInvalid; }

// Whether a valid leaf `old` becoming a leaf with `output`, `attrs`
// (canonical, as decode_leaf() returns them) and the hint `contiguous` needs
// break-before-make: a different output address, memory type or
// shareability (DDI 0487 K.a D8.16.1 lists memory type, Shareability,
// Cacheability, output address and block size), or a change of the
// contiguous hint (of the size the TLB may cache the entry at). Permissions
// and software bits alone do not. A change between table and block always
// does (split_block(), detach_subtree()). Entries of a hinted run never get
// here: break_run() takes the whole run down first.
[[nodiscard]] bool leaf_change_needs_break(const S2DecodedLeaf& old, PhysAddr output, const S2Attrs& attrs,
                                           bool contiguous) {
  return old.output != output || old.attrs.kind != attrs.kind || old.attrs.shareability != attrs.shareability ||
         old.contiguous != contiguous;
}

// The first IPA of the contiguous run holding the entry at `ipa`, `level`.
[[nodiscard]] uint64_t run_base(uint64_t ipa, unsigned level) {
  return align_down(ipa, s2_contiguous_size(level));
}
// The run of the entry at `ipa`, `level` lies wholly inside [start, end).
[[nodiscard]] bool run_inside(uint64_t ipa, unsigned level, uint64_t start, uint64_t end) {
  if (!s2_contiguous_level(level)) return false;
  const uint64_t base = run_base(ipa, level);
  return base >= start && base + s2_contiguous_size(level) <= end;
}
// The run of the entry at `ipa`, `level` lies wholly outside [start, end).
[[nodiscard]] bool run_outside(uint64_t ipa, unsigned level, uint64_t start, uint64_t end) {
  if (!s2_contiguous_level(level)) return false;
  const uint64_t base = run_base(ipa, level);
  return base + s2_contiguous_size(level) <= start || base >= end;
}

[[nodiscard]] Status<Error> check_ipa_range(uint64_t ipa, uint64_t size, unsigned ipa_bits) {
  if (!is_aligned(ipa, kPageSize) || !is_aligned(size, kPageSize)) return Err{Error::kMisaligned};
  uint64_t end = 0;
  if (!checked_add(ipa, size, &end) || end > (uint64_t{1} << ipa_bits)) return Err{Error::kOutOfRange};
  return Ok{};
}

}  // namespace

// The per-VM lock for one operation (see the file comment on re-entry).
class Stage2::Guard : public SpinLockGuard {
 public:
  explicit Guard(SpinLock& lock) : SpinLockGuard(lock, s2ops::current_cpu()) {}
};

struct Stage2::Impl {
  [[nodiscard]] static S2Walker walker(const Stage2& s2) {
    return S2Walker(s2.memory_, s2.config_.geometry, s2.root_);
  }
  [[nodiscard]] static Result<PhysAddr, Error> alloc_table(Stage2& s2);
  static void free_table(Stage2& s2, PhysAddr table);
  static void free_subtree(Stage2& s2, PhysAddr table, unsigned level);
  static void replace_leaf(Batch& batch, const S2WalkEntry& entry, uint64_t new_leaf, bool break_needed);
  template <typename Remake>
  [[nodiscard]] static Result<uint64_t, Error> break_run(Stage2& s2, Batch& batch, const S2WalkEntry& entry,
                                                         const Remake& remake);
  static void detach_subtree(Stage2& s2, Batch& batch, const S2WalkEntry& entry, bool known_empty = false);
  static void free_if_empty(Stage2& s2, Batch& batch, const S2WalkEntry& entry);
  template <typename Fill>
  [[nodiscard]] static Status<Error> split_block(Stage2& s2, Batch& batch, const S2WalkEntry& entry, Fill& fill);

  struct InvalidationCollector;
  struct SubtreeFreer;
  struct MapVisitor;
  struct UnmapVisitor;
  struct ProtectVisitor;
  struct LookupVisitor;
  struct DestroyVisitor;
};

// One operation's TLB maintenance, deferred makes and deferred frees.
// flush() is the only place TLBIs are issued, and it runs them in the
// order every caller needs: publish the breaks, invalidate (inside
// enter_vmid/exit_vmid, since TLBI acts on the loaded VMID), then the
// deferred makes, then the deferred frees.
class Stage2::Batch {
 public:
  explicit Batch(Stage2& s2) : s2_(s2) {}
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void store(uint64_t* slot, uint64_t value) {
    s2ops::store_descriptor(slot, value);
    unpublished_ = true;
  }

  // Queues TLBI IPAS2(L)E1IS for the entry at `level` translating `ipa`;
  // past kMaxBatchedInvalidations the whole VMID is invalidated instead.
  void invalidate(uint64_t ipa, unsigned level, bool last_level) {
    if (whole_vmid_) return;
    if (invalidation_count_ == kMaxBatchedInvalidations) {
      whole_vmid_ = true;
      return;
    }
    invalidations_[invalidation_count_++] = ipa | (uint64_t{level} << 1) | (last_level ? 1u : 0u);
  }

  // Every flush invalidates the whole VMID (destroy()).
  void always_invalidate_whole_vmid() {
    whole_vmid_ = true;
    sticky_whole_vmid_ = true;
  }
  [[nodiscard]] bool whole_vmid() const { return whole_vmid_; }

  // Stores `value` into `slot` after the pending invalidations completed.
  void defer_make(uint64_t* slot, uint64_t value) {
    if (make_count_ == kMaxDeferredMakes) flush();
    makes_[make_count_++] = Make{slot, value};
  }

  // Frees the detached subtree at `table` (a table of `level`) after the
  // pending invalidations completed.
  // `empty`: the table holds no valid entry, so freeing it needs no walk.
  void defer_free(PhysAddr table, unsigned level, bool empty) {
    if (free_count_ == kMaxDeferredFrees) flush();
    frees_[free_count_++] = table.value() | level | (empty ? kFreeEmptyFlag : 0);
  }

  // A deferred make targets the table page at `table` (so its invalid
  // entries are not all empty).
  [[nodiscard]] bool make_pending_in(const uint64_t* table) const {
    for (unsigned i = 0; i < make_count_; ++i)
      if (makes_[i].slot >= table && makes_[i].slot < table + kS2EntriesPerTable) return true;
    return false;
  }

  void flush() {
    // A batch that only made invalid entries valid (the common end of a
    // fault-in's map) needs nothing but the publish: the TLB holds no
    // invalid entries, so there is nothing to invalidate (see replace_leaf()).
    if (invalidation_count_ == 0 && !whole_vmid_ && make_count_ == 0 && free_count_ == 0) {
      publish();
      return;
    }
    flush_all();
  }

 private:
  void publish() {
    if (unpublished_) {
      s2ops::publish_descriptors();
      unpublished_ = false;
    }
  }

  void flush_all() {
    publish();
    if (whole_vmid_ || invalidation_count_ != 0) {
      const uint64_t previous = s2ops::enter_vmid(s2_.vttbr().raw());
      if (whole_vmid_) {
        s2ops::invalidate_vmid();
      } else {
        for (unsigned i = 0; i < invalidation_count_; ++i) {
          const uint64_t v = invalidations_[i];
          s2ops::invalidate_ipa(IntermediatePhysAddr(align_down(v, kPageSize)),
                                static_cast<unsigned>((v >> 1) & 0x7), (v & 1) != 0);
        }
        s2ops::complete_ipa_invalidation();
      }
      s2ops::exit_vmid(previous);
      invalidation_count_ = 0;
      whole_vmid_ = sticky_whole_vmid_;
    }
    if (make_count_ != 0) {
      for (unsigned i = 0; i < make_count_; ++i) s2ops::store_descriptor(makes_[i].slot, makes_[i].value);
      make_count_ = 0;
      s2ops::publish_descriptors();
    }
    for (unsigned i = 0; i < free_count_; ++i) {
      const PhysAddr table(align_down(frees_[i], kPageSize));
      if ((frees_[i] & kFreeEmptyFlag) != 0) Impl::free_table(s2_, table);
      else Impl::free_subtree(s2_, table, static_cast<unsigned>(frees_[i] & kFreeLevelMask));
    }
    free_count_ = 0;
  }

  struct Make {
    uint64_t* slot;
    uint64_t value;
  };

  Stage2& s2_;
  uint64_t invalidations_[kMaxBatchedInvalidations];  // ipa | level << 1 | last_level
  unsigned invalidation_count_ = 0;
  bool whole_vmid_ = false;
  bool sticky_whole_vmid_ = false;
  bool unpublished_ = false;
  Make makes_[kMaxDeferredMakes];
  unsigned make_count_ = 0;
  static constexpr uint64_t kFreeLevelMask = 0x3;
  static constexpr uint64_t kFreeEmptyFlag = 0x8;
  uint64_t frees_[kMaxDeferredFrees];  // table PA | level | kFreeEmptyFlag
  unsigned free_count_ = 0;
};

// --- helpers ----------------------------------------------------------------

Result<PhysAddr, Error> Stage2::Impl::alloc_table(Stage2& s2) {
  const PhysAddr table = TRY(s2.memory_.alloc(s2.memory_.context, 1));
  ++s2.table_pages_;
  return table;
}

void Stage2::Impl::free_table(Stage2& s2, PhysAddr table) {
  s2.memory_.free(s2.memory_.context, table, 1);
  --s2.table_pages_;
}

// Frees the tables below each table entry, children first.
struct Stage2::Impl::SubtreeFreer {
  Stage2& s2;
  Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    free_table(s2, table_address(entry.old));
    return S2WalkNext::kContinue;
  }
};

// Called only once the invalidation that detached `table` has completed;
// nothing reaches the subtree any more, so nothing is stored into it.
void Stage2::Impl::free_subtree(Stage2& s2, PhysAddr table, unsigned level) {
  SubtreeFreer freer{s2};
  // The IPAs only index the table (see S2Walker::walk_table), so walk it from 0.
  (void)walker(s2).walk_table<kS2WalkTablePost>(table, level, 0, kS2EntriesPerTable * s2_entry_size(level), freer);
  free_table(s2, table);
}

// Replaces the leaf or invalid entry `entry` by the leaf `new_leaf`;
// `break_needed` says whether a valid old leaf must be broken first
// (leaf_change_needs_break()).
void Stage2::Impl::replace_leaf(Batch& batch, const S2WalkEntry& entry, uint64_t new_leaf, bool break_needed) {
  if (entry.old == new_leaf) return;
  if (!is_valid(entry.old, entry.level)) {
    // Nothing cached for an invalid entry (the TLB holds no invalid
    // entries): storing is enough; the batch publishes it.
    batch.store(entry.slot, new_leaf);
    return;
  }
  if (break_needed) {
    batch.store(entry.slot, kInvalidDescriptor);
    batch.invalidate(entry.ipa, entry.level, true);
    batch.defer_make(entry.slot, new_leaf);
    return;
  }
  // Permissions only: in place, invalidated before the operation returns.
  batch.store(entry.slot, new_leaf);
  batch.invalidate(entry.ipa, entry.level, true);
}

// Takes down the whole contiguous run holding `entry` (a valid leaf with the
// hint; see the file comment), prepare/commit:
//  prepare: for each valid entry of the run, `remake(ipa, level, old, whole)`
//           gives the value to write once the run is down (kInvalidDescriptor
//           for none); `whole` says the run was whole and hinted, as the
//           invariant demands. Errors return before anything changed.
//  break:   every valid entry invalid, a TLBI for each, completed (flush);
//  make:    the remade values.
// Returns the value now in `entry`'s slot.
template <typename Remake>
Result<uint64_t, Error> Stage2::Impl::break_run(Stage2& s2, Batch& batch, const S2WalkEntry& entry,
                                               const Remake& remake) {
  const S2CodecConfig codec = s2.config_.codec;
  const unsigned level = entry.level;
  const uint64_t size = s2_entry_size(level);
  const uint64_t index = (entry.ipa / size) % kS2ContiguousEntries;
  uint64_t* const first = entry.slot - index;
  const uint64_t base = entry.ipa - index * size;
  uint64_t old[kS2ContiguousEntries];
  uint64_t made[kS2ContiguousEntries];
  bool whole = true;
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) {
    old[i] = s2_load_descriptor(&first[i]);
    whole = whole && has_contiguous_hint(old[i], level);
  }
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) {
    made[i] = kInvalidDescriptor;
    if (!is_valid(old[i], level)) continue;
    if (classify(old[i], level) == S2DescKind::kTable) return Err{Error::kOutOfRange};  // not a run: a bug
    made[i] = TRY(remake(base + i * size, level, TRY(decode(old[i], level, codec)), whole));
  }
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) {
    if (!is_valid(old[i], level)) continue;
    batch.store(&first[i], kInvalidDescriptor);
    batch.invalidate(base + i * size, level, true);
  }
  batch.flush();
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i)
    if (made[i] != kInvalidDescriptor) batch.store(&first[i], made[i]);
  return made[index];
}

// Queues the invalidations of a detached subtree: the walk-cache entries of
// every table entry (non-last-level TLBI) and the TLB entries of every valid
// leaf (each caches only its own IPA range). Stops looking once the batch
// has fallen back to invalidating the whole VMID.
struct Stage2::Impl::InvalidationCollector {
  Batch& batch;
  Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    if (batch.whole_vmid()) return S2WalkNext::kSkip;
    if (entry.visit == S2Visit::kTablePre) batch.invalidate(entry.ipa, entry.level, false);
    else if (is_valid(entry.old, entry.level)) batch.invalidate(entry.ipa, entry.level, true);
    return S2WalkNext::kContinue;
  }
};

// Breaks the table entry `entry` (a valid table) and frees its subtree once
// the invalidation completed (see the file comment).
void Stage2::Impl::detach_subtree(Stage2& s2, Batch& batch, const S2WalkEntry& entry, bool known_empty) {
  const PhysAddr child = table_address(entry.old);
  batch.store(entry.slot, kInvalidDescriptor);
  batch.invalidate(entry.ipa, entry.level, false);
  // An empty table has no leaves whose translations could be cached: only
  // the walk-cache entry for the table descriptor itself (invalidated above).
  if (!known_empty && !batch.whole_vmid()) {
    InvalidationCollector collector{batch};
    (void)walker(s2).walk_table<kS2WalkLeaf | kS2WalkTablePre>(child, entry.level + 1, entry.ipa, entry.end(),
                                                               collector);
  }
  batch.defer_free(child, entry.level + 1, known_empty);
}

// TABLE_POST: a non-root table whose 512 entries are all invalid (and none
// waiting for a deferred make) is detached and freed.
void Stage2::Impl::free_if_empty(Stage2& s2, Batch& batch, const S2WalkEntry& entry) {
  if (classify(entry.old, entry.level) != S2DescKind::kTable) return;
  const uint64_t* child = walker(s2).table(table_address(entry.old));
  if (batch.make_pending_in(child)) return;
  for (uint64_t i = 0; i < kS2EntriesPerTable; ++i)
    if (is_valid(s2_load_descriptor(&child[i]), entry.level + 1)) return;
  detach_subtree(s2, batch, entry, /*known_empty=*/true);
}

// Splits the block `entry` into a table of the next level (prepare/commit):
//  prepare: allocate the table and fill it, unreachable, with what each
//           sub-entry should hold: `fill(sub_ipa, sub_level, sub_output,
//           block_attrs)` returns the final descriptor (the block's own
//           piece is encode(sub_output, sub_level, block_attrs)); on
//           kNoMemory nothing changed;
//  break:   invalid entry, TLBI for the block, completed (flush);
//  make:    the table descriptor (a release store: the fill is visible first).
template <typename Fill>
Status<Error> Stage2::Impl::split_block(Stage2& s2, Batch& batch, const S2WalkEntry& entry, Fill& fill) {
  const S2CodecConfig codec = s2.config_.codec;
  const S2DecodedLeaf block = TRY(decode(entry.old, entry.level, codec));
  const PhysAddr table_pa = TRY(alloc_table(s2));
  uint64_t* table = walker(s2).table(table_pa);
  const unsigned sub_level = entry.level + 1;
  const uint64_t sub_size = s2_entry_size(sub_level);
  for (uint64_t i = 0; i < kS2EntriesPerTable; ++i) {
    const Result<uint64_t, Error> value =
        fill(entry.ipa + i * sub_size, sub_level, block.output.offset(i * sub_size), block.attrs);
    if (!value.ok()) {
      free_table(s2, table_pa);
      return Err{value.error()};
    }
    if (value.value() != kInvalidDescriptor) s2ops::store_descriptor(&table[i], value.value());
  }
  batch.store(entry.slot, kInvalidDescriptor);
  batch.invalidate(entry.ipa, entry.level, true);
  batch.flush();
  batch.store(entry.slot, encode_table(table_pa).raw());
  return Ok{};
}

// --- visitors ---------------------------------------------------------------

struct Stage2::Impl::MapVisitor {
  Stage2& s2;
  Batch& batch;
  uint64_t start;
  uint64_t end;
  uint64_t pa;
  const S2Attrs& requested;      // the attributes, as map() was given them
  S2LeafTemplate leaf_template;  // the attributes, checked and encoded once (map())

  [[nodiscard]] S2Attrs attrs() const { return canonical_s2_attrs(requested); }  // as decode() reads them back
  [[nodiscard]] PhysAddr output_for(uint64_t ipa) const { return PhysAddr(pa + (ipa - start)); }
  // The largest leaf that fits: the entry lies inside the range and its
  // output is aligned to its size; blocks at levels 1 and 2, pages at 3.
  [[nodiscard]] bool leaf_fits(uint64_t ipa, unsigned level) const {
    const uint64_t size = s2_entry_size(level);
    return level >= 1 && ipa >= start && ipa + size <= end && output_for(ipa).is_aligned(size);
  }
  // The entry's whole contiguous run gets leaves of this level with the
  // hint: the run lies inside the range and its output is aligned to the
  // run's size.
  [[nodiscard]] bool run_fits(uint64_t ipa, unsigned level) const {
    return run_inside(ipa, level, start, end) &&
           output_for(run_base(ipa, level)).is_aligned(s2_contiguous_size(level));
  }
  // The new leaf for the entry at `ipa`, `level`, where leaf_fits() (or the
  // entry's run fits): that is S2LeafTemplate::leaf()'s precondition, with
  // map() having checked that every output lies below 2^48.
  [[nodiscard]] uint64_t leaf_for(uint64_t ipa, unsigned level) const {
    return leaf_template.leaf(output_for(ipa), level, run_fits(ipa, level));
  }

  // Split fill: the range's own leaves, else the block's piece, with the
  // hint on runs that keep the block's mapping whole.
  Result<uint64_t, Error> operator()(uint64_t sub_ipa, unsigned sub_level, PhysAddr sub_output,
                                     const S2Attrs& block_attrs) const {
    if (leaf_fits(sub_ipa, sub_level)) return leaf_for(sub_ipa, sub_level);
    return encode(sub_output, sub_level, block_attrs, s2.config_.codec, run_outside(sub_ipa, sub_level, start, end));
  }

  // break_run(): entries of the range get their new leaf (without the hint:
  // this run does not fit, or map_run() would handle it), the others their
  // old mapping without the hint.
  [[nodiscard]] Result<uint64_t, Error> remake(uint64_t ipa, unsigned level, const S2DecodedLeaf& old,
                                               bool /*whole*/) const {
    if (leaf_fits(ipa, level)) return leaf_for(ipa, level);
    return encode(old.output, level, old.attrs, s2.config_.codec);
  }

  void map_run(const S2WalkEntry& entry);
  [[nodiscard]] Result<S2WalkNext, Error> visit_table_pre(const S2WalkEntry& entry);
  [[nodiscard]] Result<S2WalkNext, Error> visit_leaf(const S2WalkEntry& entry);

  // The walker's visits, inlined into it (always_inline: the walker calls
  // this at three places per level, and the switch on entry.visit folds
  // away at each), so the common fault-in steps are decided without a call:
  // passing through a table no leaf replaces (TABLE_PRE), a new leaf in an
  // invalid entry outside any run (LEAF), a table after a successful walk
  // below (TABLE_POST). Everything else goes to visit_table_pre() and
  // visit_leaf().
  [[gnu::always_inline]] Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    switch (entry.visit) {
      case S2Visit::kTablePre:
        if (!leaf_fits(entry.ipa, entry.level)) return S2WalkNext::kContinue;
        return visit_table_pre(entry);
      case S2Visit::kLeaf:
        if (!is_valid(entry.old, entry.level) && leaf_fits(entry.ipa, entry.level) &&
            !run_fits(entry.ipa, entry.level)) {
          // Nothing cached for an invalid entry (the TLB holds no invalid
          // entries): storing is enough, as in replace_leaf(); the batch
          // publishes it.
          batch.store(entry.slot, leaf_for(entry.ipa, entry.level));
          return S2WalkNext::kContinue;
        }
        return visit_leaf(entry);
      case S2Visit::kTablePost:
        // Only a map that failed below can leave a table empty: when the walk
        // below succeeded, every entry it visited ended up valid (a leaf, a
        // table, or a make deferred in the batch), so a successful map does
        // not look (that was a call and a scan of the table at every level
        // of every fault-in).
        if (entry.unwinding) free_if_empty(s2, batch, entry);
        return S2WalkNext::kContinue;
    }
    return S2WalkNext::kContinue;
  }
};

// The run whose first entry is `entry` (run_fits()): all 16 hinted leaves
// at once (see the file comment).
void Stage2::Impl::MapVisitor::map_run(const S2WalkEntry& entry) {
  const unsigned level = entry.level;
  const uint64_t size = s2_entry_size(level);
  uint64_t made[kS2ContiguousEntries];
  bool unchanged = true;
  bool any_valid = false;
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) {
    made[i] = leaf_for(entry.ipa + i * size, level);
    const uint64_t old = s2_load_descriptor(&entry.slot[i]);
    unchanged = unchanged && old == made[i];
    any_valid = any_valid || is_valid(old, level);
  }
  if (unchanged) return;
  if (!any_valid) {
    // Nothing cached for invalid entries: storing is enough.
    for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) batch.store(&entry.slot[i], made[i]);
    return;
  }
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) {
    S2WalkEntry e = entry;
    e.slot = &entry.slot[i];
    e.old = s2_load_descriptor(e.slot);
    e.ipa = entry.ipa + i * size;
    const S2DescKind kind = classify(e.old, level);
    if (kind == S2DescKind::kTable) {
      detach_subtree(s2, batch, e);
    } else if (kind != S2DescKind::kInvalid) {
      batch.store(e.slot, kInvalidDescriptor);
      batch.invalidate(e.ipa, level, true);
    }
  }
  for (uint64_t i = 0; i < kS2ContiguousEntries; ++i) batch.defer_make(&entry.slot[i], made[i]);
}

// TABLE_PRE where a leaf fits: the table is replaced by leaves.
Result<S2WalkNext, Error> Stage2::Impl::MapVisitor::visit_table_pre(const S2WalkEntry& entry) {
  if (run_fits(entry.ipa, entry.level)) {
    if (entry.ipa == run_base(entry.ipa, entry.level)) map_run(entry);
    return S2WalkNext::kSkip;  // done with the run's first entry
  }
  // A table replaced by a block: break, invalidate the whole subtree,
  // make the block once that completed, free the subtree after.
  const uint64_t block = leaf_for(entry.ipa, entry.level);
  detach_subtree(s2, batch, entry);
  batch.defer_make(entry.slot, block);
  return S2WalkNext::kSkip;
}

// LEAF, all but a new leaf in an invalid entry (operator()).
Result<S2WalkNext, Error> Stage2::Impl::MapVisitor::visit_leaf(const S2WalkEntry& entry) {
  const auto remake_fn = [this](uint64_t ipa, unsigned level, const S2DecodedLeaf& old, bool whole) {
    return remake(ipa, level, old, whole);
  };
  if (leaf_fits(entry.ipa, entry.level)) {
    if (run_fits(entry.ipa, entry.level)) {
      if (entry.ipa == run_base(entry.ipa, entry.level)) map_run(entry);
      return S2WalkNext::kContinue;  // done with the run's first entry
    }
    const uint64_t leaf = leaf_for(entry.ipa, entry.level);
    if (leaf == entry.old) return S2WalkNext::kContinue;
    S2WalkEntry e = entry;
    if (has_contiguous_hint(e.old, e.level)) {
      // The same mapping but for the hint: the run stays whole.
      const S2DecodedLeaf old = TRY(decode(e.old, e.level, s2.config_.codec));
      if (TRY(encode(old.output, e.level, old.attrs, s2.config_.codec)) == leaf) return S2WalkNext::kContinue;
      e.old = TRY(break_run(s2, batch, e, remake_fn));
      if (leaf == e.old) return S2WalkNext::kContinue;
    }
    bool break_needed = false;
    if (is_valid(e.old, e.level)) {
      const auto old = decode(e.old, e.level, s2.config_.codec);
      break_needed = !old.ok() || leaf_change_needs_break(old.value(), output_for(e.ipa), attrs(), false);
    }
    replace_leaf(batch, e, leaf, break_needed);
    return S2WalkNext::kContinue;
  }
  if (!is_valid(entry.old, entry.level)) {
    // A new (zeroed) table; the walker descends into it.
    const PhysAddr table = TRY(alloc_table(s2));
    batch.store(entry.slot, encode_table(table).raw());
    return S2WalkNext::kContinue;
  }
  S2WalkEntry e = entry;
  if (has_contiguous_hint(e.old, e.level)) e.old = TRY(break_run(s2, batch, e, remake_fn));
  TRY(split_block(s2, batch, e, *this));
  return S2WalkNext::kContinue;
}

struct Stage2::Impl::UnmapVisitor {
  Stage2& s2;
  Batch& batch;
  uint64_t start;
  uint64_t end;

  Result<uint64_t, Error> operator()(uint64_t sub_ipa, unsigned sub_level, PhysAddr sub_output,
                                     const S2Attrs& block_attrs) const {
    const bool inside = s2_entry_inside(sub_ipa, sub_level, start, end);
    if (inside) return kInvalidDescriptor;
    return encode(sub_output, sub_level, block_attrs, s2.config_.codec, run_outside(sub_ipa, sub_level, start, end));
  }

  Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    switch (entry.visit) {
      case S2Visit::kTablePre:
        if (!entry.inside(start, end)) return S2WalkNext::kContinue;
        detach_subtree(s2, batch, entry);
        return S2WalkNext::kSkip;
      case S2Visit::kLeaf: {
        if (!is_valid(entry.old, entry.level)) return S2WalkNext::kContinue;
        S2WalkEntry e = entry;
        if (has_contiguous_hint(e.old, e.level)) {
          // The run goes down whole; what stays mapped comes back without the hint.
          const auto remake = [this](uint64_t ipa, unsigned level, const S2DecodedLeaf& old,
                                     bool) -> Result<uint64_t, Error> {
            if (s2_entry_inside(ipa, level, start, end)) return kInvalidDescriptor;
            return encode(old.output, level, old.attrs, s2.config_.codec);
          };
          e.old = TRY(break_run(s2, batch, e, remake));
          if (!is_valid(e.old, e.level)) return S2WalkNext::kContinue;
        }
        if (e.inside(start, end)) {
          batch.store(e.slot, kInvalidDescriptor);
          batch.invalidate(e.ipa, e.level, true);
          return S2WalkNext::kContinue;
        }
        TRY(split_block(s2, batch, e, *this));
        return S2WalkNext::kContinue;
      }
      case S2Visit::kTablePost:
        free_if_empty(s2, batch, entry);
        return S2WalkNext::kContinue;
    }
    return S2WalkNext::kContinue;
  }
};

struct Stage2::Impl::ProtectVisitor {
  Stage2& s2;
  Batch& batch;
  uint64_t start;
  uint64_t end;
  const S2Attrs& requested;      // the new attributes, as protect() was given them
  S2LeafTemplate leaf_template;  // the new attributes, checked and encoded once (protect())

  [[nodiscard]] S2Attrs attrs() const { return canonical_s2_attrs(requested); }  // as decode() reads them back

  // Outputs handed to leaf_template.leaf() below come from decoded leaves
  // (or their pieces), so they are aligned to their entry and below 2^48.
  Result<uint64_t, Error> operator()(uint64_t sub_ipa, unsigned sub_level, PhysAddr sub_output,
                                     const S2Attrs& block_attrs) const {
    const bool inside = s2_entry_inside(sub_ipa, sub_level, start, end);
    const bool hint = run_inside(sub_ipa, sub_level, start, end) || run_outside(sub_ipa, sub_level, start, end);
    if (inside) return leaf_template.leaf(sub_output, sub_level, hint);
    return encode(sub_output, sub_level, block_attrs, s2.config_.codec, hint);
  }

  // break_run(): entries inside the range get `attrs`, keeping the hint when
  // the run was whole and lies wholly inside; the others keep their
  // attributes, without the hint.
  [[nodiscard]] Result<uint64_t, Error> remake(uint64_t ipa, unsigned level, const S2DecodedLeaf& old,
                                               bool whole) const {
    if (s2_entry_inside(ipa, level, start, end))
      return leaf_template.leaf(old.output, level, whole && run_inside(ipa, level, start, end));
    return encode(old.output, level, old.attrs, s2.config_.codec);
  }

  Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    const auto remake_fn = [this](uint64_t ipa, unsigned level, const S2DecodedLeaf& old, bool whole) {
      return remake(ipa, level, old, whole);
    };
    switch (entry.visit) {
      case S2Visit::kLeaf: {
        if (!is_valid(entry.old, entry.level)) return S2WalkNext::kContinue;  // stays unmapped
        if (entry.inside(start, end)) {
          const S2DecodedLeaf leaf = TRY(decode(entry.old, entry.level, s2.config_.codec));
          const uint64_t new_leaf = leaf_template.leaf(leaf.output, entry.level, leaf.contiguous);
          if (new_leaf == entry.old) return S2WalkNext::kContinue;
          if (leaf.contiguous) {
            // Any change in a run takes it down whole; remake() writes this entry's new value.
            (void)TRY(break_run(s2, batch, entry, remake_fn));
            return S2WalkNext::kContinue;
          }
          replace_leaf(batch, entry, new_leaf, leaf_change_needs_break(leaf, leaf.output, attrs(), false));
          return S2WalkNext::kContinue;
        }
        S2WalkEntry e = entry;
        if (has_contiguous_hint(e.old, e.level)) e.old = TRY(break_run(s2, batch, e, remake_fn));
        TRY(split_block(s2, batch, e, *this));
        return S2WalkNext::kContinue;
      }
      case S2Visit::kTablePost:
        free_if_empty(s2, batch, entry);
        return S2WalkNext::kContinue;
      case S2Visit::kTablePre: return S2WalkNext::kContinue;
    }
    return S2WalkNext::kContinue;
  }
};

struct Stage2::Impl::LookupVisitor {
  uint64_t descriptor = 0;
  uint64_t entry_ipa = 0;
  unsigned level = 0;

  Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    descriptor = entry.old;
    entry_ipa = entry.ipa;
    level = entry.level;
    return S2WalkNext::kContinue;
  }
};

// Detaches every subtree below the root; the batch invalidates the whole
// VMID on each flush (the root's own blocks included).
struct Stage2::Impl::DestroyVisitor {
  Stage2& s2;
  Batch& batch;
  Result<S2WalkNext, Error> operator()(const S2WalkEntry& entry) {
    detach_subtree(s2, batch, entry);
    return S2WalkNext::kSkip;
  }
};

// --- public operations ------------------------------------------------------

Status<Error> Stage2::init(const Config& config, S2TableMemory memory) {
  if (table_pages_ != 0) return Err{Error::kAlreadyMapped};
  const Stage2Geometry& g = config.geometry;
  if (memory.alloc == nullptr || memory.free == nullptr || memory.table == nullptr) return Err{Error::kOutOfRange};
  if (g.ipa_bits < 32 || g.ipa_bits > arch::kMaxTranslatedAddressBits || g.start_level > 2 || g.levels != 4 - g.start_level ||
      g.concatenated_tables == 0 || g.concatenated_tables > 16 || !is_power_of_two(g.concatenated_tables))
    return Err{Error::kOutOfRange};
  // The root's entries must fill at most its concatenated pages.
  const unsigned root_bits = g.ipa_bits - s2_level_shift(g.start_level);
  if ((uint64_t{1} << root_bits) > uint64_t{g.concatenated_tables} * kS2EntriesPerTable)
    return Err{Error::kOutOfRange};

  const PhysAddr root = TRY(memory.alloc(memory.context, g.concatenated_tables));
  if (!root.is_aligned(uint64_t{g.concatenated_tables} * kPageSize)) {
    // VTTBR_EL2.BADDR needs the concatenated root aligned to its size.
    memory.free(memory.context, root, g.concatenated_tables);
    return Err{Error::kMisaligned};
  }
  config_ = config;
  memory_ = memory;
  root_ = root;
  table_pages_ = g.concatenated_tables;
  return Ok{};
}

void Stage2::destroy() {
  Guard guard(lock_);
  if (!guard.held()) __builtin_trap();  // re-entered by the lock's owner: a hypervisor bug
  if (table_pages_ == 0) return;
  Batch batch(*this);
  batch.always_invalidate_whole_vmid();
  Impl::DestroyVisitor visitor{*this, batch};
  (void)Impl::walker(*this).walk<kS2WalkTablePre>(0, uint64_t{1} << config_.geometry.ipa_bits, visitor);
  batch.flush();
  memory_.free(memory_.context, root_, config_.geometry.concatenated_tables);
  table_pages_ = 0;
  root_ = PhysAddr(0);
}

Status<Error> Stage2::map(IntermediatePhysAddr ipa, PhysAddr pa, uint64_t size, const S2Attrs& attrs) {
  TRY(check_ipa_range(ipa.value(), size, config_.geometry.ipa_bits));
  if (!pa.is_aligned(kPageSize)) return Err{Error::kMisaligned};
  uint64_t pa_end = 0;
  if (!checked_add(pa.value(), size, &pa_end) || pa_end > (uint64_t{1} << arch::kMaxTranslatedAddressBits)) return Err{Error::kOutOfRange};
  const Result<S2LeafTemplate, CodecError> encoded = make_leaf_template(attrs, config_.codec);
  if (!encoded.ok()) return Err{from_codec(encoded.error())};
  Guard guard(lock_);
  if (!guard.held()) return Err{kLockReentered};
  if (table_pages_ == 0) return Err{Error::kOutOfRange};
  if (size == 0) return Ok{};
  Batch batch(*this);
  Impl::MapVisitor visitor{*this, batch, ipa.value(), ipa.value() + size, pa.value(), attrs, encoded.value()};
  const Status<Error> result = Impl::walker(*this).walk<kS2WalkLeaf | kS2WalkTablePre | kS2WalkTablePost>(
      ipa.value(), ipa.value() + size, visitor);
  batch.flush();
  return result;
}

Status<Error> Stage2::unmap(IntermediatePhysAddr ipa, uint64_t size) {
  TRY(check_ipa_range(ipa.value(), size, config_.geometry.ipa_bits));
  Guard guard(lock_);
  if (!guard.held()) return Err{kLockReentered};
  if (table_pages_ == 0) return Err{Error::kOutOfRange};
  if (size == 0) return Ok{};
  Batch batch(*this);
  Impl::UnmapVisitor visitor{*this, batch, ipa.value(), ipa.value() + size};
  const Status<Error> result = Impl::walker(*this).walk<kS2WalkLeaf | kS2WalkTablePre | kS2WalkTablePost>(
      ipa.value(), ipa.value() + size, visitor);
  batch.flush();
  return result;
}

Status<Error> Stage2::protect(IntermediatePhysAddr ipa, uint64_t size, const S2Attrs& attrs) {
  TRY(check_ipa_range(ipa.value(), size, config_.geometry.ipa_bits));
  const Result<S2LeafTemplate, CodecError> encoded = make_leaf_template(attrs, config_.codec);
  if (!encoded.ok()) return Err{from_codec(encoded.error())};
  Guard guard(lock_);
  if (!guard.held()) return Err{kLockReentered};
  if (table_pages_ == 0) return Err{Error::kOutOfRange};
  if (size == 0) return Ok{};
  Batch batch(*this);
  Impl::ProtectVisitor visitor{*this, batch, ipa.value(), ipa.value() + size, attrs, encoded.value()};
  const Status<Error> result =
      Impl::walker(*this).walk<kS2WalkLeaf | kS2WalkTablePost>(ipa.value(), ipa.value() + size, visitor);
  batch.flush();
  return result;
}

Result<S2Lookup, Error> Stage2::lookup(IntermediatePhysAddr ipa) {
  if (ipa.value() >= (uint64_t{1} << config_.geometry.ipa_bits)) return Err{Error::kOutOfRange};
  Guard guard(lock_);
  if (!guard.held()) return Err{kLockReentered};
  if (table_pages_ == 0) return Err{Error::kOutOfRange};
  const uint64_t page = align_down(ipa.value(), kPageSize);
  Impl::LookupVisitor visitor;
  TRY(Impl::walker(*this).walk<kS2WalkLeaf>(page, page + kPageSize, visitor));
  if (!is_valid(visitor.descriptor, visitor.level)) return Err{Error::kOutOfRange};
  const S2DecodedLeaf leaf = TRY(decode(visitor.descriptor, visitor.level, config_.codec));
  S2Lookup result;
  result.descriptor = visitor.descriptor;
  result.level = visitor.level;
  result.output = leaf.output.offset(ipa.value() - visitor.entry_ipa);
  result.leaf = leaf;
  return result;
}

arch::VttbrEl2 Stage2::vttbr() const {
  // BADDR is VTTBR_EL2[47:1]: the root's address with bit 0 (CnP) below it.
  return arch::VttbrEl2::from_scratch()
      .with(arch::VttbrEl2::baddr, root_.value() >> 1)
      .with(arch::VttbrEl2::vmid, uint64_t{config_.vmid.value()})
      .with(arch::VttbrEl2::cnp, config_.cnp);
}

void make_visible_to_guest(PhysAddr pa, uint64_t size, bool executable) {
  s2ops::clean_dcache_to_poc(pa, size);
  if (executable) s2ops::sync_icache(pa, size);
}

}  // namespace lamina::mm
