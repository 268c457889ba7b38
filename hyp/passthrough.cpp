#include "hyp/passthrough.hpp"

#include <atomic>

#include "hyp/gic_host.hpp"
#include "hyp/log.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"

namespace lamina::hyp {

namespace {

constexpr uint32_t kFirstSpi = 32;

// Owner of each physical SPI (INTID 32 + index). Written at VM creation
// (boot CPU, before any vCPU runs: published by create_vms' release stores)
// and read on the IRQ path of every CPU.
std::atomic<Vm*> g_spi_owner[vgic::kMaxSpis];

bool overlaps(mm::PhysRange r, uint64_t base, uint64_t size) {
  return size != 0 && r.base.value() < base + size && base < r.end().value();
}

}  // namespace

bool passthrough_map(Vm& vm) {
  const PassthroughPlan& plan = vm.desc.passthrough;
  for (size_t i = 0; i < plan.range_count; ++i) {
    const mm::PhysRange r = plan.ranges[i];
    if (overlaps(r, vm.ram.base().value(), vm.ram.size())) {
      LOG_ERROR("vm {}: lamina,passthrough: device pages {}+{:x} overlap its RAM", vm.name(), r.base, r.size);
      return false;
    }
    for (size_t m = 0; m < vm.mmio_count; ++m) {
      if (overlaps(r, vm.mmio[m].base.value(), vm.mmio[m].size)) {
        LOG_ERROR("vm {}: lamina,passthrough: device pages {}+{:x} overlap an emulated device at IPA {:x}",
                  vm.name(), r.base, r.size, vm.mmio[m].base.value());
        return false;
      }
    }
    // Identity: the guest finds each device where the host DT says it is.
    if (auto m = vm.stage2.map(mm::IntermediatePhysAddr(r.base.value()), r.base, r.size, mm::kS2GuestDevice);
        !m.ok()) {
      LOG_ERROR("vm {}: lamina,passthrough: cannot map device pages {}+{:x} ({}-bit IPA space): {}",
                vm.name(), r.base, r.size, vm.ipa_bits, mm::error_name(m.error()));
      return false;
    }
  }
  if (!plan.empty()) {
    LOG_INFO("vm {}: {} passthrough device{} ({} page range{}, {} SPI{}), RAM direct-mapped at {}", vm.name(),
             plan.node_count, plan.node_count == 1 ? "" : "s", plan.range_count,
             plan.range_count == 1 ? "" : "s", plan.spi_count, plan.spi_count == 1 ? "" : "s", vm.ram.base());
  }
  return true;
}

bool passthrough_route(Vm& vm) {
  const PassthroughPlan& plan = vm.desc.passthrough;
  if (plan.spi_count == 0) return true;
  if (!vm.has_vgic) {
    LOG_ERROR(
        "vm {}: lamina,passthrough: device interrupts need a virtual GIC, which this host's GIC cannot give",
        vm.name());
    return false;
  }
  const uint64_t mpidr = vm.vcpu(0).cpu().mpidr;
  for (size_t i = 0; i < plan.spi_count; ++i) {
    const PassthroughSpi spi = plan.spis[i];
    if (spi.intid >= kFirstSpi + kGuestSpis) {
      LOG_ERROR("vm {}: lamina,passthrough: INTID {} is beyond the {} SPIs the virtual GIC offers", vm.name(),
                spi.intid, kGuestSpis);
      return false;
    }
    bool mapped;
    {
      const SpinLockGuard lock(vm.vgic_lock, this_cpu().index);
      mapped = vm.vgic.map_hw(0, spi.intid, spi.intid);
    }
    if (!mapped) {
      LOG_ERROR("vm {}: lamina,passthrough: INTID {} cannot be mapped in the virtual GIC", vm.name(),
                spi.intid);
      return false;
    }
    g_spi_owner[spi.intid - kFirstSpi].store(&vm, std::memory_order_release);
    gic_spi_enable(spi.intid, mpidr, spi.edge);
  }
  return true;
}

Vm* passthrough_owner(uint32_t intid) {
  if (intid < kFirstSpi || intid - kFirstSpi >= vgic::kMaxSpis) return nullptr;
  return g_spi_owner[intid - kFirstSpi].load(std::memory_order_acquire);
}

void passthrough_stop(Vm& vm) {
  const PassthroughPlan& plan = vm.desc.passthrough;
  for (size_t i = 0; i < plan.spi_count; ++i) {
    const uint32_t intid = plan.spis[i].intid;
    if (passthrough_owner(intid) != &vm) continue;
    gic_spi_disable(intid);
    g_spi_owner[intid - kFirstSpi].store(nullptr, std::memory_order_release);
  }
}

}  // namespace lamina::hyp
