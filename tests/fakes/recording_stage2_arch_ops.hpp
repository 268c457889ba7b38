// The host double for mm/stage2_arch_ops.hpp (namespace lamina::mm::s2ops):
// every call is recorded in order, in one thread-safe log, and checked as it
// happens against the stage-2 maintenance rules, so a test can both assert
// exact sequences and ask "was break-before-make ever violated?".
//
// What check_break_before_make() verifies (DDI 0487 K.a D8.16.1 "Using
// break-before-make when updating translation table entries" and D8.16
// "TLB maintenance requirements"), for every address space registered with
// track():
//  1. No store replaces a valid entry by a different valid one whose output
//     address, size (leaf <-> table, another table, contiguous hint) or
//     memory type (MemAttr, SH) differs. Such a change must be: a store of
//     an invalid entry, a publish (DSB ISHST) by the storing CPU, TLB
//     invalidation(s) covering the old entry, their completion; only then
//     the new valid store.
//     "Covering": for a leaf, invalidate_ipa() of an IPA inside it at its
//     level, or invalidate_vmid(); for a table entry, a non-last-level
//     invalidate_ipa() inside its range (walk caches) *and* one covering
//     each valid leaf and table entry of the subtree it pointed to, or
//     invalidate_vmid(). Invalidations count only inside
//     enter_vmid()/exit_vmid() with that VM's VMID loaded, and only after
//     the publish.
//  2. Every other change of a valid entry (unmap, a permission change
//     written in place) is invalidated the same way before the check runs
//     (reported as "never invalidated" otherwise).
//  3. A table page is freed only when no table entry links it any more and
//     the invalidation of its unlinking completed (a walker may hold the
//     old table descriptor until then); a root only after invalidate_vmid()
//     followed the last store into that address space.
//  4. Nothing is stored into a table whose unlinking is still being
//     invalidated, and no TLBI runs outside enter_vmid()/exit_vmid().
//  5. The contiguous hint (DDI 0487 K.a D8.7.1): a run is the 16 aligned
//     entries of a table page. A valid store into a run where the stored
//     value or another valid entry has the hint must agree with every valid
//     entry of the run (all hinted, same attributes, contiguous outputs, the
//     run's output aligned to 16 x the entry size): changing one entry of a
//     hinted run (in place, or by a break of that entry alone) is reported.
//     A store into a slot whose hinted entry was broken must wait until the
//     breaks of all the run's broken entries completed (the whole run was
//     invalidated first). And at check_break_before_make() every run that a
//     hinted store touched is either free of the hint or whole (an unmap of
//     one entry that leaves 15 hinted ones is reported).
//
// To know which IPA and level a slot translates, the recorder follows the
// tables: track() registers a root (and how to turn a table PA into a host
// pointer); each table descriptor stored into a known slot gives its child
// page a geometry. Stores into unknown pages (a new table being filled before
// it is linked) are not checked: nothing can walk them yet.
//
// set_checking(false) keeps only that geometry (so checking can be turned
// back on between operations: long randomized runs check a sample);
// set_logging(false) stops filling the event log.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mm/addr.hpp"
#include "mm/stage2.hpp"

namespace lamina::test {

struct S2Event {
  enum class Kind : uint8_t {
    kStore,                    // slot, old_raw, new_raw
    kPublish,
    kEnterVmid,                // vttbr: the one loaded
    kExitVmid,                 // vttbr: the one restored
    kInvalidateIpa,            // ipa, level, last_level, vttbr (loaded)
    kCompleteIpaInvalidation,  // vttbr (loaded)
    kInvalidateVmid,           // vttbr (loaded)
    kCleanDcache,              // pa, size
    kSyncIcache,               // pa, size
    kFreeTable,                // pa, size (pages), slot (host page): reported by the table memory
  };
  Kind kind = Kind::kPublish;
  uint32_t cpu = 0;
  const uint64_t* slot = nullptr;
  uint64_t old_raw = 0;
  uint64_t new_raw = 0;
  uint64_t ipa = 0;
  unsigned level = 0;
  bool last_level = false;
  uint64_t vttbr = 0;
  uint64_t pa = 0;
  uint64_t size = 0;
};

[[nodiscard]] const char* s2_event_kind_name(S2Event::Kind kind);

class Stage2Recorder {
 public:
  using TableResolver = std::function<uint64_t*(mm::PhysAddr)>;

  // Forgets everything: the log, violations, tracked address spaces, slot
  // states; logging and checking back on.
  static void reset();
  // Empties the log only (long runs).
  static void clear_events();
  [[nodiscard]] static std::vector<S2Event> events();
  [[nodiscard]] static size_t count(S2Event::Kind kind);

  static void set_logging(bool on);
  static void set_checking(bool on);

  // Registers an initialized address space (its root and VMID); `resolve`
  // turns a table PA into the host pointer of its page.
  static void track(const mm::Stage2& s2, TableResolver resolve);

  // Called by the table memory before it frees `pages` pages at `pa`.
  static void note_table_free(mm::PhysAddr pa, const uint64_t* host, unsigned pages);

  // The first violation seen since reset(), or one still-pending change
  // that was never invalidated; empty when all is well.
  [[nodiscard]] static std::string check_break_before_make();

  // Runs `hook` (outside the recorder's lock) at the start of every
  // store_descriptor() of this process; an empty function removes it.
  static void set_store_hook(std::function<void()> hook);

  // This thread's loaded VTTBR_EL2 (0: none) and its CPU number.
  [[nodiscard]] static uint64_t loaded_vttbr();
};

}  // namespace lamina::test
