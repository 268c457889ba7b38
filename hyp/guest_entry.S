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

guest_exit_saved:
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

// The fast lanes, from the synchronous vector with the guest's x0/x1
// pushed: HVC (lamina_hvc_fast: SMCCC calls that change no state) and data
// aborts (lamina_dabt_fast: RAM mapped on demand, emulated MMIO).
// They save only what a C++ call may clobber, x0-x18 and x30 (and ELR/SPSR
// for a data abort, whose PC moves): x19-x29 are callee-saved, so they still
// hold the guest's values when the call returns (an MMIO access to one of
// them saves and reloads that half as well). The C++ side returns
//   0  handled: resume the guest;
//   1  declined, before any side effect: save the rest, take the full path;
//   2  handled, and this vCPU must leave: save the rest, return from guest_run.
.macro save_caller_saved
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
	str	x18, [x0, #144]
	str	x30, [x0, #240]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #0]
.endm

	.global guest_hvc
	.type guest_hvc, %function
guest_hvc:
	save_caller_saved
	bl	lamina_hvc_fast
	mrs	x1, tpidr_el2
	ldr	x1, [x1, #PERCPU_GUEST_REGS]
	cbnz	x0, lane_not_done
	b	resume_caller_saved
	.size guest_hvc, . - guest_hvc

	.global guest_dabt
	.type guest_dabt, %function
guest_dabt:
	save_caller_saved
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x0, #GUEST_PC]
	// An access whose register is callee-saved (ISS.SRT 19-29) needs that
	// half in memory too.
	mrs	x2, esr_el2
	ubfx	x2, x2, #ESR_ISS_SRT_SHIFT, #ESR_ISS_SRT_WIDTH
	sub	x2, x2, #19
	cmp	x2, #(29 - 19)
	b.ls	1f
	mov	x1, #0
	bl	lamina_dabt_fast
	mrs	x1, tpidr_el2
	ldr	x1, [x1, #PERCPU_GUEST_REGS]
	cbnz	x0, lane_not_done
	b	resume_dabt
1:	str	x19, [x0, #152]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	mov	x1, #1
	bl	lamina_dabt_fast
	mrs	x1, tpidr_el2
	ldr	x1, [x1, #PERCPU_GUEST_REGS]
	cmp	x0, #1
	b.eq	2f
	cbnz	x0, leave_guest
	ldr	x19, [x1, #152]
	ldp	x20, x21, [x1, #160]
	ldp	x22, x23, [x1, #176]
	ldp	x24, x25, [x1, #192]
	ldp	x26, x27, [x1, #208]
	ldp	x28, x29, [x1, #224]
resume_dabt:
	ldp	x2, x3, [x1, #GUEST_PC]
	msr	elr_el2, x2
	msr	spsr_el2, x3
resume_caller_saved:
	ldp	x2, x3, [x1, #16]
	ldp	x4, x5, [x1, #32]
	ldp	x6, x7, [x1, #48]
	ldp	x8, x9, [x1, #64]
	ldp	x10, x11, [x1, #80]
	ldp	x12, x13, [x1, #96]
	ldp	x14, x15, [x1, #112]
	ldp	x16, x17, [x1, #128]
	ldr	x18, [x1, #144]
	ldr	x30, [x1, #240]
	ldp	x0, x1, [x1, #0]
	eret
	dsb	nsh
	isb
2:	// Declined with every register saved already.
	mov	x1, #VECTOR_LOWER_A64_SYNC
	b	guest_exit_saved
lane_not_done:
	// x0 = 1 or 2, x1 = the registers: save the other half.
	str	x19, [x1, #152]
	stp	x20, x21, [x1, #160]
	stp	x22, x23, [x1, #176]
	stp	x24, x25, [x1, #192]
	stp	x26, x27, [x1, #208]
	stp	x28, x29, [x1, #224]
	cmp	x0, #1
	b.ne	leave_guest
	// The full path (for an HVC, ELR/SPSR are not saved yet: a data abort
	// saved them already, and the hardware registers still hold them).
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x1, #GUEST_PC]
	mov	x1, #VECTOR_LOWER_A64_SYNC
	b	guest_exit_saved
	.size guest_dabt, . - guest_dabt

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
