// idregs: lamina sanitizes the ID registers (HCR_EL2.TID3) to hide what it
// does not virtualize. Fields from DDI 0487 (the ID_AA64*_EL1 register
// descriptions); expected values are lamina's contract:
//   ID_AA64PFR0_EL1  EL2 [11:8] 0, GIC [27:24] 0 (1 with a vGICv3 in the DT), SVE [35:32] 0, MPAM [43:40] 0,
//                    AMU [47:44] 0
//   ID_AA64PFR1_EL1  MTE [11:8] 0, SME [27:24] 0
//   ID_AA64DFR0_EL1  TraceVer [7:4] 0, PMUVer [11:8] 0, PMSVer [35:32] 0,
//                    TraceBuffer [47:44] 0
//   ID_AA64ZFR0_EL1 (S3_0_C0_C4_4) and ID_AA64SMFR0_EL1 (S3_0_C0_C4_5): 0
//   ID_AA64MMFR0_EL1 PARange [3:0] = the VM's IPA size (GUEST_PARAM(ipa_bits):
//                    40 -> 0b0010, 48 -> 0b0101)
//   reserved encodings in the ID space (op0 3, op1 0, CRn 0, CRm 1..7) read 0
//   (DDI 0487, "Reserved encodings ... ID registers": RAZ).
// A secondary vCPU must see the same values.
#include "guest.hpp"

extern const char kGuestName[] = "idregs";

namespace {

using namespace guest;

struct IdRegs {
  uint64_t pfr0, pfr1, dfr0, zfr0, smfr0, mmfr0, mmfr1, mmfr2, isar0, isar1, isar2, dfr1, afr0;
};

IdRegs read_id_regs() {
  IdRegs r;
  r.pfr0 = GUEST_READ_SYSREG(S3_0_C0_C4_0);
  r.pfr1 = GUEST_READ_SYSREG(S3_0_C0_C4_1);
  r.zfr0 = GUEST_READ_SYSREG(S3_0_C0_C4_4);
  r.smfr0 = GUEST_READ_SYSREG(S3_0_C0_C4_5);
  r.dfr0 = GUEST_READ_SYSREG(S3_0_C0_C5_0);
  r.dfr1 = GUEST_READ_SYSREG(S3_0_C0_C5_1);
  r.afr0 = GUEST_READ_SYSREG(S3_0_C0_C5_4);
  r.isar0 = GUEST_READ_SYSREG(S3_0_C0_C6_0);
  r.isar1 = GUEST_READ_SYSREG(S3_0_C0_C6_1);
  r.isar2 = GUEST_READ_SYSREG(S3_0_C0_C6_2);
  r.mmfr0 = GUEST_READ_SYSREG(S3_0_C0_C7_0);
  r.mmfr1 = GUEST_READ_SYSREG(S3_0_C0_C7_1);
  r.mmfr2 = GUEST_READ_SYSREG(S3_0_C0_C7_2);
  return r;
}

struct Mail {
  volatile uint64_t done;
  IdRegs regs;
};
Mail g_mail;

constexpr uint64_t parange_for(uint64_t ipa_bits) {
  switch (ipa_bits) {
    case 32: return 0b0000;
    case 36: return 0b0001;
    case 40: return 0b0010;
    case 42: return 0b0011;
    case 44: return 0b0100;
    case 48: return 0b0101;
    case 52: return 0b0110;
    default: return 0xf;
  }
}

}  // namespace

void guest_secondary(unsigned, uint64_t, const EntryState&) {
  g_mail.regs = read_id_regs();
  dsb_sy();
  g_mail.done = 1;
  dsb_sy();
  sev();
}

