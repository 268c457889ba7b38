// Calls from lamina to the firmware below it (PSCI over SMC or HVC, as the
// DT's /psci `method` says). EL2-only.
#pragma once

#include <cstdint>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp::firmware {

// Issues a PSCI call through `conduit`; returns x0. kNone returns NOT_SUPPORTED.
[[nodiscard]] int64_t psci_call(PsciConduit conduit, uint32_t function, uint64_t a1 = 0,
                                uint64_t a2 = 0, uint64_t a3 = 0);

// PSCI SYSTEM_OFF through `conduit`; if that returns or there is no conduit,
// this CPU stops (a machine without PSCI cannot be powered off by lamina).
[[noreturn]] void power_off(PsciConduit conduit);

}  // namespace lamina::hyp::firmware
