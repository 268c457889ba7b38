#include "gic.hpp"

#include "guest.hpp"

namespace guest::gic {

namespace {
constexpr uint64_t kSre = 0x7;  // ICC_SRE_EL1: SRE, DFB, DIB
}  // namespace

Version detect() {
  if (fdt_has_compatible(dtb(), "arm,gic-v3")) return Version::kV3;
  if (fdt_has_compatible(dtb(), "arm,cortex-a15-gic")) return Version::kV2;
  return Version::kNone;
}

void enable_distributor(Version v) {
  mmio_write32(kGicd + kGicdCtlr, v == Version::kV2 ? kCtlrV2Enable : kCtlrAre | kCtlrEnableGrp1);
}

bool enable_cpu(Version v, uintptr_t rd, uint32_t enable, uint8_t priority, uint64_t pmr) {
  if (v == Version::kV2) {
    for (uint32_t intid = 0; intid < 32; ++intid)
      if ((enable >> intid) & 1) mmio_write8(kGicd + kIpriorityr + intid, priority);
    mmio_write32(kGicd + kIsenabler0, enable);
    mmio_write32(kGicc + kGiccPmr, static_cast<uint32_t>(pmr));
    mmio_write32(kGicc + kGiccBpr, 0);
    mmio_write32(kGicc + kGiccCtlr, kCtlrV2Enable);
    return true;
  }
  GUEST_WRITE_SYSREG(S3_0_C12_C12_5, kSre);  // ICC_SRE_EL1
  isb();
  if ((GUEST_READ_SYSREG(S3_0_C12_C12_5) & 1) == 0) return false;
  mmio_write32(rd + kGicrWaker, mmio_read32(rd + kGicrWaker) & ~kWakerProcessorSleep);
  for (int i = 0; i < 1000 && (mmio_read32(rd + kGicrWaker) & kWakerChildrenAsleep) != 0; ++i) {
  }
  mmio_write32(rd + kSgiBase + kIgroupr0, 0xffffffff);
  for (uint32_t intid = 0; intid < 32; ++intid)
    if ((enable >> intid) & 1) mmio_write8(rd + kSgiBase + kIpriorityr + intid, priority);
  mmio_write32(rd + kSgiBase + kIsenabler0, enable);
  GUEST_WRITE_SYSREG(S3_0_C4_C6_0, pmr);  // ICC_PMR_EL1
  GUEST_WRITE_SYSREG(S3_0_C12_C12_3, 0);  // ICC_BPR1_EL1
  GUEST_WRITE_SYSREG(S3_0_C12_C12_7, 1);  // ICC_IGRPEN1_EL1
  isb();
  return true;
}

uintptr_t private_frame(Version v, uintptr_t rd) {
  if (v == Version::kV2) return kGicd;
  return rd == 0 ? 0 : rd + kSgiBase;
}

uint64_t acknowledge(Version v) {
  if (v == Version::kV2) return mmio_read32(kGicc + kGiccIar);
  return GUEST_READ_SYSREG(S3_0_C12_C12_0);  // ICC_IAR1_EL1
}

void end_of_interrupt(Version v, uint64_t iar) {
  if (v == Version::kV2) {
    mmio_write32(kGicc + kGiccEoir, static_cast<uint32_t>(iar));
  } else {
    GUEST_WRITE_SYSREG(S3_0_C12_C12_1, iar);  // ICC_EOIR1_EL1
  }
  isb();
}

uint32_t intid_of(Version v, uint64_t iar) {
  return static_cast<uint32_t>(v == Version::kV2 ? bits(iar, 9, 0) : bits(iar, 23, 0));
}

}  // namespace guest::gic
