// The EL2 implementation of mm/stage2_arch_ops.hpp: the instructions behind
// stage-2 management. The host double is tests/fakes/recording_stage2_arch_ops.cpp.
// <compare> first: mm/addr.hpp (via mm/stage2_arch_ops.hpp) defaults
// operator<=> without including it.
#include <compare>
#include <cstdint>

#include "mm/stage2_arch_ops.hpp"

#include "arch/barrier.hpp"
#include "arch/cache.hpp"
#include "arch/sysreg.hpp"
#include "arch/tlbi.hpp"
#include "hyp/percpu.hpp"

namespace lamina::mm::s2ops {

namespace {

// CTR_EL0.L1Ip = 0b11: the L1 instruction cache is PIPT, so invalidating by
// lamina's VA reaches the lines the guest fetched through its own VA.
// DDI 0487 K.a D23.2 "CTR_EL0", field L1Ip.
constexpr uint64_t kL1IpPipt = 0b11;

// IC IVAU over [va, va + size): invalidate to the PoU by address, broadcast
// to the Inner Shareable domain.
void invalidate_icache_range_pou(uint64_t va, uint64_t size, uint64_t line) {
  const uint64_t end = va + size;
  for (uint64_t p = va & ~(line - 1); p < end; p += line) asm volatile("ic ivau, %0" ::"r"(p) : "memory");
}

}  // namespace

uint32_t current_cpu() { return hyp::this_cpu().index; }

// A release store (STLR): single-copy atomic for an aligned 64-bit
// descriptor, so a walker never sees half an update (DDI 0487 K.a B2.2.1
// "Requirements for single-copy atomicity"), and ordered after every earlier
// store of this CPU, such as the zeroing of a next-level table the
// descriptor links in (as Linux's kvm_set_table_pte). Completion for the
// walkers is publish_descriptors()'s job.
void store_descriptor(uint64_t* slot, uint64_t value) { __atomic_store_n(slot, value, __ATOMIC_RELEASE); }

// DSB ISHST: every descriptor store before it is complete for the table
// walkers of the Inner Shareable domain before any later TLBI or guest entry
// (DDI 0487 K.a D8.16 "TLB maintenance requirements").
void publish_descriptors() { arch::dsb_ishst(); }

// Loads `vttbr` when another VM (or none) is loaded: the TLBIs of
// arch/tlbi.hpp act on VTTBR_EL2.VMID. The ISB makes the new VMID the one
// later TLBIs use. VTCR_EL2 is not switched: TLBI does not depend on it, and
// its VS (VMID size) is the same for every VM.
//
// Not handled yet, because lamina runs no guest: CPUs with the
// speculative-AT errata (e.g. Cortex-A76 #1165522, Cortex-A72 #1319367)
// could fill the TLB for the new VMID from the current EL1 stage-1 state
// between this write and exit_vmid(); Linux disables stage-1 walks
// (TCR_EL1.EPDx) around the switch. It belongs here, the only place VTTBR_EL2
// is switched for maintenance.
uint64_t enter_vmid(uint64_t vttbr) {
  const uint64_t current = arch::read<arch::VttbrEl2>().raw();
  if (current != vttbr) {
    arch::write(arch::VttbrEl2::from_raw(vttbr));
    arch::isb();
  }
  return current;
}

void exit_vmid(uint64_t previous_vttbr) {
  if (arch::read<arch::VttbrEl2>().raw() == previous_vttbr) return;
  arch::write(arch::VttbrEl2::from_raw(previous_vttbr));
  arch::isb();
}

void invalidate_ipa(IntermediatePhysAddr ipa, unsigned level, bool last_level) {
  arch::invalidate_ipa_is(ipa, level, last_level);
}

void complete_ipa_invalidation() { arch::complete_stage2_invalidation(); }

void invalidate_vmid() { arch::invalidate_vmid_all(); }

// DC CVAC to the PoC, never skipped (not even with CTR_EL0.IDC): a guest
// running with its MMU or caches off reads memory directly and must see
// what lamina wrote through its cacheable map.
void clean_dcache_to_poc(PhysAddr pa, uint64_t size) {
  if (size == 0) return;
  arch::clean_dcache_to_poc(to_va(pa).value(), size);
}

// Instruction-side coherence for [pa, pa + size) (DDI 0487 K.a D7.5
// "Cache support", instruction cache maintenance; D23.2 "CTR_EL0"):
//  - D-side: new instructions must reach the PoU before the I-cache refills.
//    The caller's clean_dcache_to_poc() goes further than the PoU (and
//    completes with a DSB), so no DC CVAU here; with CTR_EL0.IDC = 1 not even
//    that would be needed for the PoU.
//  - I-side: with CTR_EL0.DIC = 1 the I-cache is coherent with data writes
//    and nothing is needed. Otherwise IC IVAU over the range when the
//    I-cache is PIPT; a VIPT/VPIPT I-cache may hold the guest's lines under
//    aliases lamina's VA does not reach, so IC IALLUIS (whole cache) then.
//    DSB ISH completes the invalidation on every CPU; ISB resynchronizes
//    this CPU's fetch.
void sync_icache(PhysAddr pa, uint64_t size) {
  if (size == 0) return;
  const arch::CtrEl0 ctr = arch::read<arch::CtrEl0>();
  if (ctr.get(arch::CtrEl0::dic)) {
    arch::isb();
    return;
  }
  if (ctr.get(arch::CtrEl0::l1ip) == kL1IpPipt) {
    invalidate_icache_range_pou(to_va(pa).value(), size, ctr.icache_line_bytes());
  } else {
    asm volatile("ic ialluis" ::: "memory");
  }
  arch::dsb_ish();
  arch::isb();
}

}  // namespace lamina::mm::s2ops
