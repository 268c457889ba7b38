#!/usr/bin/env bash
# Post-link checks on build/lamina.elf, run by the Makefile:
#  - the only dynamic relocations are R_AARCH64_RELATIVE (boot/entry.S applies
#    those and nothing else; anything else would be silently wrong at a new base);
#  - no writable+executable segment.
set -euo pipefail
readelf=$1
elf=$2

bad=$("$readelf" -rW "$elf" | awk '/^ *[0-9a-f]+ +[0-9a-f]+ +R_AARCH64_/ && $3 != "R_AARCH64_RELATIVE" {print $3}' | sort -u)
if [ -n "$bad" ]; then
  echo "check-elf: $elf has relocations entry.S cannot apply: $bad" >&2
  exit 1
fi
if "$readelf" -lW "$elf" | awk '$1 == "LOAD" && $7 ~ /W/ && $7 ~ /E/ {found=1} END {exit !found}'; then
  echo "check-elf: $elf has a writable and executable LOAD segment" >&2
  exit 1
fi
