#!/bin/sh
# Linux under lamina with passed-through devices (CTest linux.*.passthrough,
# guest-images/guest_images_tests.cmake): two raw disk images with fresh
# markers, one on a virtio-mmio transport and one on a virtio-blk-pci behind
# the PCIe host bridge (legacy INTx: guests get no MSI controller), the PL031
# RTC, and the in-guest checks of init.sh for all three (lamina.disks,
# lamina.rtc, lamina.pci) besides the usual five. The disks are read with
# their interrupts routed to vCPU 1 (lamina.irq_cpu) while lamina keeps the
# physical SPIs on vCPU 0's CPU: the guest's deactivation through the HW bit
# then comes from the other CPU.
#
# usage: passthrough-test.sh LAMINA_QEMU LAMINA_BIN IMAGES_DIR WORK_DIR NAME LOG [lamina-qemu options...]
set -eu
qemu_launcher=$1 image=$2 images=$3 work=$4 name=$5 log=$6
shift 6

mkdir -p "$work"
# Markers differ run to run, so a stale image or a cached read cannot pass.
stamp=$(date +%s)$$
mmio_marker="lamina-mmio-disk-$stamp"
pci_marker="lamina-pci-disk-$stamp"
printf '%s' "$mmio_marker" >"$work/$name.mmio.img"
printf '%s' "$pci_marker" >"$work/$name.pci.img"
truncate -s 1M "$work/$name.mmio.img" "$work/$name.pci.img"

exec "$qemu_launcher" --image "$image" \
  --guest-kernel "$images/Image" --guest-initrd "$images/initramfs.cpio.gz" \
  --guest-append "console=ttyAMA0 nokaslr lamina.mode=auto lamina.vcpus=2 lamina.mem_mib=1024 lamina.disks=$mmio_marker,$pci_marker lamina.irq_cpu=1 lamina.rtc=1 lamina.pci=2" \
  --vcpus 2 --guest-mem 1024M --guest-passthrough all \
  --qemu-args "-drive if=none,file=$work/$name.mmio.img,format=raw,id=mmio -device virtio-blk-device,drive=mmio" \
  --qemu-args "-drive if=none,file=$work/$name.pci.img,format=raw,id=pci -device virtio-blk-pci,drive=pci" \
  --name "$name" --timeout 120 --log "$log" \
  --expect "LAMINA-GUEST: start" \
  --expect "LAMINA-CHECK disks: PASS .*$mmio_marker:/dev/vd[a-z][(]virtio_mmio[)] $pci_marker:/dev/vd[a-z][(]pci[)]; virtio interrupts on CPU 1: " \
  --expect "LAMINA-CHECK rtc: PASS rtc0 rtc-pl031" \
  --expect "LAMINA-CHECK pci: PASS [0-9]+ functions, expected at least 2:.*irq[0-9]+=[1-9]" \
  --expect "LAMINA-RESULT: PASS 8 checks" --expect "reboot: Power down" --expect-in-order \
  --reject "LAMINA-CHECK .*: FAIL" --reject "LAMINA-RESULT: FAIL" \
  --reject "WARNING: CPU" --reject "BUG: " --reject "Oops" --reject "Internal error:" \
  --reject "Kernel panic" --reject "Unable to handle kernel" --reject "Call trace:" \
  --expect-exit 0 "$@"
