// The machine's power, as the VMs' lifecycle decides it: when every VM has
// stopped, lamina powers the machine off (QEMU exits). EL2-only.
#pragma once

#include <cstddef>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

// How many VMs must stop, and the firmware conduit to power off with.
void set_power_policy(size_t vm_count, PsciConduit conduit);

// A VM stopped; the last one powers the machine off (never returns then).
void note_vm_stopped();

// Powers off now (or halts when there is no PSCI), after flushing the console.
[[noreturn]] void power_off_machine(const char* why);

}  // namespace lamina::hyp
