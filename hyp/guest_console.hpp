// The physical console shared by the VMs' virtual UARTs. With one VM its
// output goes through as it is; with several, each line is prefixed with
// the VM's name ("vm1| ..."), so that it can be told apart from other VMs
// and from lamina's own log ("lamina: ..."). Input typed on the console
// goes to the first VM. EL2-only.
#pragma once

#include <cstddef>

namespace lamina::hyp {

class Vm;

void set_guest_console_vms(size_t count);
void guest_console_putc(Vm& vm, char c);
// Writes out a partial line (at VM stop).
void guest_console_flush(Vm& vm);
// A byte for `vm` typed on the console, if any.
[[nodiscard]] bool guest_console_getc(Vm& vm, char* c);

}  // namespace lamina::hyp
