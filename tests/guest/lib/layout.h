/*
 * Constants shared by the guest framework's assembly and C++ (one source for
 * both; lib/guest.hpp static_asserts the C++ structs against them).
 */
#ifndef LAMINA_GUEST_LAYOUT_H
#define LAMINA_GUEST_LAYOUT_H

/* Per-CPU stacks, indexed by MPIDR_EL1.Aff0; must match linker/guest.ld. */
#define GUEST_MAX_CPUS 8
#define GUEST_STACK_SHIFT 14 /* 16 KiB */

/* struct EntryState: the CPU state at _start / secondary_entry, recorded
 * before the framework touches anything. 16 doublewords. */
#define ENTRY_X0 0
#define ENTRY_X1 8
#define ENTRY_X2 16
#define ENTRY_X3 24
#define ENTRY_PC 32
#define ENTRY_CURRENT_EL 40
#define ENTRY_DAIF 48
#define ENTRY_SPSEL 56
#define ENTRY_SCTLR 64
#define ENTRY_MPIDR 72
#define ENTRY_BSS_DIRTY 80
#define ENTRY_VALID 88
#define ENTRY_SIZE_SHIFT 7 /* 128 bytes */

/* struct Frame: what the exception vectors save (lib/vectors.S). */
#define FRAME_X0 0 /* x0..x30 at 8 * n */
#define FRAME_SP 248
#define FRAME_ELR 256
#define FRAME_SPSR 264
#define FRAME_ESR 272
#define FRAME_FAR 280
#define FRAME_DAIF 288
#define FRAME_VECTOR 296
#define FRAME_SP_EL0 304
#define FRAME_SIZE 320 /* 16-byte multiple */

/* SPSR/PSTATE values: M[3:0] EL1h = 0b0101, EL0t = 0; D, A, I, F = bits 9:6
 * (DDI 0487 C5.2.19 SPSR_EL1). */
#define PSTATE_DAIF_MASKED 0x3c0
#define PSTATE_EL1H 0x5
#define PSTATE_EL0T 0x0

#endif
