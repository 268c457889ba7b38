// Running a guest: the world switch of the general registers and the exit
// loop. guest_run() saves lamina's callee-saved registers once, loads the
// guest's and ERETs. Each exception from the guest reaches guest_exit
// through the lower-EL vectors (boot/vectors.S), which saves the guest's
// registers and calls lamina_guest_exit(vector) on the same EL2 stack; when
// that says "resume" the guest's registers are loaded again and the guest
// continues, without ever unwinding to C++. When it says "leave",
// guest_run() returns. Everything else (EL1 system registers, FP/SIMD)
// stays live in the CPU: see hyp/vcpu_context.hpp.

#include "asm_offsets.h"

	.section .text, "ax"

// void guest_run(GuestRegs* regs)
	.global guest_run
	.type guest_run, %function
guest_run:
	stp	x29, x30, [sp, #-HOST_FRAME_SIZE]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	mrs	x1, tpidr_el2
	str	x0, [x1, #PERCPU_GUEST_REGS]
	b	enter_guest

// Reached from a lower-EL vector with the guest's x0/x1 pushed on the EL2
// stack (just below guest_run's frame) and x1 = the vector number.
	.global guest_exit
	.type guest_exit, %function
guest_exit:
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_REGS]
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	str	x30, [x0, #240]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #0]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x0, #GUEST_PC]

	// A frame record chain for backtraces: guest_run's frame is at SP.
	mov	x29, sp
	mov	x0, x1
	bl	lamina_guest_exit
	cbnz	x0, leave_guest
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_REGS]

enter_guest:
	ldp	x1, x2, [x0, #GUEST_PC]
	msr	elr_el2, x1
	msr	spsr_el2, x2
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #240]
	ldp	x0, x1, [x0, #0]
	eret
	// No speculation past the ERET (straight-line speculation).
	dsb	nsh
	isb

leave_guest:
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #HOST_FRAME_SIZE
	ret
	.size guest_exit, . - guest_exit
	.size guest_run, . - guest_run
