// The EL2 exception vector table (VBAR_EL2). An exception from a guest
// (lower EL, AArch64) leaves it through guest_exit (hyp/guest_entry.S).
// Everything else is unexpected: the vector saves the full register frame
// and calls el2_unexpected_exception(frame, kind), which prints a crash
// report and stops this CPU. (Guest EL1 is always AArch64, HCR_EL2.RW = 1,
// so the AArch32 lower-EL vectors can only be reached by a lamina bug.)
// DDI 0487 K.a D1.3.1 "Exception vectors": 16 entries of 128 bytes, 2 KiB aligned.

#include "asm_offsets.h"

// From a guest: SP_EL2 is lamina's stack, untouched by the guest, holding
// guest_run()'s frame. x0/x1 go there until guest_exit has the context.
.macro guest_vector kind
	.balign 128
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\kind
	b	guest_exit
.endm

// The synchronous one first sends HVCs and SMCs (EC 0x16, 0x17) and data aborts (EC 0x24,
// DDI 0487 K.a D23.2 "ESR_EL2") to the lanes of hyp/guest_entry.S that save
// only half the registers.
.macro guest_sync_vector kind
	.balign 128
	stp	x0, x1, [sp, #-16]!
	mrs	x1, esr_el2
	lsr	x1, x1, #ESR_EC_SHIFT
	cmp	x1, #ESR_EC_DABT_LOW
	b.eq	guest_dabt
	cmp	x1, #ESR_EC_HVC64
	b.eq	guest_hvc
	cmp	x1, #ESR_EC_SMC64
	b.eq	guest_smc
	mov	x1, #\kind
	b	guest_exit
.endm

.macro vector kind
	.balign 128
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	save_frame_and_report
.endm

// From EL2 itself the stack may be what faulted (an overflow into the guard
// page): saving the frame there would fault again, forever. Below this
// CPU's stack limit the exception moves to its emergency stack. SP_EL0 is
// the scratch register: lamina never uses it, and an exception at EL2 is a
// lamina bug that ends this CPU, so a guest's live SP_EL0 is lost only then.
.macro current_el_vector kind
	.balign 128
	msr	sp_el0, x0
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_STACK_LIMIT]
	cmp	sp, x0
	b.lo	1f
	mrs	x0, sp_el0
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	save_frame_and_report
1:	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_EMERGENCY_SP]
	mov	sp, x0
	mrs	x0, sp_el0
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #(\kind | VECTOR_STACK_OVERFLOW)
	b	save_frame_and_report
.endm

	.section .text, "ax"
	.balign 2048
	.global el2_vectors
el2_vectors:
	current_el_vector 0	// current EL, SP_EL0: synchronous
	current_el_vector 1	// IRQ
	current_el_vector 2	// FIQ
	current_el_vector 3	// SError
	current_el_vector 4	// current EL, SP_ELx: synchronous
	current_el_vector 5	// IRQ
	current_el_vector 6	// FIQ
	current_el_vector 7	// SError
	guest_sync_vector 8	// lower EL, AArch64: synchronous
	guest_vector 9	// IRQ
	guest_vector 10	// FIQ
	guest_vector 11	// SError
	vector 12	// lower EL, AArch32: synchronous
	vector 13	// IRQ
	vector 14	// FIQ
	vector 15	// SError

save_frame_and_report:
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
	str	x30, [sp, #FRAME_X30]
	add	x1, sp, #FRAME_SIZE
	str	x1, [sp, #FRAME_SP]
	mrs	x1, elr_el2
	str	x1, [sp, #FRAME_ELR]
	mrs	x1, spsr_el2
	str	x1, [sp, #FRAME_SPSR]
	mrs	x1, esr_el2
	str	x1, [sp, #FRAME_ESR]
	mrs	x1, far_el2
	str	x1, [sp, #FRAME_FAR]
	mov	x1, x0
	mov	x0, sp
	mov	x29, xzr			// the report walks the saved x29 itself
	bl	el2_unexpected_exception	// does not return
1:	wfe
	b	1b
