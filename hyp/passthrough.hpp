// The EL2 side of device passthrough (the plan: hyp/vm/passthrough.hpp):
// the owned devices' pages mapped 1:1 into the VM's stage 2, and their
// physical SPIs routed to the CPU of the VM's vCPU 0 and forwarded to its
// vGIC with the HW bit (hyp/vgic_el2.cpp acknowledges them).
//
// A forwarded SPI: EL2 acknowledges it (ICC_IAR1_EL1), drops the priority
// (EOImode 1) and leaves it active; the model makes the virtual SPI with
// the same INTID pending, and the list register that carries it has the HW
// bit with the physical INTID, so the guest's deactivation deactivates the
// physical SPI (IHI 0069 "Virtual interrupt handling", ICH_LR<n>_EL2.HW).
// The physical SPI stays routed to vCPU 0's CPU whatever the guest writes
// to the virtual GICD_IROUTER; a guest that moves the virtual SPI to another
// vCPU gets it there (the model kicks that vCPU) and deactivates it from
// that CPU, which the GIC allows: the Distributor deactivates it
// (docs/ARCHITECTURE.md, "Passthrough devices", citing "ICC_DIR_EL1").
//
// EL2-only.
#pragma once

#include <cstdint>

namespace lamina::hyp {

class Vm;

// At VM creation, once its stage 2 exists: maps every range of
// vm.desc.passthrough (IPA = PA, Device-nGnRE, execute-never), after
// checking that none overlaps the VM's RAM or an emulated device's window.
// False (after a message naming the VM and the property) refuses the VM.
[[nodiscard]] bool passthrough_map(Vm& vm);

// Once the VM's vCPUs have their CPUs and its vGIC exists: maps each SPI
// of the plan to its physical INTID in the model, records the VM as its
// owner and routes the physical SPI to vCPU 0's CPU (gic_spi_enable). False
// (after a message) when an SPI is beyond the vGIC's or the VM has no vGIC.
[[nodiscard]] bool passthrough_route(Vm& vm);

// The VM a physical SPI is forwarded to, or nullptr (any CPU, IRQ path).
[[nodiscard]] Vm* passthrough_owner(uint32_t intid);

// VM stop (the last vCPU left): disables its physical SPIs, so that nothing
// is signalled towards a stopped VM. (Those still active are deactivated by
// the vGIC reset that follows: vgic_vm_reset.)
void passthrough_stop(Vm& vm);

}  // namespace lamina::hyp
