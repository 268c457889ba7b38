#!/usr/bin/env bash
# Boots lamina with a deliberate EL2 fault (lamina.selftest=KIND), checks the
# crash report against the expectations given, then checks that the report's
# addresses resolve in build/lamina.elf to the function that faulted: the
# report is only useful if addr2line can read it.
#
#   crash_report_test.sh QEMU_TOOL BUILD_DIR KIND LOG EXPECTED_EC_REGEX FUNCTION [lamina-qemu args...]
set -euo pipefail
qemu_tool=$1 build=$2 kind=$3 log=$4 ec=$5 function=$6
shift 6

"$qemu_tool" --image "$build/lamina.bin" --name "crash.$kind" --cpus 2 --timeout 90 --log "$log" \
  --append "lamina.selftest=$kind" --until "==== cpu0 stopped ====" \
  --expect "crash report: unexpected exception at EL2 on cpu0" --expect "$ec" \
  --expect "ESR_EL2 0x" --expect "FAR_EL2 0x" --expect "SPSR_EL2 0x" --expect "x30 0x" \
  --expect "backtrace" --reject "PANIC" "$@"

addrs=$(grep -o 'lamina.elf 0x[0-9a-f]*' "$log" | awk '{print $2}' | sort -u)
if [ -z "$addrs" ]; then
  echo "FAIL: crash.$kind: no lamina.elf addresses in the report" >&2
  exit 1
fi
# shellcheck disable=SC2086
resolved=$(aarch64-linux-gnu-addr2line -Cfie "$build/lamina.elf" $addrs)
if ! grep -Eq "$function" <<<"$resolved"; then
  echo "FAIL: crash.$kind: no address in the report resolves to $function:" >&2
  echo "$resolved" >&2
  exit 1
fi
echo "PASS: crash.$kind: addresses resolve to $function"
