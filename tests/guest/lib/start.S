/*
 * Guest entry points.
 *
 * _start: the boot CPU, entered as QEMU virt's -kernel or lamina enters a
 * guest (MMU off, EL1h, x0 = DT for Image/raw payloads). It records the entry
 * state first (tests check it), masks DAIF, takes the stack of its
 * MPIDR_EL1.Aff0, notes whether .bss was already zero (an ELF loader must
 * zero it), zeroes .bss, installs VBAR_EL1 and calls guest_boot_main.
 *
 * secondary_entry: where PSCI CPU_ON starts a secondary (x0 = context ID).
 * Same recording, into g_secondary_entry[Aff0], then guest_secondary_main.
 * .bss is not touched: the boot CPU zeroed it before any CPU_ON.
 */
#include "layout.h"

	.section .text.boot, "ax"

/* x16 = the EntryState record, x15 = where this entry point began,
 * x17 = scratch. x0-x3 are untouched. */
.macro record_entry
	str	x15, [x16, #ENTRY_PC]
	stp	x0, x1, [x16, #ENTRY_X0]
	stp	x2, x3, [x16, #ENTRY_X2]
	mrs	x17, CurrentEL
	str	x17, [x16, #ENTRY_CURRENT_EL]
	mrs	x17, daif
	str	x17, [x16, #ENTRY_DAIF]
	mrs	x17, spsel
	str	x17, [x16, #ENTRY_SPSEL]
	mrs	x17, sctlr_el1
	str	x17, [x16, #ENTRY_SCTLR]
	mrs	x17, mpidr_el1
	str	x17, [x16, #ENTRY_MPIDR]
	mov	x17, #1
	str	x17, [x16, #ENTRY_VALID]
.endm

/* sp = top of the stack of CPU Aff0 (in \cpu); halts if Aff0 is too big. */
.macro take_stack, cpu, tmp
	cmp	\cpu, #GUEST_MAX_CPUS
	b.hs	guest_halt
	adrp	\tmp, __stacks_end
	add	\tmp, \tmp, :lo12:__stacks_end
	sub	\tmp, \tmp, \cpu, lsl #GUEST_STACK_SHIFT
	mov	sp, \tmp
.endm

	.global _start
	.type _start, %function
_start:
	adr	x15, _start
	adrp	x16, g_boot_entry
	add	x16, x16, :lo12:g_boot_entry
	record_entry
	msr	daifset, #0xf
	msr	spsel, #1
	isb

	/* Was .bss zero when we got control? Record the first nonzero
	 * address (0 = clean), then zero it (a raw binary has no .bss). */
	adrp	x4, __bss_start
	add	x4, x4, :lo12:__bss_start
	adrp	x5, __bss_end
	add	x5, x5, :lo12:__bss_end
	mov	x6, #0
1:	cmp	x4, x5
	b.hs	3f
	ldr	x7, [x4], #8
	cbz	x7, 1b
	sub	x6, x4, #8
3:	str	x6, [x16, #ENTRY_BSS_DIRTY]
	adrp	x4, __bss_start
	add	x4, x4, :lo12:__bss_start
4:	cmp	x4, x5
	b.hs	5f
	stp	xzr, xzr, [x4], #16
	b	4b
5:
	mrs	x17, mpidr_el1
	and	x17, x17, #0xff
	take_stack x17, x4
	adrp	x4, guest_vectors
	add	x4, x4, :lo12:guest_vectors
	msr	vbar_el1, x4
	isb
	mov	x0, x16
	bl	guest_boot_main
	b	guest_halt
	.size _start, . - _start

	/* A second CPU_ON entry point, so a test can tell that a vCPU starts
	 * where CPU_ON said (ENTRY_PC records which one ran). */
	.global secondary_entry_alt
	.type secondary_entry_alt, %function
	.balign 64
secondary_entry_alt:
	adr	x15, secondary_entry_alt
	b	secondary_common
	.size secondary_entry_alt, . - secondary_entry_alt

	.global secondary_entry
	.type secondary_entry, %function
	.balign 64
secondary_entry:
	adr	x15, secondary_entry
secondary_common:
	mrs	x17, mpidr_el1
	and	x17, x17, #0xff
	cmp	x17, #GUEST_MAX_CPUS
	b.hs	guest_halt
	adrp	x16, g_secondary_entry
	add	x16, x16, :lo12:g_secondary_entry
	add	x16, x16, x17, lsl #ENTRY_SIZE_SHIFT
	record_entry
	msr	daifset, #0xf
	msr	spsel, #1
	isb
	mrs	x17, mpidr_el1
	and	x17, x17, #0xff
	str	xzr, [x16, #ENTRY_BSS_DIRTY]
	take_stack x17, x4
	adrp	x4, guest_vectors
	add	x4, x4, :lo12:guest_vectors
	msr	vbar_el1, x4
	isb
	mov	x1, x16
	/* x0 = context ID, x1 = EntryState */
	bl	guest_secondary_main
	b	guest_halt
	.size secondary_entry, . - secondary_entry

	.global guest_halt
	.type guest_halt, %function
guest_halt:
	msr	daifset, #0xf
1:	wfi
	b	1b
	.size guest_halt, . - guest_halt
