// A tiny arm64 Image for the relocation and bad-DTB boot tests. QEMU loads
// it with -kernel (so x0 = QEMU's DTB, as for lamina itself); it jumps to
// wherever the test placed lamina, optionally replacing x0 with another DTB
// address. Parameters are written into RAM by the test (lamina-qemu --set):
//
//   0x40100000: lamina's entry (its load address)
//   0x40100008: non-zero to replace x0
//   0x40100010: the x0 to pass instead of QEMU's DTB (e.g. 0 or a bad blob)

#define STUB_PARAMS 0x40100000

	.section .text, "ax"
	.global _start
_start:
	b	1f			// code0
	.long	0			// code1
	.quad	0			// text_offset
	.quad	0x10000			// image_size
	.quad	0xa			// flags: LE, 4K pages, place anywhere
	.quad	0, 0, 0
	.ascii	"ARM\x64"
	.long	0

1:	ldr	x9, =STUB_PARAMS
	ldr	x16, [x9]
	ldr	x10, [x9, #8]
	cbz	x10, 2f
	ldr	x0, [x9, #16]
2:	br	x16
	.ltorg
