// The recording host double for mm/stage2_arch_ops.hpp. See the header for
// the rules it checks. One global state under one mutex: the hooks are free
// functions, as on the EL2 side.
//
// Bookkeeping, sized for randomized runs of millions of stores:
//  - `pages`: host table page -> (VMID, first IPA, level, state); a slot's
//    IPA and level follow from its offset in the page.
//  - a Record per change of a valid entry that still needs its TLB
//    invalidation, with the IPA ranges ("items") that must be covered;
//    records live in a slab and are named by (index, generation), so lists
//    and indexes can drop stale references lazily.
//  - items of published records are indexed by (VMID, level, IPA aligned to
//    the level's entry size), so an invalidate_ipa() finds what it covers
//    with one hash lookup (four for a non-last-level one, which also covers
//    table entries of every level). Indexing waits for the first
//    invalidate_ipa() after the publish: a batch that ends in
//    invalidate_vmid() never pays for it.
#include "fakes/recording_stage2_arch_ops.hpp"

#include <atomic>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "arch/regs/stage2_desc.hpp"
#include "mm/stage2_arch_ops.hpp"
#include "mm/stage2_desc.hpp"

namespace lamina::test {
namespace {

using mm::S2DescKind;

constexpr uintptr_t kHostPageMask = ~uintptr_t{4095};

enum class Phase : uint8_t { kStored, kPublished, kDone };

// An IPA range one invalidation must cover.
struct Item {
  uint64_t lo;
  unsigned level;
  bool table;   // a table entry: needs a non-last-level TLBI (walk caches)
  bool issued;  // a matching TLBI was issued
};

// A change of a valid entry waiting for its TLB invalidation.
struct Record {
  uint32_t generation = 0;
  bool in_use = false;
  bool referenced = false;  // by slot_record (a break the slot's next make must respect)
  const uint64_t* slot = nullptr;
  uint16_t vmid = 0;
  uint64_t ipa = 0;
  unsigned level = 0;
  uint64_t prev = 0;       // the valid value it replaced
  bool is_break = false;   // replaced by an invalid entry (vs. in place)
  uint32_t cpu = 0;        // the storing CPU: only its publish counts
  Phase phase = Phase::kStored;
  bool indexed = false;  // items in leaf_index/table_index (done lazily, at the first TLBI by IPA)
  std::vector<Item> items;
  size_t uncovered = 0;
  std::vector<uintptr_t> detached;  // table pages unlinked by this break
};

struct Ref {
  uint32_t index;
  uint32_t generation;
};

struct ItemRef {
  uint32_t index;
  uint32_t generation;
  uint32_t item;
};

enum class PageState : uint8_t { kRoot, kLinked, kDetached, kDetachedDone };

struct PageInfo {
  uint16_t vmid = 0;
  uint64_t ipa_base = 0;
  unsigned level = 0;
  PageState state = PageState::kLinked;
};

struct VmInfo {
  Stage2Recorder::TableResolver resolve;
  uint64_t last_store_seq = 0;
  uint64_t last_vmid_invalidation_seq = 0;
};

struct State {
  std::mutex mutex;
  std::vector<S2Event> events;
  bool logging = true;
  bool checking = true;
  std::unordered_map<uintptr_t, PageInfo> pages;  // host page -> geometry
  std::unordered_map<uint16_t, VmInfo> vms;
  std::vector<Record> records;  // slab
  std::vector<uint32_t> free_records;
  std::vector<Ref> unpublished;  // kStored
  std::vector<Ref> unindexed;    // kPublished, items not indexed yet
  std::vector<Ref> pending;      // not kDone
  std::vector<Ref> covered;      // every item issued, waiting for completion
  std::unordered_multimap<uint64_t, ItemRef> leaf_index;   // key(vmid, level, lo) of unissued items
  std::unordered_multimap<uint64_t, ItemRef> table_index;
  std::unordered_map<uintptr_t, Ref> slot_record;  // slot -> its latest break
  std::unordered_set<uintptr_t> touched_runs;  // first slot of each contiguous run a hinted store touched
  std::string violation;
  uint64_t seq = 0;
  std::function<void()> store_hook;
};

State& state() {
  static State s;
  return s;
}

std::atomic<bool> g_has_store_hook{false};
std::atomic<uint32_t> g_next_cpu{0};
thread_local uint64_t t_loaded_vttbr = 0;
thread_local uint32_t t_cpu = g_next_cpu.fetch_add(1);

[[nodiscard]] uint16_t vmid_of(uint64_t vttbr) {
  return static_cast<uint16_t>(arch::VttbrEl2(vttbr).get(arch::VttbrEl2::vmid));
}

[[nodiscard]] uint64_t item_key(uint16_t vmid, unsigned level, uint64_t lo) {
  return (uint64_t{vmid} << 48) | mm::align_down(lo, mm::s2_entry_size(level)) | level;
}

[[nodiscard]] std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buffer[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  return buffer;
}

void violate(State& s, std::string message) {
  if (s.violation.empty()) s.violation = std::move(message);
}

void log(State& s, S2Event event) {
  event.cpu = t_cpu;
  if (s.logging) s.events.push_back(event);
}

// Whether replacing valid `a` by valid `b` needs break-before-make, from the
// descriptor fields themselves (independent of mm/stage2.cpp's rule).
[[nodiscard]] bool needs_break(uint64_t a, uint64_t b, unsigned level) {
  const S2DescKind ka = mm::classify(a, level);
  const S2DescKind kb = mm::classify(b, level);
  if ((ka == S2DescKind::kTable) != (kb == S2DescKind::kTable)) return true;
  if (ka == S2DescKind::kTable)
    return arch::S2Table(a).get(arch::S2Table::next_level) != arch::S2Table(b).get(arch::S2Table::next_level);
  const arch::S2Leaf la(a);
  const arch::S2Leaf lb(b);
  return la.get(arch::S2Leaf::output_address) != lb.get(arch::S2Leaf::output_address) ||
         la.get(arch::S2Leaf::mem_attr) != lb.get(arch::S2Leaf::mem_attr) ||
         la.get(arch::S2Leaf::sh) != lb.get(arch::S2Leaf::sh) ||
         la.get(arch::S2Leaf::contiguous) != lb.get(arch::S2Leaf::contiguous);
}

[[nodiscard]] PageInfo* page_of(State& s, const uint64_t* slot) {
  const auto it = s.pages.find(reinterpret_cast<uintptr_t>(slot) & kHostPageMask);
  return it == s.pages.end() ? nullptr : &it->second;
}

[[nodiscard]] uint64_t slot_ipa(const PageInfo& page, const uint64_t* slot) {
  const uintptr_t offset = reinterpret_cast<uintptr_t>(slot) & ~kHostPageMask;
  return page.ipa_base + (offset / sizeof(uint64_t)) * mm::s2_entry_size(page.level);
}

[[nodiscard]] uint64_t* resolve(State& s, uint16_t vmid, uint64_t table_raw) {
  const auto vm = s.vms.find(vmid);
  if (vm == s.vms.end() || !vm->second.resolve) return nullptr;
  return vm->second.resolve(mm::table_address(table_raw));
}

// Visits the subtree below the table page `table` (at `level`, first IPA
// `ipa_base`): `on_entry(ipa, level, raw)` for each valid entry and
// `on_page(host page)` for each table page below it.
template <typename OnEntry, typename OnPage>
void walk_subtree(State& s, uint16_t vmid, const uint64_t* table, unsigned level, uint64_t ipa_base,
                  OnEntry& on_entry, OnPage& on_page) {
  if (table == nullptr || level > 3) return;
  const uint64_t size = mm::s2_entry_size(level);
  for (uint64_t i = 0; i < 512; ++i) {
    const uint64_t raw = __atomic_load_n(&table[i], __ATOMIC_RELAXED);
    const S2DescKind kind = mm::classify(raw, level);
    if (kind == S2DescKind::kInvalid) continue;
    on_entry(ipa_base + i * size, level, raw);
    if (kind == S2DescKind::kTable) {
      const uint64_t* child = resolve(s, vmid, raw);
      if (child == nullptr) continue;
      on_page(reinterpret_cast<uintptr_t>(child));
      walk_subtree(s, vmid, child, level + 1, ipa_base + i * size, on_entry, on_page);
    }
  }
}

[[nodiscard]] Record* live(State& s, Ref ref) {
  Record& r = s.records[ref.index];
  return r.in_use && r.generation == ref.generation ? &r : nullptr;
}

void release(State& s, uint32_t index) {
  Record& r = s.records[index];
  r.in_use = false;
  ++r.generation;
  r.items.clear();
  r.detached.clear();
  s.free_records.push_back(index);
}

// Drops the index entries of `r`'s items that were never issued.
void unindex(State& s, uint32_t index, Record& r) {
  for (uint32_t i = 0; i < r.items.size(); ++i) {
    const Item& item = r.items[i];
    if (item.issued) continue;
    auto& map = item.table ? s.table_index : s.leaf_index;
    auto [first, last] = map.equal_range(item_key(r.vmid, item.level, item.lo));
    for (auto it = first; it != last; ++it) {
      if (it->second.index == index && it->second.generation == r.generation && it->second.item == i) {
        map.erase(it);
        break;
      }
    }
  }
}

void mark_done(State& s, uint32_t index) {
  Record& r = s.records[index];
  if (r.indexed) unindex(s, index, r);
  r.indexed = false;
  r.phase = Phase::kDone;
  for (const uintptr_t page : r.detached) {
    const auto it = s.pages.find(page);
    if (it != s.pages.end() && it->second.state == PageState::kDetached) it->second.state = PageState::kDetachedDone;
  }
  if (!r.referenced) release(s, index);
}

// Keeps the references in `list` that are still live and not done.
void prune(State& s, std::vector<Ref>& list) {
  size_t kept = 0;
  for (const Ref ref : list) {
    const Record* r = live(s, ref);
    if (r != nullptr && r->phase != Phase::kDone) list[kept++] = ref;
  }
  list.resize(kept);
}

Ref new_record(State& s, const PageInfo& page, const uint64_t* slot, uint64_t prev, bool is_break) {
  uint32_t index = 0;
  if (!s.free_records.empty()) {
    index = s.free_records.back();
    s.free_records.pop_back();
  } else {
    index = static_cast<uint32_t>(s.records.size());
    s.records.emplace_back();
  }
  Record& r = s.records[index];
  r.in_use = true;
  r.referenced = false;
  r.slot = slot;
  r.vmid = page.vmid;
  r.ipa = slot_ipa(page, slot);
  r.level = page.level;
  r.prev = prev;
  r.is_break = is_break;
  r.cpu = t_cpu;
  r.phase = Phase::kStored;
  r.indexed = false;
  const S2DescKind kind = mm::classify(prev, page.level);
  r.items.push_back(Item{r.ipa, page.level, kind == S2DescKind::kTable, false});
  if (kind == S2DescKind::kTable) {
    auto on_entry = [&](uint64_t ipa, unsigned level, uint64_t raw) {
      r.items.push_back(Item{ipa, level, mm::classify(raw, level) == S2DescKind::kTable, false});
    };
    auto on_page = [&](uintptr_t host_page) { r.detached.push_back(host_page); };
    const uint64_t* child = resolve(s, page.vmid, prev);
    if (child != nullptr) {
      on_page(reinterpret_cast<uintptr_t>(child));
      walk_subtree(s, page.vmid, child, page.level + 1, r.ipa, on_entry, on_page);
    }
    for (const uintptr_t host_page : r.detached) {
      const auto it = s.pages.find(host_page);
      if (it != s.pages.end()) it->second.state = PageState::kDetached;
    }
  }
  r.uncovered = r.items.size();
  const Ref ref{index, r.generation};
  s.unpublished.push_back(ref);
  s.pending.push_back(ref);
  return ref;
}

// The record a slot's latest break left, or nullptr.
void drop_slot_reference(State& s, uintptr_t slot) {
  const auto it = s.slot_record.find(slot);
  if (it == s.slot_record.end()) return;
  Record* r = live(s, it->second);
  const uint32_t index = it->second.index;
  s.slot_record.erase(it);
  if (r == nullptr) return;
  r->referenced = false;
  if (r->phase == Phase::kDone) release(s, index);
}

// Forgets the geometry of the pages below the table descriptor `raw`.
void forget_subtree(State& s, uint16_t vmid, uint64_t raw, unsigned level) {
  const uint64_t* child = resolve(s, vmid, raw);
  if (child == nullptr) return;
  std::vector<uintptr_t> pages{reinterpret_cast<uintptr_t>(child)};
  auto on_entry = [](uint64_t, unsigned, uint64_t) {};
  auto on_page = [&](uintptr_t host_page) { pages.push_back(host_page); };
  walk_subtree(s, vmid, child, level + 1, 0, on_entry, on_page);
  for (const uintptr_t page : pages) s.pages.erase(page);
}

// --- the contiguous hint (DDI 0487 K.a D8.7.1 "The Contiguous bit") ---------
// A run is the 16 aligned entries of one table page holding a slot.
constexpr unsigned kRunEntries = 16;

[[nodiscard]] bool is_leaf(uint64_t raw, unsigned level) {
  const S2DescKind kind = mm::classify(raw, level);
  return kind == S2DescKind::kBlock || kind == S2DescKind::kPage;
}

[[nodiscard]] bool hinted(uint64_t raw, unsigned level) {
  return is_leaf(raw, level) && arch::S2Leaf(raw).get(arch::S2Leaf::contiguous);
}

[[nodiscard]] unsigned run_index(const uint64_t* slot) {
  return static_cast<unsigned>(((reinterpret_cast<uintptr_t>(slot) & ~kHostPageMask) / sizeof(uint64_t)) %
                               kRunEntries);
}

// Whether `a` at run index `i` and `b` at run index `j` belong to one
// well-formed run: both hinted leaves, the same attributes, outputs
// contiguous, the run's output aligned to its size.
[[nodiscard]] bool consistent(uint64_t a, unsigned i, uint64_t b, unsigned j, unsigned level) {
  if (!hinted(a, level) || !hinted(b, level)) return false;
  const arch::S2Leaf la(a);
  const arch::S2Leaf lb(b);
  if (la.with(arch::S2Leaf::output_address, uint64_t{0}).raw() != lb.with(arch::S2Leaf::output_address, uint64_t{0}).raw())
    return false;
  const uint64_t size = mm::s2_entry_size(level);
  const uint64_t oa = la.get(arch::S2Leaf::output_address) << mm::kPageShift;
  const uint64_t ob = lb.get(arch::S2Leaf::output_address) << mm::kPageShift;
  return oa - i * size == ob - j * size && mm::is_aligned(oa - i * size, kRunEntries * size);
}

// A store of valid `value` into `slot` (run index i) must agree with every
// valid entry of its run whenever either carries the hint, and a store into
// a run that was hinted must wait for the whole run's break.
void check_run_store(State& s, const PageInfo& info, const uint64_t* slot, uint64_t old, uint64_t value) {
  const unsigned level = info.level;
  const unsigned i = run_index(slot);
  const uint64_t* first = slot - i;
  const uint64_t ipa = slot_ipa(info, slot);
  if (hinted(old, level) || hinted(value, level)) s.touched_runs.insert(reinterpret_cast<uintptr_t>(first));
  if (mm::classify(value, level) == S2DescKind::kInvalid) return;
  // Was this slot's last break one of a hinted entry (the run was taken down)?
  bool after_run_break = false;
  if (mm::classify(old, level) != S2DescKind::kInvalid) {
    // an in-place change: no break of its own
  } else if (const auto it = s.slot_record.find(reinterpret_cast<uintptr_t>(slot)); it != s.slot_record.end()) {
    const Record* r = live(s, it->second);
    after_run_break = r != nullptr && r->phase != Phase::kDone && hinted(r->prev, level);
  }
  const bool check_breaks = after_run_break || hinted(value, level);
  for (unsigned j = 0; j < kRunEntries; ++j) {
    if (j == i) continue;
    const uint64_t other = __atomic_load_n(&first[j], __ATOMIC_RELAXED);
    if (mm::classify(other, level) != S2DescKind::kInvalid) {
      if ((hinted(value, level) || hinted(other, level)) && !consistent(value, i, other, j, level))
        violate(s, format("slot %p (VMID %u, IPA 0x%" PRIx64 ", level %u): 0x%016" PRIx64 " stored while entry %u "
                          "of its contiguous run holds 0x%016" PRIx64 ": a run with the hint must be broken whole "
                          "(all %u entries invalid and invalidated) before any entry of it changes",
                          static_cast<const void*>(slot), info.vmid, ipa, level, value, j, other, kRunEntries));
      continue;
    }
    if (!check_breaks) continue;
    const auto it = s.slot_record.find(reinterpret_cast<uintptr_t>(&first[j]));
    if (it == s.slot_record.end()) continue;
    const Record* r = live(s, it->second);
    if (r != nullptr && r->phase != Phase::kDone && hinted(r->prev, level))
      violate(s, format("slot %p (VMID %u, IPA 0x%" PRIx64 ", level %u): 0x%016" PRIx64 " made before the break "
                        "of entry %u (0x%016" PRIx64 ") of its contiguous run completed",
                        static_cast<const void*>(slot), info.vmid, ipa, level, value, j, r->prev));
  }
}

// At a quiescent point: every run a hinted store touched is either free of
// the hint or whole (16 valid, consistent, hinted entries).
void check_touched_runs(State& s) {
  for (const uintptr_t key : s.touched_runs) {
    const auto* first = reinterpret_cast<const uint64_t*>(key);
    const PageInfo* page = page_of(s, first);
    if (page == nullptr || page->state == PageState::kDetached || page->state == PageState::kDetachedDone) continue;
    const unsigned level = page->level;
    uint64_t raw[kRunEntries];
    bool any = false;
    for (unsigned j = 0; j < kRunEntries; ++j) {
      raw[j] = __atomic_load_n(&first[j], __ATOMIC_RELAXED);
      any = any || hinted(raw[j], level);
    }
    if (!any) continue;
    for (unsigned j = 0; j < kRunEntries; ++j) {
      // consistent(raw[0], 0, raw[0], 0) checks entry 0 is hinted and the run's output aligned.
      if (consistent(raw[0], 0, raw[j], j, level)) continue;
      violate(s, format("contiguous run at IPA 0x%" PRIx64 " (VMID %u, level %u): entry %u is 0x%016" PRIx64
                        ": an entry with the hint is not part of a whole uniform run of %u",
                        slot_ipa(*page, first), page->vmid, level, j, raw[j], kRunEntries));
      break;
    }
  }
  s.touched_runs.clear();
}

void check_store(State& s, const PageInfo& info, uint64_t* slot, uint64_t old, uint64_t value) {
  const uint64_t ipa = slot_ipa(info, slot);
  const unsigned level = info.level;
  const bool old_valid = mm::classify(old, level) != S2DescKind::kInvalid;
  const bool new_valid = mm::classify(value, level) != S2DescKind::kInvalid;
  const auto vm = s.vms.find(info.vmid);
  if (vm != s.vms.end()) vm->second.last_store_seq = s.seq;

  if (info.state == PageState::kDetached)
    violate(s, format("store 0x%016" PRIx64 " into slot %p (IPA 0x%" PRIx64 ", level %u) of a table whose "
                      "unlinking is not yet invalidated", value, static_cast<const void*>(slot), ipa, level));
  const uintptr_t key = reinterpret_cast<uintptr_t>(slot);
  if (level >= 1 && old != value) check_run_store(s, info, slot, old, value);
  if (old_valid && new_valid && old != value) {
    if (needs_break(old, value, level)) {
      violate(s, format("slot %p (VMID %u, IPA 0x%" PRIx64 ", level %u): valid 0x%016" PRIx64
                        " replaced by valid 0x%016" PRIx64 " without break-before-make",
                        static_cast<const void*>(slot), info.vmid, ipa, level, old, value));
    } else {
      (void)new_record(s, info, slot, old, false);  // permissions in place: invalidation still due
    }
  } else if (old_valid && !new_valid) {
    drop_slot_reference(s, key);
    const Ref ref = new_record(s, info, slot, old, true);
    s.records[ref.index].referenced = true;
    s.slot_record.emplace(key, ref);
  } else if (!old_valid && new_valid) {
    const auto it = s.slot_record.find(key);
    if (it != s.slot_record.end()) {
      const Record* r = live(s, it->second);
      if (r != nullptr && r->phase != Phase::kDone && needs_break(r->prev, value, level)) {
        const char* why = r->phase == Phase::kStored ? "the invalid entry was not published"
                          : r->uncovered != 0        ? "the old entry's TLB invalidation is missing"
                                                     : "the TLB invalidation did not complete";
        violate(s, format("slot %p (VMID %u, IPA 0x%" PRIx64 ", level %u): 0x%016" PRIx64
                          " made before the break of 0x%016" PRIx64 " finished: %s",
                          static_cast<const void*>(slot), info.vmid, ipa, level, value, r->prev, why));
      }
      drop_slot_reference(s, key);
    }
  }
}

void on_store(State& s, uint64_t* slot, uint64_t old, uint64_t value) {
  ++s.seq;
  log(s, S2Event{.kind = S2Event::Kind::kStore, .slot = slot, .old_raw = old, .new_raw = value});
  // Unchecked, only table descriptors matter (bits[1:0] == 0b11: a table, or a page).
  if (!s.checking && (old & 3) != 3 && (value & 3) != 3) return;
  PageInfo* page = page_of(s, slot);
  if (page == nullptr) return;  // a table not linked yet: nothing walks it
  const PageInfo info = *page;  // `page` may dangle once s.pages changes
  const S2DescKind old_kind = mm::classify(old, info.level);
  const S2DescKind new_kind = mm::classify(value, info.level);
  if (s.checking) check_store(s, info, slot, old, value);
  else if (old_kind == S2DescKind::kTable && old != value) forget_subtree(s, info.vmid, old, info.level);

  if (new_kind == S2DescKind::kTable && old != value) {
    const uint64_t* child = resolve(s, info.vmid, value);
    if (child != nullptr) {
      const uint64_t ipa = slot_ipa(info, slot);
      const auto [it, inserted] = s.pages.try_emplace(reinterpret_cast<uintptr_t>(child));
      if (!inserted && s.checking &&
          (it->second.state == PageState::kLinked || it->second.state == PageState::kRoot))
        violate(s, format("table page %p linked twice (IPA 0x%" PRIx64 ", level %u)",
                          static_cast<const void*>(child), ipa, info.level));
      it->second = PageInfo{info.vmid, ipa, info.level + 1, PageState::kLinked};
    }
  }
}

void on_free(State& s, mm::PhysAddr pa, const uint64_t* host, unsigned pages) {
  log(s, S2Event{.kind = S2Event::Kind::kFreeTable, .slot = host, .pa = pa.value(), .size = pages});
  if (host == nullptr) return;
  for (unsigned i = 0; i < pages; ++i) {
    const uintptr_t page = reinterpret_cast<uintptr_t>(host) + i * 4096u;
    const auto it = s.pages.find(page);
    if (it == s.pages.end()) continue;  // never linked
    const PageInfo info = it->second;
    s.pages.erase(it);
    if (!s.checking) continue;
    const uint64_t page_pa = pa.value() + i * 4096u;
    switch (info.state) {
      case PageState::kRoot: {
        const VmInfo& vm = s.vms[info.vmid];
        if (vm.last_vmid_invalidation_seq <= vm.last_store_seq)
          violate(s, format("root page PA 0x%" PRIx64 " of VMID %u freed without invalidate_vmid() after the "
                            "last store", page_pa, info.vmid));
        for (const auto& [other, other_info] : s.pages)
          if (other_info.vmid == info.vmid && other_info.state == PageState::kLinked)
            violate(s, format("root of VMID %u freed while table page %p is still linked below it", info.vmid,
                              reinterpret_cast<const void*>(other)));
        break;
      }
      case PageState::kLinked:
        violate(s, format("table page PA 0x%" PRIx64 " (VMID %u, IPA 0x%" PRIx64 ", level %u) freed while "
                          "still linked", page_pa, info.vmid, info.ipa_base, info.level));
        break;
      case PageState::kDetached:
        violate(s, format("table page PA 0x%" PRIx64 " (VMID %u, IPA 0x%" PRIx64 ", level %u) freed before "
                          "the invalidation of its unlinking completed", page_pa, info.vmid, info.ipa_base,
                          info.level));
        break;
      case PageState::kDetachedDone: break;
    }
  }
}

bool require_loaded(State& s, const char* what) {
  if (t_loaded_vttbr != 0) return true;
  if (s.checking) violate(s, format("%s outside enter_vmid()/exit_vmid()", what));
  return false;
}

void on_publish(State& s) {
  size_t kept = 0;
  for (const Ref ref : s.unpublished) {
    Record* r = live(s, ref);
    if (r == nullptr || r->phase != Phase::kStored) continue;
    if (r->cpu != t_cpu) {
      s.unpublished[kept++] = ref;
      continue;
    }
    r->phase = Phase::kPublished;
    s.unindexed.push_back(ref);
  }
  s.unpublished.resize(kept);
}

void index_published(State& s) {
  for (const Ref ref : s.unindexed) {
    Record* r = live(s, ref);
    if (r == nullptr || r->phase != Phase::kPublished || r->indexed) continue;
    r->indexed = true;
    for (uint32_t i = 0; i < r->items.size(); ++i) {
      const Item& item = r->items[i];
      (item.table ? s.table_index : s.leaf_index)
          .emplace(item_key(r->vmid, item.level, item.lo), ItemRef{ref.index, ref.generation, i});
    }
  }
  s.unindexed.clear();
}

// Marks the unissued items indexed under `key` in `map` as issued.
void issue(State& s, std::unordered_multimap<uint64_t, ItemRef>& map, uint64_t key) {
  auto [first, last] = map.equal_range(key);
  for (auto it = first; it != last;) {
    const ItemRef ref = it->second;
    it = map.erase(it);
    Record* r = live(s, Ref{ref.index, ref.generation});
    if (r == nullptr || r->phase != Phase::kPublished || r->items[ref.item].issued) continue;
    r->items[ref.item].issued = true;
    if (--r->uncovered == 0) s.covered.push_back(Ref{ref.index, ref.generation});
  }
}

void on_invalidate_ipa(State& s, uint64_t ipa, unsigned level, bool last_level) {
  const uint16_t vmid = vmid_of(t_loaded_vttbr);
  if (!s.unindexed.empty()) index_published(s);
  // A leaf is covered by a TLBI by IPA inside it, at its level.
  if (level <= 3) issue(s, s.leaf_index, item_key(vmid, level, ipa));
  // A table entry's walk caches by a non-last-level TLBI anywhere inside it.
  if (!last_level)
    for (unsigned l = 0; l <= 3; ++l) issue(s, s.table_index, item_key(vmid, l, ipa));
}

void on_complete(State& s) {
  const uint16_t vmid = vmid_of(t_loaded_vttbr);
  size_t kept = 0;
  for (const Ref ref : s.covered) {
    Record* r = live(s, ref);
    if (r == nullptr || r->phase != Phase::kPublished) continue;
    if (r->vmid != vmid) {
      s.covered[kept++] = ref;
      continue;
    }
    mark_done(s, ref.index);
  }
  s.covered.resize(kept);
  prune(s, s.pending);
}

void on_invalidate_vmid(State& s) {
  const uint16_t vmid = vmid_of(t_loaded_vttbr);
  // DSB ISHST is part of the sequence, so no separate publish is needed.
  for (const Ref ref : s.pending) {
    Record* r = live(s, ref);
    if (r != nullptr && r->phase != Phase::kDone && r->vmid == vmid) mark_done(s, ref.index);
  }
  prune(s, s.pending);
  prune(s, s.unpublished);
  prune(s, s.unindexed);
  prune(s, s.covered);
}

void clear_records(State& s) {
  s.records.clear();
  s.free_records.clear();
  s.unpublished.clear();
  s.unindexed.clear();
  s.pending.clear();
  s.covered.clear();
  s.leaf_index.clear();
  s.table_index.clear();
  s.slot_record.clear();
  s.touched_runs.clear();
}

}  // namespace

const char* s2_event_kind_name(S2Event::Kind kind) {
  switch (kind) {
    case S2Event::Kind::kStore: return "store";
    case S2Event::Kind::kPublish: return "publish";
    case S2Event::Kind::kEnterVmid: return "enter_vmid";
    case S2Event::Kind::kExitVmid: return "exit_vmid";
    case S2Event::Kind::kInvalidateIpa: return "invalidate_ipa";
    case S2Event::Kind::kCompleteIpaInvalidation: return "complete_ipa_invalidation";
    case S2Event::Kind::kInvalidateVmid: return "invalidate_vmid";
    case S2Event::Kind::kCleanDcache: return "clean_dcache_to_poc";
    case S2Event::Kind::kSyncIcache: return "sync_icache";
    case S2Event::Kind::kFreeTable: return "free_table";
  }
  return "?";
}

void Stage2Recorder::reset() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.events.clear();
  s.logging = true;
  s.checking = true;
  s.pages.clear();
  s.vms.clear();
  clear_records(s);
  s.violation.clear();
}

