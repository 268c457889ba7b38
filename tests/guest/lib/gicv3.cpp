#include "gicv3.hpp"

#include "guest.hpp"

namespace guest::gicv3 {

namespace {
constexpr uint64_t kSre = 0x7;  // ICC_SRE_EL1: SRE, DFB, DIB
}  // namespace

bool enable_cpu(uintptr_t rd, uint32_t enable, uint8_t priority, uint64_t pmr) {
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

}  // namespace guest::gicv3
