/*
 * Timing kernels of the exit benchmark guest (bench/guest/exits.cpp).
 *
 * Written in assembly so that the timed code has an exact, known shape: the
 * benchmark runs under QEMU's -icount shift=0, where guest-visible time is
 * an instruction count, and an operation's cost is the difference between
 * a kernel and its empty twin, which differ only by the operation itself.
 *
 * The counter is CNTVCT_EL0 (under lamina CNTVOFF_EL2 is 0; on bare QEMU at
 * EL1 there is no EL2 to offset it), read after an ISB so that the read is
 * not hoisted above the timed instructions (DDI 0487, "Reading the
 * counter": reads of CNTVCT_EL0 can occur speculatively and out of order
 * relative to other instructions executed on the same PE).
 */

	.text

/*
 * uint64_t <name>(uint64_t iterations, uint64_t address, uint64_t value)
 *
 * Runs the instructions of macro `body` iterations times (iterations >= 1)
 * in a SUBS/B.NE loop and returns the counter ticks the loop took. The body
 * finds the address in x20 and the value in x21 and may use x0-x3 freely
 * (an SMCCC call returns its results there and, for SMCCC 1.0 callees, may
 * change x4-x17: the loop keeps its state in x19-x23, which SMCCC
 * preserves). The body is a macro name rather than text because ';' ends
 * the macro invocation itself.
 */
.macro timed_loop name, body
	.global \name
	.type \name, %function
	.balign 64
\name:
	stp	x19, x20, [sp, #-48]!
	stp	x21, x22, [sp, #16]
	str	x23, [sp, #32]
	mov	x19, x0
	mov	x20, x1
	mov	x21, x2
	isb
	mrs	x22, cntvct_el0
1:	\body
	subs	x19, x19, #1
	b.ne	1b
	isb
	mrs	x23, cntvct_el0
	sub	x0, x23, x22
	ldr	x23, [sp, #32]
	ldp	x21, x22, [sp, #16]
	ldp	x19, x20, [sp], #48
	ret
	.size \name, . - \name
.endm

/* Loop bodies. */
.macro op_none
.endm
/* W0 must be reloaded with the function ID each time: an SMCCC call
 * returns its result in X0 (DEN 0028, "SMC Calling Convention": function
 * ID in W0, HVC #0 / SMC #0). */
.macro op_fid
	mov	x0, x21
.endm
.macro op_hvc
	mov	x0, x21
	hvc	#0
.endm
.macro op_smc
	mov	x0, x21
	smc	#0
.endm
.macro op_ldr32
	ldr	w0, [x20]
.endm
.macro op_str32
	str	w21, [x20]
.endm
.macro op_ldr64
	ldr	x0, [x20]
.endm
.macro op_str64
	str	x21, [x20]
.endm
/* An ID register read, trapped to EL2 by HCR_EL2.TID3 under lamina. */
.macro op_idreg
	mrs	x0, id_aa64pfr0_el1
.endm

/* The overheads: the loop alone (the twin of every single-instruction
 * body), and the loop with the function ID reload (the twin of the SMCCC
 * calls). */
timed_loop bench_loop_empty, op_none
timed_loop bench_loop_fid, op_fid

timed_loop bench_loop_hvc, op_hvc
timed_loop bench_loop_smc, op_smc
timed_loop bench_loop_ldr32, op_ldr32
timed_loop bench_loop_str32, op_str32
timed_loop bench_loop_ldr64, op_ldr64
timed_loop bench_loop_str64, op_str64
timed_loop bench_loop_idreg, op_idreg

/*
 * uint64_t bench_touch(uintptr_t address, uint64_t value)
 *
 * The counter ticks of one 64-bit store of `value` to `address`, which must
 * be 8-byte aligned (the guest's MMU is off: Device memory). The first
 * store to a page of guest RAM under lamina takes a stage-2 fault, which
 * lamina resolves by mapping the block and re-running the store.
 */
	.global bench_touch
	.type bench_touch, %function
	.balign 64
bench_touch:
	isb
	mrs	x9, cntvct_el0
	str	x1, [x0]
	isb
	mrs	x10, cntvct_el0
	sub	x0, x10, x9
	ret
	.size bench_touch, . - bench_touch

/* uint64_t bench_touch_empty(uintptr_t, uint64_t): bench_touch without the
 * store, the timing overhead of one touch. */
	.global bench_touch_empty
	.type bench_touch_empty, %function
	.balign 64
bench_touch_empty:
	isb
	mrs	x9, cntvct_el0
	isb
	mrs	x10, cntvct_el0
	sub	x0, x10, x9
	ret
	.size bench_touch_empty, . - bench_touch_empty
