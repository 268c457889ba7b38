#!/usr/bin/env bash
# Makes the device trees the bad-DTB boot tests hand to lamina: QEMU virt's
# own DTB for the test machine (GICv3, 2 CPUs, 1 GiB), then broken or
# incomplete variants of it.
#
#   make-dtbs.sh OUTDIR
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"

"$root/scripts/lamina-qemu" --gic 3 --cpus 2 --mem 1G --dumpdtb "$out/virt.dtb" >/dev/null
test -s "$out/virt.dtb"

# Byte-level corruptions: header fields are big-endian 32-bit words.
patch_word() {  # file offset hexword
  printf "$(printf '\\x%s' $(echo "$3" | sed 's/../& /g'))" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$out/virt.dtb" "$out/bad-magic.dtb";   patch_word "$out/bad-magic.dtb" 0 deadbeef
cp "$out/virt.dtb" "$out/bad-version.dtb"; patch_word "$out/bad-version.dtb" 20 00000001
# A blob cut short: the header still claims the full size, the rest is gone.
head -c 512 "$out/virt.dtb" > "$out/truncated.dtb"
# Garbage in the structure block (a bad token right after the root node's name).
cp "$out/virt.dtb" "$out/bad-struct.dtb"
struct_off=$((16#$(xxd -s 8 -l 4 -p "$out/virt.dtb")))
patch_word "$out/bad-struct.dtb" $((struct_off + 8)) 0000000f

# Structurally valid, but missing what lamina needs.
intc=$(fdtget -l "$out/virt.dtb" / | grep '^intc@' | head -1)
mem=$(fdtget -l "$out/virt.dtb" / | grep '^memory@' | head -1)
cp "$out/virt.dtb" "$out/no-gic.dtb";    fdtput -r "$out/no-gic.dtb" "/$intc"
cp "$out/virt.dtb" "$out/no-memory.dtb"; fdtput -r "$out/no-memory.dtb" "/$mem"
cp "$out/virt.dtb" "$out/no-timer.dtb";  fdtput -r "$out/no-timer.dtb" /timer
cp "$out/virt.dtb" "$out/no-cpus.dtb";   fdtput -r "$out/no-cpus.dtb" /cpus
# A CPU that the DT lists but the machine does not have: PSCI CPU_ON must
# fail for it, and lamina must report it and carry on with the others.
cp "$out/virt.dtb" "$out/extra-cpu.dtb"
fdtput -c "$out/extra-cpu.dtb" /cpus/cpu@5
fdtput -t s "$out/extra-cpu.dtb" /cpus/cpu@5 device_type cpu
fdtput -t s "$out/extra-cpu.dtb" /cpus/cpu@5 compatible arm,arm-v8
fdtput -t s "$out/extra-cpu.dtb" /cpus/cpu@5 enable-method psci
fdtput -t x "$out/extra-cpu.dtb" /cpus/cpu@5 reg 5

# The Raspberry Pi 4 DTB (from Debian's kernel package, see
# tests/fixtures/dtb/regenerate.sh) with its console moved from the mini UART
# (serial1, not driven by lamina yet) to the PL011 (serial0), which is QEMU
# raspi4b's first serial port.
cp "$root/tests/fixtures/dtb/bcm2711-rpi-4-b.dtb" "$out/rpi4-pl011.dtb"
fdtput -t s "$out/rpi4-pl011.dtb" /chosen stdout-path "serial0:115200n8"
echo "dtbs in $out"
