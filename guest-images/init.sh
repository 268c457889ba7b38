#!/bin/sh
# shellcheck shell=dash disable=SC2046,SC2086,SC2013,SC2016
# (busybox ash, which has `local`; word splitting and awk programs in single
# quotes are meant)
#
# /init of lamina's Linux guest initramfs (guest-images/README.md).
#
# Mounts proc, sys, dev (devtmpfs) and tmpfs on /tmp, prints the start marker
# and the kernel version, checks from inside the guest that the machine is
# what it was meant to be, prints one line per check and a summary:
#   LAMINA-GUEST: start
#   LAMINA-CHECK <name>: PASS|FAIL <detail>
#   LAMINA-RESULT: PASS <n> checks | FAIL <k> of <n> checks failed: <names>
# then acts on the mode. Kernel command line parameters (read from
# /proc/cmdline: parameters with a dot are not passed to init):
#   lamina.mode=shell        (default) a shell on the console; `exit` or
#                            `poweroff -f` powers off
#   lamina.mode=auto         power off after the summary
#   lamina.mode=reboot       `reboot -f` until lamina.reboots reboots were
#                            counted (default 1), then power off; the count is
#                            kept in the RTC (see rtc_boots below)
#   lamina.vcpus=N           expected online CPUs (default: the present CPUs)
#   lamina.mem_mib=N         expected RAM in MiB (default: the DT's /memory)
#   lamina.timer_sleep=S     the timer check's sleep in seconds (default 0.2)
#   lamina.virtio=1          load the virtio modules in /lib/modules (virtio-mmio
#                            and -pci transports, virtio-blk) for passed-through
#                            devices; implied by lamina.disks
# Optional checks of passed-through devices (each adds one check when given):
#   lamina.disks=M1,M2,...   every marker Mi is the first bytes of some virtio
#                            disk /dev/vd*; the detail names each disk's bus
#   lamina.irq_cpu=N         with lamina.disks: the virtio interrupts are first
#                            moved to CPU N (smp_affinity_list) and the page
#                            cache dropped, and the reads must raise their
#                            counts on CPU N
#   lamina.rtc=1             /sys/class/rtc/rtc0 exists and reads a date
#   lamina.pci=N             at least N PCI functions (host bridge included),
#                            and every one with an interrupt line took some
# Every line the harness matches starts with LAMINA-; `lamina-cntvct` prints
# the virtual counter for boot timing (on bare QEMU it counts from reset;
# scripts/boot-bench).

export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
set -f  # no globbing of the command line's words
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp

# The start marker and the counter reading come from one program: it reads
# the counter first and writes both lines at once (guest-images/cntvct.cpp),
# so nothing runs between the reading and the marker.
lamina-cntvct "LAMINA-GUEST: start" "LAMINA-GUEST: counter start"
echo "LAMINA-GUEST: kernel $(uname -r) ($(uname -v))"

mode=shell vcpus='' mem_mib='' reboots=1 timer_sleep=0.2 disks='' rtc='' pci='' virtio='' irq_cpu=''
for arg in $(cat /proc/cmdline); do
  case $arg in
    lamina.mode=*) mode=${arg#*=} ;;
    lamina.vcpus=*) vcpus=${arg#*=} ;;
    lamina.mem_mib=*) mem_mib=${arg#*=} ;;
    lamina.reboots=*) reboots=${arg#*=} ;;
    lamina.timer_sleep=*) timer_sleep=${arg#*=} ;;
    lamina.disks=*) disks=${arg#*=} ;;
    lamina.rtc=*) rtc=${arg#*=} ;;
    lamina.pci=*) pci=${arg#*=} ;;
    lamina.virtio=*) virtio=${arg#*=} ;;
    lamina.irq_cpu=*) irq_cpu=${arg#*=} ;;
  esac
done

# Debian builds the virtio transports and virtio-blk as modules.
if [ -n "$disks" ] || [ "$virtio" = 1 ]; then
  for m in $(cat /lib/modules/load-order 2>/dev/null); do
    insmod "/lib/modules/$m" || echo "LAMINA-GUEST: insmod $m failed"
  done
fi

# --- helpers -----------------------------------------------------------------

# A Linux CPU list ("0-3,5") expanded to "0 1 2 3 5".
cpu_list() {
  local range out=''
  for range in $(echo "$1" | tr , ' '); do
    case $range in
      *-*) out="$out $(seq -s ' ' "${range%-*}" "${range#*-}")" ;;
      ?*) out="$out $range" ;;
    esac
  done
  echo $out
}

