// What the host CPU needs for each SMCCC_ARCH_WORKAROUND_n, from the host
// firmware's own SMCCC_ARCH_FEATURES answers (DEN 0028 "SMCCC_ARCH_FEATURES"
// and "SMCCC_ARCH_WORKAROUND_1/2/3"), so that lamina answers its guests
// truthfully. EL2-only.
#pragma once

#include "hyp/lib/psci_server.hpp"
#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

[[nodiscard]] HostSecurity probe_host_security(PsciConduit conduit);

// Carries out a guest's SMCCC_ARCH_WORKAROUND_n call on the host firmware.
void forward_workaround(PsciConduit conduit, uint32_t function_id, uint64_t arg);

}  // namespace lamina::hyp
