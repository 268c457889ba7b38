#!/usr/bin/env bash
# Fetches the Linux guest's inputs from Debian (arm64) into a cache that is
# never committed:
#   $DEST/Image            the kernel of linux-image-<abi>-arm64, uncompressed
#                          (lamina refuses compressed kernels)
#   $DEST/Image.version    "<uname -r> <package> <package version>"
#   $DEST/busybox          the static busybox of busybox-static
#   $DEST/busybox.version  "<package> <package version>"
#   $DEST/modules/*.ko     the kernel's virtio transport and disk modules
#                          (GUEST_MODULES, in load order: passthrough tests)
# DEST defaults to $LAMINA_DEPS/guest (/opt/lamina-deps/guest).
#
# Which kernel: $LAMINA_GUEST_KERNEL_PKG if set (e.g. linux-image-6.1.0-56-arm64),
# else the dependency of apt's candidate for the linux-image-arm64:arm64
# metapackage (bookworm or bookworm-security; backports is not preferred).
#
# Idempotent and quick: with both files present it only checks them and exits
# (--update fetches the newest candidates again). Needs the arm64 dpkg
# architecture (scripts/setup.sh adds it) and root or sudo to write under /opt.
set -euo pipefail

LAMINA_DEPS=${LAMINA_DEPS:-/opt/lamina-deps}
DEST=$LAMINA_DEPS/guest
update=0

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  echo "usage: $0 [--dest DIR] [--update]"
}

while [ $# -gt 0 ]; do
  case $1 in
    --dest) DEST=$2; shift 2 ;;
    --update) update=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

log() { echo "guest-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [ -w "$(existing_parent "$DEST")" ]; then "$@"
  elif [ "$(id -u)" -eq 0 ]; then "$@"
  else sudo "$@"; fi
}

existing_parent() {
  local d=$1
  while [ ! -e "$d" ]; do d=$(dirname "$d"); done
  echo "$d"
}

# An arm64 Linux Image: "ARM\x64" at byte 56 (Documentation/arch/arm64/booting.rst).
is_arm64_image() {
  [ "$(od -An -c -j56 -N4 "$1" | tr -d ' ')" = 'ARMd' ]
}

# An AArch64 ELF executable (EI_CLASS 2, e_machine 183 = EM_AARCH64).
is_aarch64_elf() {
  [ "$(od -An -tx1 -N5 "$1" | tr -d ' ')" = 7f454c4602 ] &&
    [ "$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')" = 183 ]
}

# Modules the initramfs loads for passed-through virtio devices, in load
# order (virtio_pci needs both of its libraries; virtio itself is built in).
GUEST_MODULES="drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev
drivers/virtio/virtio_pci drivers/virtio/virtio_mmio drivers/block/virtio_blk"

modules_ok() {
  local m
  for m in $GUEST_MODULES; do [ -s "$DEST/modules/${m##*/}.ko" ] || return 1; done
}

cache_ok() {
  modules_ok && [ -s "$DEST/Image.version" ] && [ -s "$DEST/busybox.version" ] &&
    [ -f "$DEST/Image" ] && is_arm64_image "$DEST/Image" &&
    [ -x "$DEST/busybox" ] && is_aarch64_elf "$DEST/busybox"
}

if [ "$update" = 0 ] && cache_ok; then
  exit 0
fi

dpkg --print-foreign-architectures | grep -qx arm64 ||
  die "the arm64 dpkg architecture is missing (scripts/setup.sh adds it)"

candidate() {  # the version apt would install
  apt-cache policy "$1" | sed -n 's/^ *Candidate: *//p'
}

