// The values lamina programs into the EL2 control registers, decided by pure
// functions over the layout types (host-tested). boot/el2_setup.cpp does the
// writes, in order, on every CPU.
#pragma once

#include <cstdint>

#include "arch/regs/cnthctl_el2.hpp"
#include "arch/regs/cptr_el2.hpp"
#include "arch/regs/hcr_el2.hpp"
#include "arch/regs/mdcr_el2.hpp"
#include "arch/regs/sctlr_el2.hpp"
#include "arch/regs/tcr_el2.hpp"
#include "arch/regs/vtcr_el2.hpp"
#include "hyp/cpu/features.hpp"
#include "hyp/lib/result.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::hyp {

// HCR_EL2 while no guest runs on this CPU: EL1 is AArch64 (RW) and nothing
// else; stage 2 (VM) and the guest traps are turned on per vCPU later.
[[nodiscard]] arch::HcrEl2 idle_hcr_el2();

// HCR_EL2 while a vCPU runs (DDI 0487 K.a D23.2 "HCR_EL2"): stage 2 on
// (VM), EL1 AArch64 (RW); physical IRQ/FIQ/SError to EL2 (IMO/FMO/AMO);
// barriers and TLB maintenance broadcast inner shareable (BSU, FB); WFI
// trapped (TWI: lamina idles the CPU), WFE not (a guest's spin-wait stays
// native); ID registers trapped for sanitizing (TID3); SMC trapped (TSC:
// PSCI over SMC is served like HVC); IMPLEMENTATION DEFINED registers
// trapped (TIDCP: UNDEFINED); LORegions trapped (TLOR: hidden); pointer
// authentication not trapped (API, APK: the guest owns its keys on its
// pinned CPU); FWB when the CPU has it and stage 2 uses it.
[[nodiscard]] arch::HcrEl2 guest_hcr_el2(bool fwb);

// MDCR_EL2 while a vCPU runs: the PMU (hidden from guests) and SPE/trace
// trap; debug registers do not: the guest owns them on its pinned CPU
// (switched as vCPU state, MDSCR_EL1 included).
[[nodiscard]] arch::MdcrEl2 guest_mdcr_el2(uint64_t pmcr_n);

// CPTR_EL2: FP/SIMD not trapped (lamina's boot-time libfdt uses it, and
// guests own it), SVE/SME trapped (lamina does not switch their state yet),
// trace and activity monitors trapped.
[[nodiscard]] arch::CptrEl2 cptr_el2_value();

// MDCR_EL2: debug and PMU accesses from EL1/EL0 trap to EL2 until lamina
// virtualizes them; HPMN = PMCR_EL0.N leaves all counters to EL1 semantics.
[[nodiscard]] arch::MdcrEl2 mdcr_el2_value(uint64_t pmcr_n);

// CNTHCTL_EL2: EL1 reads the physical counter freely, but the EL1 physical
// timer traps: guests get the virtual timer, the physical one is lamina's.
// The counter event stream is on, so every WFE wait has a bounded sleep.
[[nodiscard]] arch::CnthctlEl2 cnthctl_el2_value();

// TCR_EL2 for lamina's identity map covering `va_bits` of address.
[[nodiscard]] arch::TcrEl2 tcr_el2_value(unsigned va_bits, arch::PhysAddrSize ps);

// SCTLR_EL2 with the MMU and caches on, stack alignment checked, and WXN
// (writable implies execute-never).
[[nodiscard]] arch::SctlrEl2 sctlr_el2_mmu_on();

// VTCR_EL2 for a stage-2 geometry on this CPU (PS from PARange; 16-bit
// VMIDs where supported).
[[nodiscard]] arch::VtcrEl2 vtcr_el2_value(const mm::Stage2Geometry& g, const CpuFeatures& f);

// The IPA size lamina gives VMs by default: the CPU's PA size, capped at 48
// bits (52 needs FEAT_LPA2, which lamina does not use).
[[nodiscard]] unsigned default_ipa_bits(const CpuFeatures& f);

// lamina's own VA size for the EL2 identity map: enough for every PA.
[[nodiscard]] unsigned hyp_va_bits(const CpuFeatures& f);

}  // namespace lamina::hyp
