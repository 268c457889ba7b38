# gdb-multiarch script for `make gdb` (with `make debug` running in another
# terminal): loads lamina's symbols at the address QEMU virt's -kernel puts
# the Image (RAM base 0x40000000 + 2 MiB) and connects to QEMU's gdb stub.
#
# lamina is linked at 0 and relocates itself to wherever it was loaded; if
# you load it elsewhere (e.g. U-Boot booti, or lamina-qemu --load), use
#   symbol-file -o <load address> build/lamina.elf
set pagination off
set confirm off
set architecture aarch64
symbol-file -o 0x40200000 build/lamina.elf
target remote 127.0.0.1:1234
echo lamina: connected; try `break hyp_main` then `continue`\n
