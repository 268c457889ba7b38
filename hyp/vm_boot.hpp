// Building the VMs the host DT describes (hyp/vm/vm_description) at boot:
// RAM, stage 2, VMID, devices, PSCI, the guest DT and the payload, and
// pinning each vCPU to a physical CPU. EL2-only.
#pragma once

#include <cstddef>

#include "hyp/cpu/features.hpp"
#include "hyp/platform/platform.hpp"
#include "hyp/vm/vm_description.hpp"

namespace lamina::hyp {

// Creates a VM for each description. A description lamina cannot honour
// (no memory, a 32-bit or malformed kernel, ...) is refused with a message
// naming the VM, and the others are created. Returns false (after a
// message) on a configuration error that stops boot: more vCPUs than CPUs
// online.
[[nodiscard]] bool create_vms(const VmDescriptions& descs, const Platform& platform, const void* host_fdt,
                              const CpuFeatures& features, size_t online_cpus);

// The firmware conduit lamina itself uses (for workarounds guests ask for).
[[nodiscard]] PsciConduit host_psci_conduit();

}  // namespace lamina::hyp
