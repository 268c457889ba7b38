// The architecture operations stage-2 management needs, as a small interface
// resolved at link time (Hafnium-style): arch/el2/stage2_arch_ops.cpp has
// the real instructions, tests/fakes/recording_stage2_arch_ops.cpp records
// every call so unit tests can assert the exact sequence (break-before-make,
// TLBI order, barriers, VTTBR switching).
//
// The ordering rules these implement are in arch/tlbi.hpp and in
// docs/ARCHITECTURE.md "Stage 2".
#pragma once

#include <cstdint>

#include "mm/addr.hpp"

namespace lamina::mm::s2ops {

// The caller's CPU number, as the owner of the address space's SpinLock
// (the host double returns a per-thread number).
[[nodiscard]] uint32_t current_cpu();

// Stores a descriptor into a live table. Every write of a stage-2
// descriptor goes through here (a release store at EL2), so the recording
// double sees each transition of each entry.
void store_descriptor(uint64_t* slot, uint64_t value);

// Makes preceding descriptor stores visible to the table walker before any
// TLB invalidation or guest access depends on them (DSB ISHST).
void publish_descriptors();

// TLB maintenance acts on the VMID in VTTBR_EL2. enter_vmid() loads `vttbr`
// (if it is not already loaded) and returns what to restore with exit_vmid().
[[nodiscard]] uint64_t enter_vmid(uint64_t vttbr);
void exit_vmid(uint64_t previous_vttbr);

// TLBI IPAS2E1IS (IPAS2LE1IS when `last_level`) for the entry mapping `ipa`
// at `level`. No barrier after: a batch is finished by complete_ipa_invalidation().
void invalidate_ipa(IntermediatePhysAddr ipa, unsigned level, bool last_level);

// Finishes a batch of invalidate_ipa(): DSB ISH (the stage-2 invalidations
// complete), TLBI VMALLE1IS (stage-1 entries cached with the old stage-2
// result), DSB ISH, ISB.
void complete_ipa_invalidation();

// Invalidates every stage-1 and stage-2 entry of the loaded VMID:
// DSB ISHST, TLBI VMALLS12E1IS, DSB ISH, ISB.
void invalidate_vmid();

// Cleans [pa, pa + size) to the Point of Coherency (a guest running with
// its caches off must see what lamina wrote).
void clean_dcache_to_poc(PhysAddr pa, uint64_t size);

// Makes [pa, pa + size) coherent for instruction fetch: I-cache invalidate
// to the PoU unless CTR_EL0.DIC says it is not needed (the D-side clean to
// the PoU is covered by clean_dcache_to_poc unless CTR_EL0.IDC).
void sync_icache(PhysAddr pa, uint64_t size);

}  // namespace lamina::mm::s2ops
