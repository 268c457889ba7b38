// Stage-2 TLB maintenance: the named TLBI sequences, barriers included.
// EL2-only. Nothing else in lamina issues a stage-2 TLBI.
//
// DDI 0487 K.a D8.13 "Translation Lookaside Buffers" (what a TLB may hold:
// stage-1 entries of the EL1&0 regime are cached *combined* with the stage-2
// result they were walked through) and D8.16 "TLB maintenance requirements"
// (the DSB that must precede a TLBI for it to see a table write, the DSB
// that completes it, the ISB that makes the result visible to this CPU).
//
// Every operation here acts on the VMID currently in VTTBR_EL2 (HCR_EL2.E2H
// and TGE are 0 in lamina), whether or not stage 2 is enabled. Maintenance
// for a VM that is not loaded on this CPU must load its VTTBR_EL2 around the
// call: mm::s2ops::enter_vmid()/exit_vmid() do that.
//
// TLBI VAE2IS/ALLE2IS (arch/cache.hpp) only touch lamina's own EL2
// translations and do nothing for a guest.
#pragma once

#if !defined(__aarch64__)
#error "arch/tlbi.hpp is EL2-only"
#endif

#include <cstdint>

#include "arch/barrier.hpp"
#include "arch/regs/tlbi_operand.hpp"
#include "mm/addr.hpp"

namespace lamina::arch {

// Invalidates, on every CPU of the Inner Shareable domain, the stage-2 entry
// for the page holding `ipa` in the loaded VMID: TLBI IPAS2LE1IS when the
// changed entry was a leaf (`last_level`: only leaf entries need dropping),
// TLBI IPAS2E1IS when a table entry changed (walk caches of the levels below
// must go too).
//
// `level` is the level of the changed entry. It would be the TTL hint with
// FEAT_TTL; lamina passes TTL = 0 ("no level information", valid on every
// CPU, where a wrong hint would be UNPREDICTABLE), so it is unused.
//
// No barrier inside, on purpose: this is one step of a batch.
//  - Before: the descriptor write must be complete for the walkers first,
//    or a walk between the TLBI and the write could refill the old entry.
//    mm::s2ops::publish_descriptors() (DSB ISHST) does that once per batch.
//  - After: complete_stage2_invalidation() (below), once per batch.
inline void invalidate_ipa_is(mm::IntermediatePhysAddr ipa, [[maybe_unused]] unsigned level, bool last_level) {
  const uint64_t operand = TlbiIpaOperand::for_ipa(ipa.value()).raw();
  if (last_level) asm volatile("tlbi ipas2le1is, %0" ::"r"(operand) : "memory");
  else asm volatile("tlbi ipas2e1is, %0" ::"r"(operand) : "memory");
}

// Finishes a batch of invalidate_ipa_is() for the loaded VMID:
//  DSB ISH       the stage-2 invalidations complete on every CPU. This must
//                come before the stage-1 invalidation: a walk on another CPU
//                could otherwise refill a combined stage 1+2 entry from the
//                old stage-2 entry right after the stage-1 invalidation.
//  TLBI VMALLE1IS  stage-1 entries of the VMID, which may cache the old
//                stage-2 output combined with their own (stage-2 TLBI by IPA
//                does not reach them: they are tagged by VA).
//  DSB ISH       that invalidation completes too.
//  ISB           later instructions on this CPU (the ERET into the guest, an
//                AT) see the new state.
inline void complete_stage2_invalidation() {
  dsb_ish();
  asm volatile("tlbi vmalle1is" ::: "memory");
  dsb_ish();
  isb();
}

// Invalidates every stage-1 and stage-2 entry of the loaded VMID on every CPU
// of the Inner Shareable domain (a VM's tables were torn down, or its VMID is
// about to be reused):
//  DSB ISHST     earlier descriptor writes are visible to the walkers
//                before the invalidation (else a walk could refill an old
//                entry after it).
//  TLBI VMALLS12E1IS  stage-1 and stage-2 entries of the VMID, in one step
//                (so the ordering rule of complete_stage2_invalidation()
//                does not arise).
//  DSB ISH       the invalidation completes on every CPU.
//  ISB           this CPU's later instructions see it.
inline void invalidate_vmid_all() {
  dsb_ishst();
  asm volatile("tlbi vmalls12e1is" ::: "memory");
  dsb_ish();
  isb();
}

}  // namespace lamina::arch