count_words() { echo $#; }

# The sum of one /proc/interrupts line's per-CPU counts over every line whose
# text matches the awk pattern $1 (the counts are the numeric fields after the
# "NN:" label, up to the controller name).
irq_sum() {
  awk "$1"' { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts
}

uptime_cs() {  # /proc/uptime in centiseconds
  local up
  read -r up _ </proc/uptime
  echo $(( ${up%.*} * 100 + 1${up#*.} - 100 ))
}

# The sizes of the DT's memory nodes in KiB (QEMU virt and lamina use 2
# address and 2 size cells: each reg entry is 16 big-endian bytes).
dt_memory_kib() {
  local node hex total=0
  set +f
  set -- /sys/firmware/devicetree/base/memory@*/reg
  set -f
  for node in "$@"; do
    [ -f "$node" ] || continue
    hex=$(od -An -tx1 -v "$node" | tr -d ' \n')
    while [ ${#hex} -ge 32 ]; do
      total=$(( total + 0x$(echo "$hex" | cut -c17-32) / 1024 ))
      hex=$(echo "$hex" | cut -c33-)
    done
  done
  echo $total
}

checks=0 failed=0 failed_names=
run_check() {  # run_check NAME: runs check_NAME, which sets $detail
  detail=
  checks=$((checks + 1))
  if "check_$1"; then
    echo "LAMINA-CHECK $1: PASS $detail"
  else
    failed=$((failed + 1))
    failed_names="$failed_names $1"
    echo "LAMINA-CHECK $1: FAIL $detail"
  fi
}

# --- checks ------------------------------------------------------------------

# Online CPUs == the vCPUs the VM was given, seen two ways (sysfs and cpuinfo).
check_cpus() {
  local online n procs expected source
  online=$(cat /sys/devices/system/cpu/online)
  n=$(count_words $(cpu_list "$online"))
  procs=$(grep -c '^processor' /proc/cpuinfo)
  if [ -n "$vcpus" ]; then
    expected=$vcpus source=lamina.vcpus
  else
    expected=$(count_words $(cpu_list "$(cat /sys/devices/system/cpu/present)")) source=present
  fi
  detail="$n online ($online), $procs in /proc/cpuinfo, expected $expected ($source)"
  [ "$n" = "$expected" ] && [ "$procs" = "$expected" ]
}

# The RAM the kernel found (the total in its "Memory: avail/totalK available"
# line) is exactly what the VM was given, and MemTotal (that minus the
# kernel's image and reservations) is at least 85% of it.
check_memory() {
  local expected_kib source total_kib mem_kib
  if [ -n "$mem_mib" ]; then
    expected_kib=$((mem_mib * 1024)) source=lamina.mem_mib
  else
    expected_kib=$(dt_memory_kib) source="DT /memory"
  fi
  total_kib=$(dmesg | sed -n 's/.*Memory: [0-9]*K\/\([0-9]*\)K available.*/\1/p' | head -n 1)
  mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
  if [ "${expected_kib:-0}" -le 0 ]; then
    detail="no expected size (no lamina.mem_mib and no DT /memory); MemTotal $mem_kib KiB"
    return 1
  fi
  detail="kernel found ${total_kib:-?} KiB, MemTotal $mem_kib KiB ($((mem_kib * 100 / expected_kib))%), expected $expected_kib KiB ($source)"
  [ "$total_kib" = "$expected_kib" ] && [ $((mem_kib * 100)) -ge $((expected_kib * 85)) ] &&
    [ "$mem_kib" -le "$expected_kib" ]
}

# The architected timer's interrupt keeps counting over a sleep, and the
# sleep took at least its length in uptime (sleeping itself needs a timer
# interrupt to wake up).
check_timer() {
  local before after up0 up1 want_cs
  before=$(irq_sum /arch_timer/)
  up0=$(uptime_cs)
  sleep "$timer_sleep"
  after=$(irq_sum /arch_timer/)
  up1=$(uptime_cs)
  want_cs=$(awk "BEGIN { print int($timer_sleep * 100) }")
  detail="arch_timer interrupts $before -> $after, uptime +$((up1 - up0))0 ms over sleep $timer_sleep"
  [ "$after" -gt "$before" ] && [ $((up1 - up0)) -ge "$want_cs" ]
}

# A task pinned to each online CPU runs there (field 39 of /proc/self/stat is
# the CPU it last ran on, proc(5)); moving tasks to idle CPUs takes
# reschedule/function-call IPIs, so with several CPUs the IPI counts rise.
check_ipi() {
  local before after cpu got ran='' wrong='' ncpus
  before=$(irq_sum '/^ *IPI[0-9]+:/')
  for cpu in $(cpu_list "$(cat /sys/devices/system/cpu/online)"); do
    got=$(taskset -c "$cpu" awk '{ print $39 }' /proc/self/stat 2>&1)
    if [ "$got" = "$cpu" ]; then ran="$ran $cpu"; else wrong="$wrong $cpu:${got:-nothing}"; fi
  done
  after=$(irq_sum '/^ *IPI[0-9]+:/')
  ncpus=$(count_words $ran $wrong)
  detail="pinned tasks ran on CPUs${ran:- none}${wrong:+, not as pinned:$wrong}; IPIs $before -> $after"
  [ -z "$wrong" ] && [ -n "$ran" ] || return 1
  [ "$ncpus" -le 1 ] || [ "$after" -gt "$before" ]
}

# A file written to the tmpfs on /tmp reads back: `seq 1 20000` is
# 9*2 + 90*3 + 900*4 + 9000*5 + 10001*6 = 108894 bytes.
check_tmpfs() {
  local fstype size sum want
  fstype=$(awk '$2 == "/tmp" { print $3 }' /proc/mounts)
  seq 1 20000 >/tmp/lamina-check
  size=$(wc -c </tmp/lamina-check)
  sum=$(md5sum </tmp/lamina-check)
  want=$(seq 1 20000 | md5sum)
  rm -f /tmp/lamina-check
  detail="/tmp is ${fstype:-not mounted}, wrote and read back $size bytes, md5 ${sum%% *}"
  [ "$fstype" = tmpfs ] && [ "$size" = 108894 ] && [ "$sum" = "$want" ]
}

# --- passthrough checks (optional) ---------------------------------------------

# The virtio disks: /dev/vd*, waiting up to 5 s for the drivers to probe.
virtio_disks() {
  local tries=0 found
  while :; do
    set +f
    found=$(ls /dev/vd[a-z] 2>/dev/null)
    set -f
    [ -n "$found" ] || [ "$tries" -ge 50 ] && break
    tries=$((tries + 1))
    sleep 0.1
  done
  echo $found
}

# Each marker of lamina.disks is the start of some virtio disk (the test made
# the images); reading it takes the transport's interrupts (virtio-blk does
# not poll). The detail says where each disk sits (virtio_mmio or pci).
# The virtio lines' interrupt count on CPU $1 (/proc/interrupts: "NN:", one
# column per CPU, then the controller).
virtio_irqs_on() {
  awk -v col=$(($1 + 2)) '/virtio/ { s += $col } END { print s + 0 }' /proc/interrupts
}

check_disks() {
  local marker dev got where all ok=0 hit irq before=''
  all=$(virtio_disks)
  if [ -n "$irq_cpu" ]; then
    # Reads that reach the devices, with their interrupts routed to one CPU.
    for irq in $(awk '/virtio/ { sub(":", "", $1); print $1 }' /proc/interrupts); do
      echo "$irq_cpu" >"/proc/irq/$irq/smp_affinity_list" || ok=1
    done
    before=$(virtio_irqs_on "$irq_cpu")
    sync
    echo 3 >/proc/sys/vm/drop_caches
  fi
  for marker in $(echo "$disks" | tr , ' '); do
    hit=''
    for dev in $all; do
      got=$(dd if="$dev" bs=${#marker} count=1 2>/dev/null)
      if [ "$got" = "$marker" ]; then
        where=$(readlink "/sys/block/${dev#/dev/}")
        case $where in
          *virtio_mmio*) hit="$dev(virtio_mmio)" ;;
          *pci*) hit="$dev(pci)" ;;
          *) hit="$dev(other)" ;;
        esac
      fi
    done
    detail="$detail $marker:${hit:-not found}"
    [ -n "$hit" ] || ok=1
  done
  detail="disks ${all:-none};$detail"
  if [ -n "$before" ]; then
    after=$(virtio_irqs_on "$irq_cpu")
    detail="$detail; virtio interrupts on CPU $irq_cpu: $before -> $after"
    [ "$after" -gt "$before" ] || ok=1
  fi
  return $ok
}

# The RTC of lamina.rtc: registered, and its date reads as a date.
check_rtc() {
  local name date
  name=$(cat /sys/class/rtc/rtc0/name 2>/dev/null)
  date=$(cat /sys/class/rtc/rtc0/date 2>/dev/null)
  detail="rtc0 ${name:-absent}, date ${date:-unreadable}"
  [ -n "$name" ] || return 1
  case $date in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) return 0 ;;
  esac
  return 1
}

# lamina.pci=N: the PCI functions the host bridge enumerates, and for each
# one with a legacy interrupt (INTx) its count in /proc/interrupts.
check_pci() {
  local dev n=0 irq count bad=0 list=''
  set +f
  for dev in /sys/bus/pci/devices/*; do
    [ -e "$dev/vendor" ] || continue
    n=$((n + 1))
    irq=$(cat "$dev/irq" 2>/dev/null)
    if [ -n "$irq" ] && [ "$irq" != 0 ]; then
      count=$(irq_sum "/^ *$irq:/")
      list="$list ${dev##*/}:irq$irq=$count"
      [ "$count" -gt 0 ] || bad=1
    else
      list="$list ${dev##*/}"
    fi
  done
  set -f
  detail="$n functions, expected at least $pci:$list"
  [ "$n" -ge "$pci" ] && [ "$bad" = 0 ]
}

# --- reboot count ------------------------------------------------------------
# `reboot -f` clears everything the guest could keep, except the PL031 RTC:
# QEMU's PL031 has no reset handler (its time offset survives a machine
# reset), and under lamina a passed-through RTC is not reset with the VM.
# Boot n (n >= 1) leaves the RTC at 2001-01-01 00:00:00 UTC + n days; any other
# time counts as 0 boots (QEMU starts it at the host's time or -rtc base=).
# The final boot puts it back to 0 boots. Without an RTC the count is always
# 0: every boot reboots again and the harness must stop it.
rtc_epoch=978307200  # 2001-01-01 00:00:00 UTC

rtc_boots() {
  local t
  t=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null) || { echo 0; return; }
  if [ "$t" -ge "$rtc_epoch" ] && [ "$t" -lt $((rtc_epoch + 100 * 86400)) ]; then
    echo $(( (t - rtc_epoch) / 86400 ))
  else
    echo 0
  fi
}

rtc_set_boots() {
  [ -e /dev/rtc0 ] && date -u -s "@$((rtc_epoch + $1 * 86400))" >/dev/null &&
    hwclock -w -u -f /dev/rtc0
}

boot=1
if [ "$mode" = reboot ]; then
  boot=$(( $(rtc_boots) + 1 ))
  echo "LAMINA-GUEST: boot $boot"
fi

# --- run ---------------------------------------------------------------------

for c in cpus memory timer ipi tmpfs; do run_check $c; done
[ -z "$disks" ] || run_check disks
[ -z "$rtc" ] || run_check rtc
[ -z "$pci" ] || run_check pci
lamina-cntvct "LAMINA-GUEST: counter end"  # right after the last check
if [ "$failed" = 0 ]; then
  echo "LAMINA-RESULT: PASS $checks checks"
else
  echo "LAMINA-RESULT: FAIL $failed of $checks checks failed:$failed_names"
fi

case $mode in
  auto)
    poweroff -f ;;
  reboot)
    if [ "$boot" -le "$reboots" ]; then
      if rtc_set_boots "$boot"; then
        echo "LAMINA-GUEST: reboot $boot of $reboots"
      else
        echo "LAMINA-GUEST: reboot $boot of $reboots (no RTC to count boots: this repeats)"
      fi
      reboot -f
    else
      rtc_set_boots 0
      echo "LAMINA-GUEST: $reboots reboots done, powering off"
      poweroff -f
    fi ;;
  *)
    [ "$mode" = shell ] || echo "LAMINA-GUEST: unknown lamina.mode=$mode, starting a shell"
    echo "LAMINA-GUEST: shell; leave with 'poweroff -f' (or 'exit'; Ctrl-A X quits QEMU)"
    # cttyhack gives the shell the console's real tty (ttyAMA0) as its
    # controlling terminal, so that Ctrl-C and job control work.
    setsid cttyhack sh
    poweroff -f ;;
esac
# poweroff -f and reboot -f do not return; if they fail, init must not exit
# (the kernel would panic).
echo "LAMINA-GUEST: power-off failed"
while :; do sleep 3600; done