kernel_pkg=${LAMINA_GUEST_KERNEL_PKG:-}
if [ -z "$kernel_pkg" ]; then
  meta_version=$(candidate linux-image-arm64:arm64)
  if [ -z "$meta_version" ] || [ "$meta_version" = "(none)" ]; then
    log "no candidate for linux-image-arm64:arm64; running apt-get update"
    as_root apt-get update -qq
    meta_version=$(candidate linux-image-arm64:arm64)
  fi
  if [ -z "$meta_version" ] || [ "$meta_version" = "(none)" ]; then
    die "apt knows no linux-image-arm64:arm64 (is the arm64 architecture in the sources?)"
  fi
  kernel_pkg=$(apt-cache show "linux-image-arm64:arm64=$meta_version" |
    sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-arm64\).*/\1/p' | head -n1)
  [ -n "$kernel_pkg" ] || die "cannot find the kernel package linux-image-arm64 $meta_version depends on"
fi
abi=${kernel_pkg#linux-image-}

tmp=$(mktemp -d)
chmod 755 "$tmp"  # apt downloads as the _apt user
if [ "$(id -u)" -eq 0 ]; then chown _apt "$tmp" 2>/dev/null || true; fi
trap 'rm -rf "$tmp"' EXIT

log "downloading $kernel_pkg:arm64 and busybox-static:arm64"
(cd "$tmp" && apt-get download -qq "$kernel_pkg:arm64" busybox-static:arm64) ||
  die "apt-get download failed"

kernel_deb=$(ls "$tmp"/linux-image-*.deb)
busybox_deb=$(ls "$tmp"/busybox-static_*.deb)
kernel_version=$(dpkg-deb -f "$kernel_deb" Version)
busybox_version=$(dpkg-deb -f "$busybox_deb" Version)

# The kernel itself, and only the modules GUEST_MODULES names.
mkdir "$tmp/k" "$tmp/b"
members="./boot/vmlinuz-$abi"
for m in $GUEST_MODULES; do members="$members ./lib/modules/$abi/kernel/$m.ko"; done
# shellcheck disable=SC2086  # one member per word
dpkg-deb --fsys-tarfile "$kernel_deb" | tar -x -C "$tmp/k" $members ||
  die "$kernel_deb lacks boot/vmlinuz-$abi or a module of: $GUEST_MODULES"
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -x -C "$tmp/b" ./bin/busybox ||
  die "$busybox_deb has no bin/busybox"

image=$tmp/k/boot/vmlinuz-$abi
# Debian's 6.1 kernels ship an uncompressed Image (with an EFI stub); others
# may be gzip: lamina loads only uncompressed Images, so decompress.
if [ "$(od -An -tx1 -N2 "$image" | tr -d ' ')" = 1f8b ]; then
  log "vmlinuz-$abi is gzip-compressed: decompressing"
  gzip -dc <"$image" >"$tmp/Image"
else
  cp "$image" "$tmp/Image"
fi
is_arm64_image "$tmp/Image" || die "vmlinuz-$abi is not an arm64 Image (EFI zboot? not supported)"
is_aarch64_elf "$tmp/b/bin/busybox" || die "busybox-static's bin/busybox is not an AArch64 ELF"

echo "$abi $kernel_pkg $kernel_version" >"$tmp/Image.version"
echo "busybox-static $busybox_version" >"$tmp/busybox.version"

as_root mkdir -p "$DEST"
# The version files go last: without them the cache counts as incomplete.
as_root rm -f "$DEST/Image.version" "$DEST/busybox.version"
as_root install -m 644 "$tmp/Image" "$DEST/Image"
as_root install -m 755 "$tmp/b/bin/busybox" "$DEST/busybox"
as_root mkdir -p "$DEST/modules"
for m in $GUEST_MODULES; do as_root install -m 644 "$tmp/k/lib/modules/$abi/kernel/$m.ko" "$DEST/modules/"; done
(for m in $GUEST_MODULES; do echo "${m##*/}.ko"; done) >"$tmp/load-order"
as_root install -m 644 "$tmp/load-order" "$DEST/modules/load-order"
as_root install -m 644 "$tmp/Image.version" "$tmp/busybox.version" "$DEST/"
cache_ok || die "the cache in $DEST is incomplete after fetching"
log "kernel $abi ($kernel_pkg $kernel_version), busybox-static $busybox_version in $DEST"
