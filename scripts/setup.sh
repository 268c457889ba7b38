#!/usr/bin/env bash
# Installs everything lamina's build, `make run` and `make test` need on Debian 12
# (bookworm). Idempotent: when everything is present it only checks and exits.
#
# What it provides:
#   - the arm64 dpkg architecture and the bookworm-backports suite (QEMU 10.x)
#   - qemu-system-arm >= 10 from backports (qemu-system-aarch64, virt + virtualization=on)
#   - g++-aarch64-linux-gnu (EL2 image), g++/cmake/GoogleTest (host unit tests)
#   - device-tree-compiler (fixtures, fdtput/fdtget in boot tests), gdb-multiarch (make debug),
#     u-boot-qemu (boot test: U-Boot's booti starting lamina)
#   - Debian's libfdt for the host (unit tests) and libfdt-dev:arm64's libfdt.a for the
#     EL2 image, unpacked under $LAMINA_DEPS (libfdt-dev is not Multi-Arch: same, so the
#     arm64 package cannot be installed beside the amd64 one)
#   - the Linux guest's kernel and busybox (linux-image-*-arm64, busybox-static:arm64),
#     unpacked under $LAMINA_DEPS/guest by guest-images/fetch.sh
set -euo pipefail

LAMINA_DEPS=${LAMINA_DEPS:-/opt/lamina-deps}
QEMU_MIN_MAJOR=10

host_packages=(
  make g++ cmake python3 git
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  device-tree-compiler libfdt-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  gdb-multiarch
  u-boot-qemu
)
arm64_payloads=(libfdt-dev libfdt1)

log() { echo "setup: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_host_packages() {
  local p status
  for p in "${host_packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || echo "$p"
  done
}

qemu_ok() {
  command -v qemu-system-aarch64 >/dev/null 2>&1 || return 1
  local v
  v=$(qemu-system-aarch64 --version | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
  [ -n "$v" ] && [ "$v" -ge "$QEMU_MIN_MAJOR" ]
}

arm64_payloads_ok() {
  [ -f "$LAMINA_DEPS/arm64/usr/lib/aarch64-linux-gnu/libfdt.a" ] &&
    [ -f "$LAMINA_DEPS/arm64/usr/include/libfdt.h" ]
}

# The Linux guest's kernel and busybox (guest-images/README.md), cached in
# $LAMINA_DEPS/guest; quick when they are there.
guest_images() {
  LAMINA_DEPS=$LAMINA_DEPS "$(dirname "$0")/../guest-images/fetch.sh"
}

missing=$(missing_host_packages)
if [ -z "$missing" ] && qemu_ok && arm64_payloads_ok; then
  guest_images
  exit 0
fi

log "installing what is missing${missing:+: $(echo $missing)}"
export DEBIAN_FRONTEND=noninteractive

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "adding the arm64 dpkg architecture"
  as_root dpkg --add-architecture arm64
fi

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding bookworm-backports"
  as_root tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

as_root apt-get update -qq

if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! qemu_ok; then
  log "installing qemu-system-arm >= $QEMU_MIN_MAJOR from bookworm-backports"
  as_root apt-get install -y -qq --no-install-recommends -t bookworm-backports \
    qemu-system-arm qemu-utils >/dev/null
  qemu_ok || { log "error: qemu-system-aarch64 >= $QEMU_MIN_MAJOR still missing"; exit 1; }
fi

if ! arm64_payloads_ok; then
  log "unpacking arm64 payloads (${arm64_payloads[*]}) into $LAMINA_DEPS/arm64"
  tmp=$(mktemp -d)
  chmod 755 "$tmp"  # apt downloads as the _apt user
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && for p in "${arm64_payloads[@]}"; do apt-get download -qq "$p:arm64"; done)
  as_root mkdir -p "$LAMINA_DEPS/arm64"
  for deb in "$tmp"/*.deb; do as_root dpkg-deb -x "$deb" "$LAMINA_DEPS/arm64"; done
  arm64_payloads_ok || { log "error: libfdt.a for arm64 not found after unpacking"; exit 1; }
fi

guest_images
log "done"
