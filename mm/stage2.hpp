// A VM's stage-2 address space: map, unmap, protect and look up IPAs,
// through the one descriptor codec (mm/stage2_desc) and one walker.
//
// Rules (see docs/ARCHITECTURE.md "Stage 2"):
// - Break-before-make: any change of a valid entry that alters its output
//   address, its size (block <-> table) or its memory type first writes an
//   invalid entry, publishes it and invalidates the TLB for it, and only
//   then writes the new entry (DDI 0487 K.a D8.16.1 "Using break-before-make
//   when updating translation table entries"). A change of permissions alone
//   is written in place and invalidated afterwards.
// - TLB maintenance is batched per operation: up to kMaxBatchedInvalidations
//   per-IPA invalidations, else one whole-VMID invalidation.
// - Concurrency: one lock per address space serializes every operation
//   (several vCPUs faulting at once take turns); lookups take it too.
// - Tables that become empty are freed; the root is freed by destroy().
#pragma once

#include <cstdint>

#include "arch/regs/stage2_desc.hpp"
#include "hyp/lib/result.hpp"
#include "hyp/lib/spinlock.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"
#include "mm/stage2_desc.hpp"
#include "mm/stage2_geometry.hpp"
#include "mm/vmid.hpp"

namespace lamina::mm {

// Where table pages come from. `alloc(pages)` returns `pages` zeroed,
// contiguous frames aligned to their total size (the root may be up to 16
// concatenated tables), or kNoMemory.
struct S2TableMemory {
  void* context = nullptr;
  Result<PhysAddr, Error> (*alloc)(void* context, unsigned pages) = nullptr;
  void (*free)(void* context, PhysAddr pa, unsigned pages) = nullptr;
  uint64_t* (*table)(void* context, PhysAddr pa) = nullptr;
};

struct S2Lookup {
  uint64_t descriptor = 0;
  unsigned level = 0;
  PhysAddr output;        // the output address for the looked-up IPA
  S2DecodedLeaf leaf;     // the decoded leaf (base output and attributes)
};

inline constexpr unsigned kMaxBatchedInvalidations = 64;

class Stage2 {
 public:
  struct Config {
    Stage2Geometry geometry;
    S2CodecConfig codec;
    Vmid vmid{0};
    bool cnp = false;  // FEAT_TTCNP: share TLB entries between CPUs
  };

  Stage2() = default;
  Stage2(const Stage2&) = delete;
  Stage2& operator=(const Stage2&) = delete;

  // Allocates the (possibly concatenated) root. kNoMemory on failure.
  [[nodiscard]] Status<Error> init(const Config& config, S2TableMemory memory);

  // Invalidates the VMID's TLB entries and frees every table, root included.
  void destroy();

  // Maps [ipa, ipa + size) to [pa, pa + size) with `attrs`, replacing
  // whatever was mapped there (with break-before-make). Uses 1 GiB and 2 MiB
  // blocks where alignment and size allow, 4 KiB pages elsewhere. ipa, pa and
  // size must be page-aligned (kMisaligned); the range must lie inside the
  // IPA space (kOutOfRange); attrs must be encodable (kExecuteDevice,
  // kBadAttributes). Every operation returns kBusy, changing nothing, if the
  // calling CPU already holds this address space's lock.
  // On kNoMemory the part before the failure is mapped, the rest unchanged.
  [[nodiscard]] Status<Error> map(IntermediatePhysAddr ipa, PhysAddr pa, uint64_t size, const S2Attrs& attrs);

  // Unmaps [ipa, ipa + size) (page-aligned). Blocks only partly inside are
  // split first (which may fail with kNoMemory); empty tables are freed.
  [[nodiscard]] Status<Error> unmap(IntermediatePhysAddr ipa, uint64_t size);

  // Changes the attributes of every mapped page in [ipa, ipa + size),
  // keeping output addresses; unmapped parts are left unmapped. Blocks only
  // partly inside are split first.
  [[nodiscard]] Status<Error> protect(IntermediatePhysAddr ipa, uint64_t size, const S2Attrs& attrs);

  // The leaf translating `ipa`; kOutOfRange when unmapped or outside the space.
  [[nodiscard]] Result<S2Lookup, Error> lookup(IntermediatePhysAddr ipa);

  // VTTBR_EL2 for this VM (root, VMID, CnP).
  [[nodiscard]] arch::VttbrEl2 vttbr() const;
  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] PhysAddr root() const { return root_; }
  // Table pages currently owned, root pages included (for leak checks).
  [[nodiscard]] uint64_t table_pages() const { return table_pages_; }

 private:
  class Batch;  // one operation's TLB maintenance, deferred makes and deferred frees
  class Guard;  // the per-VM lock, held for one operation
  struct Impl;  // the walker visitors and their helpers (mm/stage2.cpp)

  Config config_;
  S2TableMemory memory_;
  PhysAddr root_;
  uint64_t table_pages_ = 0;
  SpinLock lock_;
};

// Makes memory lamina wrote (a loaded kernel, a zeroed page) visible to a
// guest that may run with its caches off, and coherent for instruction
// fetch when `executable`.
void make_visible_to_guest(PhysAddr pa, uint64_t size, bool executable);

}  // namespace lamina::mm
