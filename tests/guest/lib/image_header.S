/*
 * A Linux arm64 Image header (Documentation/arch/arm64/booting.rst), linked
 * first into Image-format guests (linker/guest.ld keeps .text.image_header at
 * the start). text_offset 0: QEMU virt and lamina place the Image at RAM
 * base + 2 MiB + text_offset = 0x40200000, where it is linked
 * (-Wl,--defsym=__guest_base=0x40200000).
 */
	.section .text.image_header, "ax"
	.global guest_image_header
guest_image_header:
	b	_start			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	__image_size		/* image_size: through .bss and the stacks */
	/* flags: bit 0 little-endian (0), bits 2:1 page size 4K (0b01),
	 * bit 3 physical placement anywhere (1) */
	.quad	0xa
	.quad	0			/* res2 */
	.quad	0			/* res3 */
	.quad	0			/* res4 */
	.ascii	"ARM\x64"		/* magic 0x644d5241 */
	.long	0			/* res5 (PE header offset: none) */