void Stage2Recorder::clear_events() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.events.clear();
}

std::vector<S2Event> Stage2Recorder::events() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.events;
}

size_t Stage2Recorder::count(S2Event::Kind kind) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  size_t n = 0;
  for (const S2Event& e : s.events) n += e.kind == kind ? 1 : 0;
  return n;
}

void Stage2Recorder::set_logging(bool on) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.logging = on;
}

void Stage2Recorder::set_checking(bool on) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (on == s.checking) return;
  // Switched between operations, when nothing is pending. Pages detached
  // while checking was on are freed by the end of their operation, so the
  // page states carry over unchanged.
  clear_records(s);
  s.checking = on;
}

void Stage2Recorder::track(const mm::Stage2& s2, TableResolver resolve) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  const mm::Stage2Geometry& g = s2.config().geometry;
  const uint16_t vmid = s2.config().vmid.value();
  s.vms[vmid] = VmInfo{std::move(resolve), 0, 0};
  const uint64_t page_span = 512 * mm::s2_entry_size(g.start_level);
  for (unsigned i = 0; i < g.concatenated_tables; ++i) {
    uint64_t* host = s.vms[vmid].resolve(s2.root().offset(uint64_t{i} * mm::kPageSize));
    if (host != nullptr)
      s.pages[reinterpret_cast<uintptr_t>(host)] = PageInfo{vmid, i * page_span, g.start_level, PageState::kRoot};
  }
}

