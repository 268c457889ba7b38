// The front end of hyp/gic_host.hpp: which backend serves this host.
#include "hyp/gic_host.hpp"

#include "arch/regs/gicd.hpp"

#include "hyp/gic_host_backend.hpp"
#include "hyp/log.hpp"

namespace lamina::hyp {

namespace {

GicDesc g_gic;
GicVersion g_version = GicVersion::kNone;
uint32_t g_maintenance_intid = kMaintenancePpi;

// Tested on every call: the GICv3 path pays one compare and branch.
bool v2() { return g_version == GicVersion::kV2; }

bool is_spi(uint32_t intid) {
  return intid >= arch::gic::kNumPrivate && intid < arch::gic::kFirstSpecialIntid;
}

}  // namespace

bool init_gic_host(const GicDesc& gic, bool gic_sysreg) {
  if (gic.version == GicVersion::kV3 && (!gic_sysreg || gic.redistributor_region_count == 0)) {
    LOG_WARN("GIC: a GICv3 without {}: VMs get no virtual GIC",
             gic_sysreg ? "redistributors" : "the system-register interface on this CPU");
    return false;
  }
  if (gic.version == GicVersion::kV2 && (gic.hyp_interface.size == 0 || gic.vcpu_interface.size == 0)) {
    LOG_WARN(
        "GIC: the GICv2's device tree node has no GICH/GICV frames (no virtualization extensions): "
        "VMs get no virtual GIC");
    return false;
  }
  if (gic.version == GicVersion::kNone) return false;
  g_gic = gic;
  if (gic.has_maintenance_interrupt) {
    if (gic.maintenance_intid < arch::gic::kNumSgis || gic.maintenance_intid >= arch::gic::kNumPrivate) {
      LOG_WARN("GIC: maintenance interrupt INTID {} is not a PPI: VMs get no virtual GIC",
               gic.maintenance_intid);
      return false;
    }
    g_maintenance_intid = gic.maintenance_intid;
  }
  if (!(gic.version == GicVersion::kV2 ? gic_v2::init(gic) : gic_v3::init(gic))) return false;
  g_version = gic.version;
  return true;
}

bool gic_host_ready() { return g_version != GicVersion::kNone; }
GicVersion gic_host_version() { return g_version; }
const GicDesc& gic_host_desc() { return g_gic; }
uint32_t gic_maintenance_intid() { return g_maintenance_intid; }

bool init_gic_cpu(uint64_t mpidr) {
  if (!gic_host_ready()) return false;
  return v2() ? gic_v2::init_cpu(mpidr) : gic_v3::init_cpu(mpidr);
}

uint32_t gic_acknowledge() {
  if (v2()) [[unlikely]]
    return gic_v2::acknowledge();
  return gic_v3::acknowledge();
}

void gic_priority_drop(uint32_t intid) {
  if (v2()) [[unlikely]]
    return gic_v2::priority_drop(intid);
  gic_v3::priority_drop(intid);
}

void gic_deactivate(uint32_t intid) {
  if (v2()) [[unlikely]]
    return gic_v2::deactivate(intid);
  gic_v3::deactivate(intid);
}

void gic_send_sgi(uint64_t mpidr, uint32_t sgi) {
  if (v2()) [[unlikely]]
    return gic_v2::send_sgi(mpidr, sgi);
  gic_v3::send_sgi(mpidr, sgi);
}

void gic_resample_after_hw_deactivation() {
  if (v2()) gic_v2::resample();
}

void gic_hw_forwarding_watch(bool hw_loaded) {
  if (v2()) gic_v2::watch(hw_loaded);
}

void gic_spi_enable(uint32_t intid, uint64_t mpidr, bool edge) {
  if (!gic_host_ready() || !is_spi(intid)) return;
  if (v2())
    gic_v2::spi_enable(intid, mpidr, edge);
  else
    gic_v3::spi_enable(intid, mpidr, edge);
}

void gic_spi_disable(uint32_t intid) {
  if (!gic_host_ready() || !is_spi(intid)) return;
  if (v2())
    gic_v2::spi_disable(intid);
  else
    gic_v3::spi_disable(intid);
}

}  // namespace lamina::hyp
