/*
 * VBAR_EL1 vector table (DDI 0487, "Exception vectors": 16 entries of
 * 0x80 bytes; +0x000 current EL with SP_EL0, +0x200 current EL with SP_ELx,
 * +0x400 lower EL AArch64, +0x600 lower EL AArch32; within each group sync,
 * IRQ, FIQ, SError).
 *
 * Every entry saves a struct Frame (layout.h) on SP_EL1 and calls
 * guest_exception(Frame*), which may change the saved registers, ELR and
 * SPSR (to skip an expected faulting instruction); they are restored and the
 * handler returns with ERET.
 *
 * guest_run_el0(fn, sp_el0, arg): runs fn(arg) at EL0t (MMU state as it is)
 * and returns to the caller when fn returns: fn's return lands on an SVC,
 * and guest_exception turns that SVC into an ERET to guest_el0_return.
 */
#include "layout.h"

.macro ventry, offset
	.balign 0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #FRAME_X0]
	mov	x0, #\offset
	b	guest_vector_common
.endm

	.text
	.balign 0x800
	.global guest_vectors
guest_vectors:
	ventry 0x000
	ventry 0x080
	ventry 0x100
	ventry 0x180
	ventry 0x200
	ventry 0x280
	ventry 0x300
	ventry 0x380
	ventry 0x400
	ventry 0x480
	ventry 0x500
	ventry 0x580
	ventry 0x600
	ventry 0x680
	ventry 0x700
	ventry 0x780

guest_vector_common:
	str	x0, [sp, #FRAME_VECTOR]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	str	x30, [sp, #240]
	add	x1, sp, #FRAME_SIZE
	str	x1, [sp, #FRAME_SP]
	mrs	x1, elr_el1
	str	x1, [sp, #FRAME_ELR]
	mrs	x1, spsr_el1
	str	x1, [sp, #FRAME_SPSR]
	mrs	x1, esr_el1
	str	x1, [sp, #FRAME_ESR]
	mrs	x1, far_el1
	str	x1, [sp, #FRAME_FAR]
	mrs	x1, daif
	str	x1, [sp, #FRAME_DAIF]
	mrs	x1, sp_el0
	str	x1, [sp, #FRAME_SP_EL0]
	mov	x0, sp
	bl	guest_exception
	ldr	x1, [sp, #FRAME_ELR]
	msr	elr_el1, x1
	ldr	x1, [sp, #FRAME_SPSR]
	msr	spsr_el1, x1
	ldr	x1, [sp, #FRAME_SP_EL0]
	msr	sp_el0, x1
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	ldp	x0, x1, [sp, #FRAME_X0]
	add	sp, sp, #FRAME_SIZE
	eret

	.global guest_run_el0
	.type guest_run_el0, %function
guest_run_el0:
	/* x0 = fn, x1 = EL0 stack top, x2 = argument. Callee-saved registers
	 * survive: fn preserves them (AAPCS64) and so does the SVC path. */
	stp	x29, x30, [sp, #-16]!
	msr	sp_el0, x1
	msr	elr_el1, x0
	mov	x1, #(PSTATE_DAIF_MASKED | PSTATE_EL0T)
	msr	spsr_el1, x1
	adr	x30, guest_el0_exit
	mov	x0, x2
	isb
	eret
	.global guest_el0_exit
guest_el0_exit:			/* EL0: fn returned here */
	svc	#0
	.global guest_el0_return
guest_el0_return:		/* EL1 again (ERET from the SVC handler) */
	ldp	x29, x30, [sp], #16
	ret
	.size guest_run_el0, . - guest_run_el0
