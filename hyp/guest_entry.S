// Running a guest: the world switch of the general registers and the exit
// loop. guest_run() saves lamina's callee-saved registers once, loads the
// guest's and ERETs. Each exception from the guest comes back through the
// lower-EL vectors (boot/vectors.S), which save the guest's registers and
// call into C++ on the same EL2 stack; when that says "resume" the guest's
// registers are loaded again and the guest continues, without ever
// unwinding to C++. When it says "leave", guest_run() returns. Everything
// else (EL1 system registers, FP/SIMD) stays live in the CPU: see
// hyp/vcpu_context.hpp.
//
// Fast lanes, for HVC and SMC (lamina_hvc_fast, lamina_smc_fast: SMCCC
// calls that change no state) and data aborts (lamina_dabt_fast: RAM mapped on demand, emulated
// MMIO), save only what a C++ call may clobber, x0-x18 and x30 (and
// ELR/SPSR for a data abort, whose PC moves): x19-x29 are callee-saved in
// AAPCS64, so they still hold the guest's values when the call returns (an
// MMIO access to one of them saves and reloads that half as well). The C++
// side of a lane returns
//   0  handled: resume the guest;
//   1  declined, before any side effect: save the rest, take the full path;
//   2  handled, and this vCPU must leave: save the rest, return from guest_run.

#include "asm_offsets.h"

// x0 = the guest's registers; the guest's x0/x1 are pushed on the stack.
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

.macro save_callee_saved base
	str	x19, [\base, #152]
	stp	x20, x21, [\base, #160]
	stp	x22, x23, [\base, #176]
	stp	x24, x25, [\base, #192]
	stp	x26, x27, [\base, #208]
	stp	x28, x29, [\base, #224]
.endm

.macro load_callee_saved base
	ldr	x19, [\base, #152]
	ldp	x20, x21, [\base, #160]
	ldp	x22, x23, [\base, #176]
	ldp	x24, x25, [\base, #192]
	ldp	x26, x27, [\base, #208]
	ldp	x28, x29, [\base, #224]
.endm

// Loads x0-x18 and x30 from [x1] (x1 last), then ERET.
.macro load_caller_saved_and_eret
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
	// No speculation past the ERET (straight-line speculation).
	dsb	nsh
	isb
.endm

.macro save_elr_spsr base
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [\base, #GUEST_PC]
.endm

.macro load_elr_spsr base
	ldp	x2, x3, [\base, #GUEST_PC]
	msr	elr_el2, x2
	msr	spsr_el2, x3
.endm

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
	mov	x1, x0
	b	enter_guest
	.size guest_run, . - guest_run

// The full path: from a lower-EL vector with the guest's x0/x1 pushed on
// the EL2 stack (just below guest_run's frame) and x1 = the vector number.
	.global guest_exit
	.type guest_exit, %function
guest_exit:
	save_caller_saved
	save_callee_saved x0
	save_elr_spsr x0
guest_exit_saved:
	// A frame record chain for backtraces: guest_run's frame is at SP.
	mov	x29, sp
	mov	x0, x1
	bl	lamina_guest_exit
	cbnz	x0, leave_guest
	mrs	x1, tpidr_el2
	ldr	x1, [x1, #PERCPU_GUEST_REGS]
enter_guest:
	load_elr_spsr x1
	load_callee_saved x1
	load_caller_saved_and_eret
	.size guest_exit, . - guest_exit

// A lane that touches only the caller-saved half: call `handler`, then
// resume or hand over (see above).
.macro caller_saved_lane handler
	save_caller_saved
	bl	\handler		// x0 = the action, x1 = the registers
	cbnz	x0, lane_not_done
	load_caller_saved_and_eret
.endm

	.global guest_hvc
	.type guest_hvc, %function
guest_hvc:
	caller_saved_lane lamina_hvc_fast
	.size guest_hvc, . - guest_hvc

	.global guest_smc
	.type guest_smc, %function
guest_smc:
	caller_saved_lane lamina_smc_fast
	.size guest_smc, . - guest_smc

	.global guest_dabt
	.type guest_dabt, %function
guest_dabt:
	save_caller_saved
	save_elr_spsr x0
	// ISS.SRT 19-29: the access's register is in the callee-saved half.
	mrs	x2, esr_el2
	ubfx	x2, x2, #ESR_ISS_SRT_SHIFT, #ESR_ISS_SRT_WIDTH
	sub	x2, x2, #19
	cmp	x2, #(29 - 19)
	b.ls	1f
	mov	x1, #0
	bl	lamina_dabt_fast	// x0 = the action, x1 = the registers
	cbnz	x0, lane_not_done
	load_elr_spsr x1
	load_caller_saved_and_eret
1:	save_callee_saved x0
	mov	x1, #1
	bl	lamina_dabt_fast
	cmp	x0, #1
	b.eq	full_path
	cbnz	x0, leave_guest
	load_elr_spsr x1
	load_callee_saved x1
	load_caller_saved_and_eret

lane_not_done:
	// x0 = 1 or 2, x1 = the registers: save the other half.
	save_callee_saved x1
	cmp	x0, #1
	b.ne	leave_guest
	// ELR/SPSR: a data abort saved them; an HVC did not, and the hardware
	// registers still hold them (saving them again is harmless).
	save_elr_spsr x1
full_path:
	mov	x1, #VECTOR_LOWER_A64_SYNC
	b	guest_exit_saved

leave_guest:
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #HOST_FRAME_SIZE
	ret
	.size guest_dabt, . - guest_dabt
