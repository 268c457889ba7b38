// lamina's entry points: the Linux arm64 Image header, the boot CPU's entry
// (BSS, relocation, stack, then C++), and the secondary CPUs' entry (MMU on
// from the boot CPU's values, then C++). Everything else is C++.
//
// Entered per Linux Documentation/arch/arm64/booting.rst: MMU and D-cache
// off, x0 = physical address of the DTB, x1-x3 = 0, at EL2 (or EL1 when the
// machine has no virtualization; boot/wrong_el.cpp explains the problem).

#include "asm_offsets.h"

// R_AARCH64_RELATIVE, ELF for the Arm 64-bit Architecture (IHI 0056),
// "Dynamic relocations". The only kind the link leaves (checked by the
// Makefile after linking).
#define R_AARCH64_RELATIVE 1027

	.section .head.text, "ax"
	.global _start
_start:
	b	primary_entry			// code0
	.long	0				// code1
	.quad	IMAGE_TEXT_OFFSET		// text_offset
	.quad	__image_end - . + 16		// image_size (= __image_end - _start): file + BSS + stacks
	.quad	IMAGE_FLAGS			// LE, 4K pages, place anywhere
	.quad	0				// res2
	.quad	0				// res3
	.quad	0				// res4
	.long	IMAGE_MAGIC			// "ARM\x64"
	.long	0				// res5: no PE header

	.section .text.boot, "ax"
primary_entry:
	msr	daifset, #0xf
	mov	x19, x0				// DTB physical address
	adr	x20, _start			// load base (PA; linked at 0)

	// Zero BSS and stacks. MMU off: all memory is Device, so only aligned
	// stores (the region is 16-byte aligned and sized).
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __image_end
	add	x1, x1, :lo12:__image_end
1:	cmp	x0, x1
	b.hs	2f
	stp	xzr, xzr, [x0], #16
	b	1b

	// Apply R_AARCH64_RELATIVE relocations: *(base + offset) = base + addend.
2:	adrp	x0, __rela_start
	add	x0, x0, :lo12:__rela_start
	adrp	x1, __rela_end
	add	x1, x1, :lo12:__rela_end
3:	cmp	x0, x1
	b.hs	5f
	ldp	x2, x3, [x0], #16		// r_offset, r_info
	ldr	x4, [x0], #8			// r_addend
	cmp	w3, #R_AARCH64_RELATIVE
	b.ne	4f
	add	x4, x4, x20
	str	x4, [x20, x2]
	b	3b
4:	// An unknown relocation: the build check makes this unreachable; if it
	// happens there is no console yet, so park the CPU where a debugger sees it.
	wfe
	b	4b

5:	// Boot CPU: stack 0 and per-CPU 0. x29/x30 = 0 ends backtraces here.
	adrp	x0, lamina_cpu_stacks
	add	x0, x0, :lo12:lamina_cpu_stacks
	add	x0, x0, #CPU_STACK_TOP_OFFSET
	mov	sp, x0
	adrp	x0, lamina_percpu
	add	x0, x0, :lo12:lamina_percpu
	mrs	x1, CurrentEL
	cmp	x1, #CURRENT_EL_EL2
	b.ne	6f
	msr	tpidr_el2, x0
6:	mov	x29, xzr
	mov	x30, xzr

	// Stack-protector canary from the counter (before any C++ frame exists).
	mrs	x0, cntpct_el0
	adrp	x1, __stack_chk_guard
	ldr	x2, [x1, :lo12:__stack_chk_guard]
	eor	x0, x0, x2, ror #17
	str	x0, [x1, :lo12:__stack_chk_guard]

	mov	x0, x19
	mov	x1, x20
	bl	boot_primary			// C++, does not return
7:	wfe
	b	7b

// Secondary CPUs, started by PSCI CPU_ON or a spin-table release. MMU and
// caches are off; x0 is PSCI's context_id (unused: the slot is found by
// MPIDR so both methods share this path). The boot CPU cleaned
// g_secondary_boot and g_mmu_config to the PoC before starting us.
	.global secondary_entry
secondary_entry:
	msr	daifset, #0xf
	mrs	x0, CurrentEL
	cmp	x0, #CURRENT_EL_EL2
	b.ne	9f				// not at EL2: nothing sane to do

	mrs	x1, mpidr_el1
	ldr	x2, =MPIDR_AFFINITY_MASK
	and	x1, x1, x2
	adrp	x3, g_secondary_boot
	add	x3, x3, :lo12:g_secondary_boot
	mov	x4, #SB_COUNT
8:	cbz	x4, 9f				// no slot for this CPU
	ldr	x5, [x3, #SB_MPIDR]
	cmp	x5, x1
	b.eq	10f
	add	x3, x3, #SB_SIZE
	sub	x4, x4, #1
	b	8b
9:	wfe
	b	9b

10:	// Invalidate anything a previous boot stage left in this CPU's I-cache,
	// then turn the MMU on with the boot CPU's tables and register values.
	ic	iallu
	adrp	x0, g_mmu_config
	add	x0, x0, :lo12:g_mmu_config
	bl	enable_el2_mmu

	ldr	x0, [x3, #SB_PERCPU]
	msr	tpidr_el2, x0
	ldr	x1, [x3, #SB_STACK_TOP]
	mov	sp, x1
	mov	x29, xzr
	mov	x30, xzr
	bl	secondary_main			// C++, x0 = PerCpu*, does not return
11:	wfe
	b	11b

// enable_el2_mmu(const MmuConfig* x0): the one EL2 MMU-on sequence, for the
// boot CPU (called from C++) and the secondaries. A leaf that touches no
// memory but the config (so it is safe with the MMU and caches off) and
// clobbers only x0-x2: VBAR, MAIR, TCR, TTBR0, then TLBI ALLE2 so no stale
// EL2 translation survives, then SCTLR_EL2 and an ISB so the next
// instruction is fetched through the new map (identity: same address).
	.global enable_el2_mmu
enable_el2_mmu:
	ldr	x1, [x0, #MMU_VBAR]
	msr	vbar_el2, x1
	ldr	x1, [x0, #MMU_MAIR]
	msr	mair_el2, x1
	ldr	x1, [x0, #MMU_TCR]
	msr	tcr_el2, x1
	ldr	x1, [x0, #MMU_TTBR0]
	msr	ttbr0_el2, x1
	isb
	tlbi	alle2
	dsb	nsh
	ldr	x2, [x0, #MMU_SCTLR]
	msr	sctlr_el2, x2
	isb
	ret