void Stage2Recorder::note_table_free(mm::PhysAddr pa, const uint64_t* host, unsigned pages) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  on_free(s, pa, host, pages);
}

std::string Stage2Recorder::check_break_before_make() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.violation.empty()) return s.violation;
  check_touched_runs(s);
  if (!s.violation.empty()) return s.violation;
  prune(s, s.pending);
  for (const Ref ref : s.pending) {
    const Record& r = s.records[ref.index];
    return format("slot %p (VMID %u, IPA 0x%" PRIx64 ", level %u): 0x%016" PRIx64 " %s but its TLB invalidation "
                  "never completed (%zu of %zu ranges uncovered)",
                  static_cast<const void*>(r.slot), r.vmid, r.ipa, r.level, r.prev,
                  r.is_break ? "was invalidated" : "was changed in place", r.uncovered, r.items.size());
  }
  return {};
}

void Stage2Recorder::set_store_hook(std::function<void()> hook) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  g_has_store_hook = static_cast<bool>(hook);
  s.store_hook = std::move(hook);
}

uint64_t Stage2Recorder::loaded_vttbr() { return t_loaded_vttbr; }

}  // namespace lamina::test

namespace lamina::mm::s2ops {

using test::S2Event;
using test::State;

uint32_t current_cpu() { return test::t_cpu; }

void store_descriptor(uint64_t* slot, uint64_t value) {
  State& s = test::state();
  if (test::g_has_store_hook) {
    std::function<void()> hook;
    {
      std::lock_guard lock(s.mutex);
      hook = s.store_hook;
    }
    if (hook) hook();
  }
  std::lock_guard lock(s.mutex);
  test::on_store(s, slot, __atomic_load_n(slot, __ATOMIC_RELAXED), value);
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
}

void publish_descriptors() {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kPublish});
  if (s.checking) test::on_publish(s);
}

