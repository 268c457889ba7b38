#include "hyp/host_security.hpp"

#include "hyp/firmware.hpp"
#include "hyp/lib/psci_abi.hpp"

namespace lamina::hyp {

namespace {

// DEN 0028: SMCCC_ARCH_FEATURES answers 0 when the workaround is
// implemented and needed on this PE, 1 when this PE does not need it, and
// for WORKAROUND_2 also -2 when no PE of the system needs it. Anything else
// (NOT_SUPPORTED from firmware that predates the call) leaves lamina not
// knowing: the call is then not offered to guests either.
HostMitigation classify(int64_t answer) {
  if (answer == 0) return HostMitigation::kRequired;
  if (answer == smccc::kWorkaroundNotRequiredOnThisPe || answer == -2) return HostMitigation::kNotRequired;
  return HostMitigation::kUnknown;
}

}  // namespace

HostSecurity probe_host_security(PsciConduit conduit) {
  HostSecurity host;
  if (conduit == PsciConduit::kNone) return host;
  // SMCCC_ARCH_FEATURES exists from SMCCC 1.1 on.
  const int64_t version = firmware::psci_call(conduit, smccc::kVersion);
  if (version < static_cast<int64_t>(smccc::kVersion1_1)) return host;
  host.workaround_1 = classify(firmware::psci_call(conduit, smccc::kArchFeatures, smccc::kArchWorkaround1));
  host.workaround_2 = classify(firmware::psci_call(conduit, smccc::kArchFeatures, smccc::kArchWorkaround2));
  host.workaround_3 = classify(firmware::psci_call(conduit, smccc::kArchFeatures, smccc::kArchWorkaround3));
  return host;
}

void forward_workaround(PsciConduit conduit, uint32_t function_id, uint64_t arg) {
  if (conduit != PsciConduit::kNone) (void)firmware::psci_call(conduit, function_id, arg);
}

}  // namespace lamina::hyp
