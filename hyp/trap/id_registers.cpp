#include "hyp/trap/id_registers.hpp"

#include "arch/regs/common.hpp"
#include "arch/regs/id_aa64_regs.hpp"
#include "arch/regs/id_regs.hpp"

namespace lamina::hyp {

namespace {

using arch::IdAa64Dfr0;
using arch::IdAa64Isar0;
using arch::IdAa64Isar1;
using arch::IdAa64Isar2;
using arch::IdAa64Mmfr0;
using arch::IdAa64Mmfr1;
using arch::IdAa64Mmfr2;
using arch::IdAa64Pfr0;
using arch::IdAa64Pfr1;

// Field encodings used below (DDI 0487 K.a D23.2, the registers' field
// descriptions).
constexpr uint64_t kElAarch64Only = 0b0001;        // ID_AA64PFR0_EL1.ELx: AArch64 only
constexpr uint64_t kRasV1 = 0b0001;                // ID_AA64PFR0_EL1.RAS: FEAT_RAS
constexpr uint64_t kCsv2 = 0b0001;                 // ID_AA64PFR0_EL1.CSV2: FEAT_CSV2, no SCXTNUM_ELx
constexpr uint64_t kDebugVerV8 = 0b0110;           // ID_AA64DFR0_EL1.DebugVer: Armv8.0 debug
constexpr uint64_t kPmuVerImpDef = 0b1111;         // ID_AA64DFR0_EL1.PMUVer: IMPLEMENTATION DEFINED PMU
constexpr uint64_t kHafdbsDbm = 0b0010;            // ID_AA64MMFR1_EL1.HAFDBS: AF and dirty state, no HAFT
constexpr uint64_t kEcvSelfSynchronized = 0b0001;  // ID_AA64MMFR0_EL1.ECV: CNT[PV]CTSS_EL0 only

template <typename R, typename F>
constexpr R keep(R guest, R host, F field) {
  return guest.with(field, host.get(field));
}

// min(host, limit) of an unsigned field (a larger value is a superset).
template <typename R, typename F>
constexpr R cap(R guest, R host, F field, uint64_t limit) {
  const uint64_t v = host.get(field);
  return guest.with(field, v < limit ? v : limit);
}

// ID_AA64PFR0_EL1. EL1 is AArch64 only because HCR_EL2.RW is 1; the guest
// has no EL2 (and so no Secure EL2); EL3 stays the CPU's because SMC is
// served (HCR_EL2.TSC) as the PSCI conduit a guest may use. RAS: FEAT_RAS
// only (v1p1 adds error-record registers lamina does not virtualize).
// CSV2: at most 1, since CSV2_2/CSV2_3 add SCXTNUM_ELx (KVM caps it the same
// way). Hidden: SVE (CPTR_EL2 traps it), MPAM, AMU, RME; the GIC
// system-register interface unless the VM gets a virtual GICv3 (then GICv3,
// not v4.1). Kept: FP, AdvSIMD (signed fields: 0xF would mean absent),
// DIT, CSV3.
IdAa64Pfr0 guest_pfr0(IdAa64Pfr0 host, const IdRegisterPolicy& policy) {
  IdAa64Pfr0 g;
  g = policy.aarch32_el0 ? keep(g, host, IdAa64Pfr0::el0) : g.with(IdAa64Pfr0::el0, kElAarch64Only);
  g = g.with(IdAa64Pfr0::el1, kElAarch64Only);
  g = keep(g, host, IdAa64Pfr0::el3);
  g = keep(g, host, IdAa64Pfr0::fp);
  g = keep(g, host, IdAa64Pfr0::advsimd);
  if (policy.gic_sysreg) g = cap(g, host, IdAa64Pfr0::gic, arch::kGicSysregV3);
  g = cap(g, host, IdAa64Pfr0::ras, kRasV1);
  g = keep(g, host, IdAa64Pfr0::dit);
  g = cap(g, host, IdAa64Pfr0::csv2, kCsv2);
  g = keep(g, host, IdAa64Pfr0::csv3);
  return g;
}

// ID_AA64PFR1_EL1. Kept: BT (BTYPE is handled on injection) and SSBS
// (PSTATE.SSBS likewise). Hidden: MTE (HCR_EL2.ATA is 0, tags would fault)
// and MTE_frac/MTEX (meaningful only with MTE), RAS_frac (RASv1p1),
// MPAM_frac, SME, RNDR_trap (an EL3 control), CSV2_frac (refines CSV2 = 1;
// CSV2_1p2 adds SCXTNUM_ELx), NMI (needs the virtual GIC), GCS, THE, DF2,
// PFAR.
IdAa64Pfr1 guest_pfr1(IdAa64Pfr1 host) {
  IdAa64Pfr1 g;
  g = keep(g, host, IdAa64Pfr1::bt);
  g = keep(g, host, IdAa64Pfr1::ssbs);
  return g;
}

// ID_AA64DFR0_EL1. MDCR_EL2 traps the debug registers, which lamina
// emulates at the Armv8.0 level: DebugVer capped there (KVM caps it too),
// BRPs/WRPs/CTX_CMPs as the CPU's so the counts are real. DoubleLock is
// kept as is (0b0000 implemented, 0b1111 not: not a "larger is more" field).
// PMUVer: 0 without a virtual PMU; with one the CPU's, except that
// 0b1111 (an IMPLEMENTATION DEFINED, non-PMUv3 PMU) is reported as 0.
// Hidden (0, "not implemented"): TraceVer, PMSVer (SPE), TraceFilt,
// TraceBuffer (TRBE), and, not being named, PMSS, SEBEP, MTPMU (0 is one of
// its two "not implemented" values), BRBE, ExtTrcBuff, HPMN0.
IdAa64Dfr0 guest_dfr0(IdAa64Dfr0 host, const IdRegisterPolicy& policy) {
  IdAa64Dfr0 g;
  g = cap(g, host, IdAa64Dfr0::debugver, kDebugVerV8);
  if (policy.pmu && host.get(IdAa64Dfr0::pmuver) != kPmuVerImpDef) g = keep(g, host, IdAa64Dfr0::pmuver);
  g = keep(g, host, IdAa64Dfr0::brps);
  g = keep(g, host, IdAa64Dfr0::wrps);
  g = keep(g, host, IdAa64Dfr0::ctx_cmps);
  g = keep(g, host, IdAa64Dfr0::doublelock);
  return g;
}

// ID_AA64ISAR0_EL1: instructions that need nothing from EL2, except TME
// (transactional memory: TSTART traps, TSTATE is not switched).
IdAa64Isar0 guest_isar0(IdAa64Isar0 host) {
  IdAa64Isar0 g;
  g = keep(g, host, IdAa64Isar0::aes);
  g = keep(g, host, IdAa64Isar0::sha1);
  g = keep(g, host, IdAa64Isar0::sha2);
  g = keep(g, host, IdAa64Isar0::crc32);
  g = keep(g, host, IdAa64Isar0::atomic);
  g = keep(g, host, IdAa64Isar0::rdm);
  g = keep(g, host, IdAa64Isar0::sha3);
  g = keep(g, host, IdAa64Isar0::sm3);
  g = keep(g, host, IdAa64Isar0::sm4);
  g = keep(g, host, IdAa64Isar0::dp);
  g = keep(g, host, IdAa64Isar0::fhm);
  g = keep(g, host, IdAa64Isar0::ts);
  g = keep(g, host, IdAa64Isar0::tlb);
  g = keep(g, host, IdAa64Isar0::rndr);
  return g;
}

// ID_AA64ISAR1_EL1. Pointer authentication only when offered (otherwise
// HCR_EL2.API = 0 makes every PAC instruction trap), and then at most
// FEAT_FPACCOMBINE: FEAT_PAuth_LR adds PSTATE.PACM, which injection does not
// model. LS64 hidden (LD64B/ST64B need HCRX_EL2 enables).
IdAa64Isar1 guest_isar1(IdAa64Isar1 host, const IdRegisterPolicy& policy) {
  IdAa64Isar1 g;
  g = keep(g, host, IdAa64Isar1::dpb);
  g = keep(g, host, IdAa64Isar1::jscvt);
  g = keep(g, host, IdAa64Isar1::fcma);
  g = keep(g, host, IdAa64Isar1::lrcpc);
  g = keep(g, host, IdAa64Isar1::frintts);
  g = keep(g, host, IdAa64Isar1::sb);
  g = keep(g, host, IdAa64Isar1::specres);
  g = keep(g, host, IdAa64Isar1::bf16);
  g = keep(g, host, IdAa64Isar1::dgh);
  g = keep(g, host, IdAa64Isar1::i8mm);
  g = keep(g, host, IdAa64Isar1::xs);
  if (policy.pointer_auth) {
    g = cap(g, host, IdAa64Isar1::apa, arch::kPauthFpacCombine);
    g = cap(g, host, IdAa64Isar1::api, arch::kPauthFpacCombine);
    g = keep(g, host, IdAa64Isar1::gpa);
    g = keep(g, host, IdAa64Isar1::gpi);
  }
  return g;
}

// ID_AA64ISAR2_EL1. Pointer authentication as in ISAR1. Hidden: WFxT
// (WFIT/WFET trap with TWI/TWE and lamina does not honour their timeout),
// MOPS (needs HCRX_EL2.MSCEn, and its exceptions routing), SYSREG_128 and
// SYSINSTR_128 (128-bit system registers need EL2/EL3 enables).
IdAa64Isar2 guest_isar2(IdAa64Isar2 host, const IdRegisterPolicy& policy) {
  IdAa64Isar2 g;
  g = keep(g, host, IdAa64Isar2::rpres);
  g = keep(g, host, IdAa64Isar2::bc);
  g = keep(g, host, IdAa64Isar2::clrbhb);
  g = keep(g, host, IdAa64Isar2::prfmslc);
  g = keep(g, host, IdAa64Isar2::pcdphint);
  g = keep(g, host, IdAa64Isar2::rprfm);
  g = keep(g, host, IdAa64Isar2::cssc);
  g = keep(g, host, IdAa64Isar2::lut);
  g = keep(g, host, IdAa64Isar2::ats1a);
  if (policy.pointer_auth) {
    g = cap(g, host, IdAa64Isar2::apa3, arch::kPauthFpacCombine);
    g = keep(g, host, IdAa64Isar2::gpa3);
    g = keep(g, host, IdAa64Isar2::pac_frac);
  }
  return g;
}

// ID_AA64MMFR0_EL1. PARange: the VM's IPA size (the guest's "physical"
// address space), never more than the CPU's. The granule fields are the
// CPU's (TGran4/TGran64 are signed: 0xF means absent, kept as is). FGT
// (EL2 fine-grained traps) hidden; ECV capped at the self-synchronized
// counter views (CNTPOFF_EL2 is EL2's).
IdAa64Mmfr0 guest_mmfr0(IdAa64Mmfr0 host, const IdRegisterPolicy& policy) {
  IdAa64Mmfr0 g;
  const auto host_pa = host.get(IdAa64Mmfr0::parange);
  const auto vm_pa = arch::phys_addr_size_for_bits(policy.ipa_bits);
  const bool vm_smaller = static_cast<uint64_t>(vm_pa) < static_cast<uint64_t>(host_pa);
  g = g.with(IdAa64Mmfr0::parange, vm_smaller ? vm_pa : host_pa);
  g = keep(g, host, IdAa64Mmfr0::asidbits);
  g = keep(g, host, IdAa64Mmfr0::bigend);
  g = keep(g, host, IdAa64Mmfr0::snsmem);
  g = keep(g, host, IdAa64Mmfr0::bigendel0);
  g = keep(g, host, IdAa64Mmfr0::tgran16);
  g = keep(g, host, IdAa64Mmfr0::tgran64);
  g = keep(g, host, IdAa64Mmfr0::tgran4);
  g = keep(g, host, IdAa64Mmfr0::tgran16_2);
  g = keep(g, host, IdAa64Mmfr0::tgran64_2);
  g = keep(g, host, IdAa64Mmfr0::tgran4_2);
  g = keep(g, host, IdAa64Mmfr0::exs);
  g = cap(g, host, IdAa64Mmfr0::ecv, kEcvSelfSynchronized);
  return g;
}

// ID_AA64MMFR1_EL1. Hidden, being EL2's: VMIDBits, VH, XNX, TWED, HCX; and
// LO (LORegion registers trap with HCR_EL2.TLOR). HAFDBS capped at DBM:
// HAFT needs TCR2_EL1, hidden in ID_AA64MMFR3_EL1. ECBHB ([63:60]) is not
// named and reads 0, the safe answer (the guest mitigates Spectre-BHB).
IdAa64Mmfr1 guest_mmfr1(IdAa64Mmfr1 host) {
  IdAa64Mmfr1 g;
  g = cap(g, host, IdAa64Mmfr1::hafdbs, kHafdbsDbm);
  g = keep(g, host, IdAa64Mmfr1::hpds);
  g = keep(g, host, IdAa64Mmfr1::pan);
  g = keep(g, host, IdAa64Mmfr1::specsei);
  g = keep(g, host, IdAa64Mmfr1::ets);
  g = keep(g, host, IdAa64Mmfr1::afp);
  g = keep(g, host, IdAa64Mmfr1::ntlbpa);
  g = keep(g, host, IdAa64Mmfr1::tidcp1);
  g = keep(g, host, IdAa64Mmfr1::cmow);
  return g;
}

// ID_AA64MMFR2_EL1. Hidden, being EL2's: NV, FWB, EVT.
IdAa64Mmfr2 guest_mmfr2(IdAa64Mmfr2 host) {
  IdAa64Mmfr2 g;
  g = keep(g, host, IdAa64Mmfr2::cnp);
  g = keep(g, host, IdAa64Mmfr2::uao);
  g = keep(g, host, IdAa64Mmfr2::lsm);
  g = keep(g, host, IdAa64Mmfr2::iesb);
  g = keep(g, host, IdAa64Mmfr2::varange);
  g = keep(g, host, IdAa64Mmfr2::ccidx);
  g = keep(g, host, IdAa64Mmfr2::st);
  g = keep(g, host, IdAa64Mmfr2::at);
  g = keep(g, host, IdAa64Mmfr2::ids);
  g = keep(g, host, IdAa64Mmfr2::ttl);
  g = keep(g, host, IdAa64Mmfr2::bbm);
  g = keep(g, host, IdAa64Mmfr2::e0pd);
  return g;
}

// The AArch32 registers (CRm 1-3): allocated encodings per DDI 0487 K.a D23.2
// (CRm 3: op2 3 and 7 are unallocated).
constexpr bool is_allocated_aarch32(uint32_t crm, uint32_t op2) {
  return !(crm == 3 && (op2 == 3 || op2 == 7));
}

}  // namespace

uint64_t sanitize_id_register(uint32_t crm, uint32_t op2, uint64_t host_value,
                              const IdRegisterPolicy& policy) {
  if (crm >= 1 && crm <= 3) {
    return policy.aarch32_el0 && op2 <= 7 && is_allocated_aarch32(crm, op2) ? host_value : 0;
  }
  switch (crm * 8 + op2) {
    case 4 * 8 + 0: return guest_pfr0(IdAa64Pfr0(host_value), policy).raw();
    case 4 * 8 + 1: return guest_pfr1(IdAa64Pfr1(host_value)).raw();
    case 5 * 8 + 0: return guest_dfr0(IdAa64Dfr0(host_value), policy).raw();
    case 6 * 8 + 0: return guest_isar0(IdAa64Isar0(host_value)).raw();
    case 6 * 8 + 1: return guest_isar1(IdAa64Isar1(host_value), policy).raw();
    case 6 * 8 + 2: return guest_isar2(IdAa64Isar2(host_value), policy).raw();
    case 7 * 8 + 0: return guest_mmfr0(IdAa64Mmfr0(host_value), policy).raw();
    case 7 * 8 + 1: return guest_mmfr1(IdAa64Mmfr1(host_value)).raw();
    case 7 * 8 + 2: return guest_mmfr2(IdAa64Mmfr2(host_value)).raw();
    // Everything else in CRm 4-7 is hidden whole: ID_AA64PFR2_EL1 (MTE
    // extensions, FPMR), ID_AA64ZFR0_EL1 (SVE), ID_AA64SMFR0_EL1 (SME),
    // ID_AA64FPFR0_EL1 (FP8, needs FPMR), ID_AA64DFR1_EL1 and
    // ID_AA64DFR2_EL1 (debug/PMU beyond Armv8.0), ID_AA64AFR0/1_EL1
    // (IMPLEMENTATION DEFINED: nothing lamina can vouch for),
    // ID_AA64ISAR3_EL1, ID_AA64MMFR3_EL1 (TCR2, SCTLR2, S1PIE, S1POE...:
    // new EL1 registers with HCRX_EL2 enables), ID_AA64MMFR4_EL1 (EL2 and
    // EL3 features), and the unallocated encodings, which read as zero.
    default: return 0;
  }
}

Result<uint64_t, IdRegisterError> guest_id_register(arch::SysRegId id, uint64_t host_value,
                                                    const IdRegisterPolicy& policy) {
  const SysRegFields f = sys_reg_fields(id);
  if (!is_id_register_space(f.op0, f.op1, f.crn, f.crm)) return Err{IdRegisterError::kNotIdRegister};
  return sanitize_id_register(f.crm, f.op2, host_value, policy);
}

GuestPstateFeatures guest_pstate_features(uint64_t host_pfr1, uint64_t host_mmfr1, uint64_t host_mmfr2,
                                          const IdRegisterPolicy& policy) {
  const IdAa64Pfr1 pfr1(sanitize_id_register(4, 1, host_pfr1, policy));
  const IdAa64Mmfr1 mmfr1(sanitize_id_register(7, 1, host_mmfr1, policy));
  const IdAa64Mmfr2 mmfr2(sanitize_id_register(7, 2, host_mmfr2, policy));
  GuestPstateFeatures f;
  f.pan = mmfr1.get(IdAa64Mmfr1::pan) != 0;
  f.uao = mmfr2.get(IdAa64Mmfr2::uao) != 0;
  f.bti = pfr1.get(IdAa64Pfr1::bt) != 0;
  f.ssbs = pfr1.get(IdAa64Pfr1::ssbs) != 0;
  f.mte = pfr1.get(IdAa64Pfr1::mte) != 0;
  return f;
}

}  // namespace lamina::hyp
