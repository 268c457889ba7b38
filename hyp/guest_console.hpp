// The physical console shared by the VMs' virtual UARTs (hyp/dev/vpl011).
//
// Output: with one VM it goes through as it is; with several, each line is
// prefixed with the VM's name ("vm1| ..."), so that it can be told apart
// from other VMs and from lamina's own log ("lamina: ...", always on a line
// of its own).
//
// Input: typed bytes go to one VM at a time, the one with the console
// input (the first VM at boot). With several VMs the escape sequence
// (hyp/lib/console_escape.hpp: Ctrl-\ then a digit) moves the input, and
// lamina prints "lamina: console input -> vm2". Each VM has an input queue;
// its vPL011 takes bytes from it (receive callback) and its interrupt line
// (SPI 1) follows the vPL011's UARTINTR.
//
// Where the host DT gives the console UART an SPI of the GIC and lamina
// runs the GIC at EL2 (GICv3 hosts), input is interrupt-driven: the UART's
// receive and receive-timeout interrupts are enabled and the SPI is routed
// to the CPU of vCPU 0 of the VM with the input. Its IRQ exit (or its WFI
// wait, which a physical interrupt wakes) drains the UART's receive FIFO
// through the escape state machine into that VM's queue, fills the vPL011's
// FIFO from it and raises its line. What does not fit in the vPL011 stays
// queued until the guest reads; a full queue masks the UART's receive
// interrupts (the bytes wait in the UART, and QEMU stops reading its
// input) until the guest has read half of it. Elsewhere (GICv2 hosts for
// now) the vPL011's receive callback polls the UART, at most every
// millisecond while its FIFO is empty. EL2-only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

class Vm;
class Vcpu;

// At VM creation (boot CPU, before any vCPU runs): how many VMs share the
// console.
void set_guest_console_vms(size_t count);
// Boot CPU, once the VMs exist and before their vCPUs run: takes the console
// UART's receive interrupt at EL2 when `uart` has one and the GIC is run by
// lamina (else input is polled), routed to the first VM's vCPU 0.
void start_guest_console_input(const UartDesc& uart);

// `vm` has stopped (under its lock, no vCPU of it runs): if it had the
// console input, the input moves to the next VM still running (which
// lamina announces).
void guest_console_vm_stopped(Vm& vm);

void guest_console_putc(Vm& vm, char c);
// Writes out a partial line (at VM stop).
void guest_console_flush(Vm& vm);
// The vPL011's receive callback (VirtualPl011::ReceivePollFn, `vm` the
// Vm): the next byte typed for it, if any. Called on every look at an
// empty receive FIFO, so the common answer ("nothing") is a load.
[[nodiscard]] bool guest_console_receive(void* vm, uint8_t* byte);

// IRQ exit / WFI wait of `vcpu` (hyp/vgic_el2.cpp), for each acknowledged
// physical interrupt: true if `intid` is the console's receive interrupt, now
// handled (the caller still drops its priority and deactivates it).
bool guest_console_irq(Vcpu& vcpu, uint32_t intid);

// The vPL011's UARTINTR drives the VM's SPI 1 through the vGIC
// (vgic_set_spi_level): after every access that may change it. Called with
// the VM's device models serialized (mmio_lock, or a single vCPU on its own
// CPU); the vGIC lock nests inside (lock order: device models, then the vGIC).
void guest_uart_line_changed(Vm& vm, bool level);

}  // namespace lamina::hyp
