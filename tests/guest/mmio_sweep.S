/*
 * MMIO accesses with every transfer register Rt = 0..30 (tests/guest/mmio.cpp).
 *
 * Load sweeps:  void mmio_sweep_<insn>(uintptr_t dev, uint64_t out[31])
 *   for n = 0..30: Xn = ~0; <insn> Rn, [dev + stride * n]; out[n] = Xn
 * Store sweeps: void mmio_sweep_<insn>(uintptr_t dev, uint64_t io[93])
 *   for n = 0..30: Xn = io[n]; <insn> Rn, [dev + 0x100 + 8 * n];
 *   io[n] = device "last write value" (0x810), io[31 + n] = "last write
 *   width" (0x808), io[62 + n] = "last write offset" (0x818)
 * The address register and the out pointer are taken from the stack before
 * every step, in registers other than n (x16, or x14 when n = 16, for the
 * address; x17, or x15 when n = 17, for out). Every register but SP is clobbered; x18..x30 are saved.
 */

#define SWEEP_FRAME 128

.macro prologue
	sub	sp, sp, #SWEEP_FRAME
	stp	x0, x1, [sp, #0]
	stp	x18, x19, [sp, #16]
	stp	x20, x21, [sp, #32]
	stp	x22, x23, [sp, #48]
	stp	x24, x25, [sp, #64]
	stp	x26, x27, [sp, #80]
	stp	x28, x29, [sp, #96]
	str	x30, [sp, #112]
.endm

.macro epilogue
	ldp	x18, x19, [sp, #16]
	ldp	x20, x21, [sp, #32]
	ldp	x22, x23, [sp, #48]
	ldp	x24, x25, [sp, #64]
	ldp	x26, x27, [sp, #80]
	ldp	x28, x29, [sp, #96]
	ldr	x30, [sp, #112]
	add	sp, sp, #SWEEP_FRAME
	ret
.endm

/* Dispatch a step with the address register a and the out register o,
 * both different from x\n. */
.macro with_regs step, insn, r, n, stride
	.if \n == 16
	  \step \insn, \r, \n, \stride, 14, 17
	.elseif \n == 17
	  \step \insn, \r, \n, \stride, 16, 15
	.else
	  \step \insn, \r, \n, \stride, 16, 17
	.endif
.endm

.macro load_step insn, r, n, stride, a, o
	ldr	x\a, [sp, #0]
	ldr	x\o, [sp, #8]
	add	x\a, x\a, #(\stride * \n)
	mov	x\n, #-1
	\insn	\r\n, [x\a]
	str	x\n, [x\o, #(8 * \n)]
.endm

.macro store_step insn, r, n, stride, a, o
	ldr	x\a, [sp, #0]
	ldr	x\o, [sp, #8]
	ldr	x\n, [x\o, #(8 * \n)]
	add	x\a, x\a, #(0x100 + 8 * \n)
	\insn	\r\n, [x\a]
	ldr	x\a, [sp, #0]
	ldr	x\n, [x\a, #0x810]
	str	x\n, [x\o, #(8 * \n)]
	ldr	x\n, [x\a, #0x808]
	str	x\n, [x\o, #(8 * (31 + \n))]
	ldr	x\n, [x\a, #0x818]
	str	x\n, [x\o, #(8 * (62 + \n))]
.endm

.macro load_sweep fn, insn, r, stride
	.text
	.global \fn
	.type \fn, %function
\fn:
	prologue
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
	with_regs load_step, \insn, \r, \n, \stride
	.endr
	epilogue
	.size \fn, . - \fn
.endm

.macro store_sweep fn, insn, r
	.text
	.global \fn
	.type \fn, %function
\fn:
	prologue
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
	with_regs store_step, \insn, \r, \n, 0
	.endr
	epilogue
	.size \fn, . - \fn
.endm

	load_sweep mmio_sweep_ldr_x, ldr, x, 8
	load_sweep mmio_sweep_ldr_w, ldr, w, 4
	load_sweep mmio_sweep_ldrh, ldrh, w, 2
	load_sweep mmio_sweep_ldrb, ldrb, w, 1
	load_sweep mmio_sweep_ldrsb_x, ldrsb, x, 1
	load_sweep mmio_sweep_ldrsb_w, ldrsb, w, 1
	load_sweep mmio_sweep_ldrsh_x, ldrsh, x, 2
	load_sweep mmio_sweep_ldrsh_w, ldrsh, w, 2
	load_sweep mmio_sweep_ldrsw, ldrsw, x, 4
	load_sweep mmio_sweep_ldar_x, ldar, x, 8
	load_sweep mmio_sweep_ldar_w, ldar, w, 4
	load_sweep mmio_sweep_ldarh, ldarh, w, 2
	load_sweep mmio_sweep_ldarb, ldarb, w, 1

	store_sweep mmio_sweep_str_x, str, x
	store_sweep mmio_sweep_str_w, str, w
	store_sweep mmio_sweep_strh, strh, w
	store_sweep mmio_sweep_strb, strb, w
	store_sweep mmio_sweep_stlr_x, stlr, x
	store_sweep mmio_sweep_stlr_w, stlr, w
	store_sweep mmio_sweep_stlrh, stlrh, w
	store_sweep mmio_sweep_stlrb, stlrb, w

/*
 * void mmio_zr_loads(uintptr_t addr, uint64_t out[33])
 * Loads into XZR/WZR with every load form, with x0..x30 (but x15 = addr)
 * holding sentinels (n + 1) * 0x0101010101010101; then out[n] = Xn for
 * n = 0..30, out[31] = SP before, out[32] = SP after. 13 loads.
 */
	.global mmio_zr_loads
	.type mmio_zr_loads, %function
mmio_zr_loads:
	prologue
	mov	x15, x0
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
	ldr	x\n, =((\n + 1) * 0x0101010101010101)
	.endr
	mov	x14, sp
	str	x14, [sp, #120]
	ldr	x14, =((14 + 1) * 0x0101010101010101)
	ldr	xzr, [x15]
	ldr	wzr, [x15]
	ldrh	wzr, [x15]
	ldrb	wzr, [x15]
	ldrsb	xzr, [x15]
	ldrsb	wzr, [x15]
	ldrsh	xzr, [x15]
	ldrsh	wzr, [x15]
	ldrsw	xzr, [x15]
	ldar	xzr, [x15]
	ldar	wzr, [x15]
	ldarh	wzr, [x15]
	ldarb	wzr, [x15]
	/* Spill the registers below the frame (SP is still the frame base if
	 * nothing wrote it), then copy them to out. */
	sub	sp, sp, #256
	stp	x0, x1, [sp, #0]
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
	add	x0, sp, #256
	str	x0, [sp, #248]		/* SP after (frame base) */
	ldr	x1, [x0, #8]		/* out */
	mov	x2, #0
1:	ldr	x3, [sp, x2, lsl #3]
	str	x3, [x1, x2, lsl #3]
	add	x2, x2, #1
	cmp	x2, #31
	b.ne	1b
	ldr	x3, [x0, #120]		/* SP before */
	str	x3, [x1, #(8 * 31)]
	ldr	x3, [sp, #248]
	str	x3, [x1, #(8 * 32)]
	add	sp, sp, #256
	epilogue
	.size mmio_zr_loads, . - mmio_zr_loads
	.ltorg