uint64_t enter_vmid(uint64_t vttbr) {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kEnterVmid, .vttbr = vttbr});
  const uint64_t previous = test::t_loaded_vttbr;
  test::t_loaded_vttbr = vttbr;
  return previous;
}

void exit_vmid(uint64_t previous_vttbr) {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kExitVmid, .vttbr = previous_vttbr});
  (void)test::require_loaded(s, "exit_vmid()");
  test::t_loaded_vttbr = previous_vttbr;
}

void invalidate_ipa(IntermediatePhysAddr ipa, unsigned level, bool last_level) {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kInvalidateIpa, .ipa = ipa.value(), .level = level,
                       .last_level = last_level, .vttbr = test::t_loaded_vttbr});
  if (test::require_loaded(s, "invalidate_ipa()") && s.checking)
    test::on_invalidate_ipa(s, ipa.value(), level, last_level);
}

void complete_ipa_invalidation() {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kCompleteIpaInvalidation, .vttbr = test::t_loaded_vttbr});
  if (test::require_loaded(s, "complete_ipa_invalidation()") && s.checking) test::on_complete(s);
}

void invalidate_vmid() {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  ++s.seq;
  test::log(s, S2Event{.kind = S2Event::Kind::kInvalidateVmid, .vttbr = test::t_loaded_vttbr});
  if (!test::require_loaded(s, "invalidate_vmid()")) return;
  const auto vm = s.vms.find(test::vmid_of(test::t_loaded_vttbr));
  if (vm != s.vms.end()) vm->second.last_vmid_invalidation_seq = s.seq;
  if (s.checking) test::on_invalidate_vmid(s);
}

void clean_dcache_to_poc(PhysAddr pa, uint64_t size) {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kCleanDcache, .pa = pa.value(), .size = size});
}

void sync_icache(PhysAddr pa, uint64_t size) {
  State& s = test::state();
  std::lock_guard lock(s.mutex);
  test::log(s, S2Event{.kind = S2Event::Kind::kSyncIcache, .pa = pa.value(), .size = size});
}

}  // namespace lamina::mm::s2ops
