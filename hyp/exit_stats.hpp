// Guest exits counted by kind, per vCPU (summed per VM when it stops, with
// lamina.stats). Plain counters: only the vCPU's own CPU writes them.
#pragma once

#include <cstdint>

namespace lamina::hyp {

struct ExitStats {
  uint64_t fault_in_4k = 0;   // stage-2 faults on RAM mapped with a 4 KiB page
  uint64_t fault_in_2m = 0;   // ... with a 2 MiB block
  uint64_t fault_in_1g = 0;   // ... with a 1 GiB block
  uint64_t mmio_uart = 0;     // emulated accesses to the virtual PL011
  uint64_t mmio_test = 0;     // ... to the test device
  uint64_t mmio_gic = 0;      // ... to the virtual GIC's Distributor (GICD)
  uint64_t mmio_gicr = 0;     // ... to its Redistributors (GICR, GICv3)
  uint64_t hvc = 0;
  uint64_t smc = 0;
  uint64_t sysreg = 0;        // trapped MSR/MRS
  uint64_t wfi = 0;
  uint64_t irq = 0;           // physical interrupts taken while the guest ran
  uint64_t vtimer_irqs = 0;   // virtual timer interrupts forwarded
  uint64_t aborts_injected = 0;
  uint64_t undefs_injected = 0;
  uint64_t other = 0;

  void add(const ExitStats& o) {
    fault_in_4k += o.fault_in_4k;
    fault_in_2m += o.fault_in_2m;
    fault_in_1g += o.fault_in_1g;
    mmio_uart += o.mmio_uart;
    mmio_test += o.mmio_test;
    mmio_gic += o.mmio_gic;
    mmio_gicr += o.mmio_gicr;
    hvc += o.hvc;
    smc += o.smc;
    sysreg += o.sysreg;
    wfi += o.wfi;
    irq += o.irq;
    vtimer_irqs += o.vtimer_irqs;
    aborts_injected += o.aborts_injected;
    undefs_injected += o.undefs_injected;
    other += o.other;
  }
};

}  // namespace lamina::hyp