int guest_main() {
  const IdRegs r = read_id_regs();
  info("ID_AA64PFR0 0x%lx PFR1 0x%lx DFR0 0x%lx DFR1 0x%lx ZFR0 0x%lx SMFR0 0x%lx", r.pfr0, r.pfr1, r.dfr0, r.dfr1,
       r.zfr0, r.smfr0);
  info("ID_AA64MMFR0 0x%lx MMFR1 0x%lx MMFR2 0x%lx ISAR0 0x%lx ISAR1 0x%lx ISAR2 0x%lx AFR0 0x%lx", r.mmfr0, r.mmfr1,
       r.mmfr2, r.isar0, r.isar1, r.isar2, r.afr0);

  check_eq("idregs.pfr0.el2", bits(r.pfr0, 11, 8), 0);
  // The GIC system-register interface is offered exactly when the VM has a
  // virtual GICv3 (GICv3 hosts), which its DT then describes.
  check_eq("idregs.pfr0.gic", bits(r.pfr0, 27, 24), fdt_has_compatible(dtb(), "arm,gic-v3") ? 1 : 0);
  check_eq("idregs.pfr0.sve", bits(r.pfr0, 35, 32), 0);
  check_eq("idregs.pfr0.mpam", bits(r.pfr0, 43, 40), 0);
  check_eq("idregs.pfr0.amu", bits(r.pfr0, 47, 44), 0);
  check_eq("idregs.pfr1.mte", bits(r.pfr1, 11, 8), 0);
  check_eq("idregs.pfr1.sme", bits(r.pfr1, 27, 24), 0);
  check_eq("idregs.dfr0.tracever", bits(r.dfr0, 7, 4), 0);
  check_eq("idregs.dfr0.pmuver", bits(r.dfr0, 11, 8), 0);
  check_eq("idregs.dfr0.pmsver", bits(r.dfr0, 35, 32), 0);
  check_eq("idregs.dfr0.tracebuffer", bits(r.dfr0, 47, 44), 0);
  check_eq("idregs.zfr0", r.zfr0, 0);
  check_eq("idregs.smfr0", r.smfr0, 0);
  // EL1 [7:4] and EL0 [3:0]: AArch64 must be there (0b0001 or 0b0010).
  check("idregs.pfr0.el1-aarch64", bits(r.pfr0, 7, 4) == 1 || bits(r.pfr0, 7, 4) == 2, "EL1 field 0x%lx",
        bits(r.pfr0, 7, 4));

  const uint64_t ipa_bits = GUEST_PARAM(ipa_bits);
  if (ipa_bits != 0) {
    check_eq(name("idregs.mmfr0.parange-ipa%lu", ipa_bits), bits(r.mmfr0, 3, 0), parange_for(ipa_bits));
  } else {
    check("idregs.mmfr0.parange-known", bits(r.mmfr0, 3, 0) <= 6, "PARange 0x%lx", bits(r.mmfr0, 3, 0));
  }

  // Reserved encodings (op0 3, op1 0, CRn 0): CRm 3 op2 7, CRm 4 op2 6,
  // CRm 5 op2 3, CRm 6 op2 7, CRm 7 op2 7.
  check_eq("idregs.reserved.S3_0_C0_C3_7", GUEST_READ_SYSREG(S3_0_C0_C3_7), 0);
  check_eq("idregs.reserved.S3_0_C0_C4_6", GUEST_READ_SYSREG(S3_0_C0_C4_6), 0);
  check_eq("idregs.reserved.S3_0_C0_C5_3", GUEST_READ_SYSREG(S3_0_C0_C5_3), 0);
  check_eq("idregs.reserved.S3_0_C0_C6_7", GUEST_READ_SYSREG(S3_0_C0_C6_7), 0);
  check_eq("idregs.reserved.S3_0_C0_C7_7", GUEST_READ_SYSREG(S3_0_C0_C7_7), 0);

  // The same values on a second vCPU, if there is one.
  if (fdt_cpu_count(dtb()) >= 2) {
    g_mail.done = 0;
    dsb_sy();
    const int64_t on = psci_call(Conduit::kHvc, psci::kCpuOn64, target_cpu(1), secondary_entry_address(), 0);
    if (check_eq("idregs.secondary.cpu-on", static_cast<uint64_t>(on), 0) &&
        check("idregs.secondary.reported", wait_until([] { return g_mail.done != 0; }, 5000000), "no report in 5 s")) {
      check("idregs.secondary.same-values", memcmp(&g_mail.regs, &r, sizeof r) == 0,
            "PFR0 0x%lx DFR0 0x%lx MMFR0 0x%lx on vCPU 1", g_mail.regs.pfr0, g_mail.regs.dfr0, g_mail.regs.mmfr0);
    }
  }
  return 0;
}
