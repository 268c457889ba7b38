# Linux guest images on bare QEMU at EL1 (CTest label `linux-bare`): Debian's
# arm64 kernel with the busybox initramfs in auto mode (guest-images/README.md)
# must print its start marker, pass every in-guest check, log no kernel
# warning, BUG, Oops or panic, and power off (QEMU exits 0) within the
# timeout. This is the reference the Linux-under-lamina tests compare with:
# a failure here is the image's or QEMU's, not lamina's.
#
# The images are built by `make guest-images` into
# ${LAMINA_BUILD_DIR}/guest-images. Included from tests/CMakeLists.txt.
# CMake list gotchas: no ';' in a regex, and balanced '[' ']'.

if(NOT DEFINED LAMINA_QEMU)
  set(LAMINA_QEMU "${LAMINA_ROOT}/scripts/lamina-qemu")
endif()
set(LAMINA_GUEST_IMAGES "${LAMINA_BUILD_DIR}/guest-images")
file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/logs")
find_program(LAMINA_PYTHON3 python3 REQUIRED)

# The in-guest checks (guest-images/init.sh) and a clean kernel log. Under
# lamina, lines may carry a VM prefix: the patterns are not anchored.
set(LINUX_GUEST_PASS
  --expect "LAMINA-GUEST: start" --expect "LAMINA-RESULT: PASS 5 checks" --expect "reboot: Power down"
  --expect-in-order
  --reject "LAMINA-CHECK .*: FAIL" --reject "LAMINA-RESULT: FAIL"
  --reject "WARNING: CPU" --reject "BUG: " --reject "Oops" --reject "Internal error:"
  --reject "Kernel panic" --reject "Unable to handle kernel" --reject "Call trace:"
  --expect-exit 0)

# lamina_linux_bare_test(<name> <vcpus> <mem MiB> <lamina-qemu options>...):
# test linux-bare.<name>.
function(lamina_linux_bare_test name vcpus mem_mib)
  add_test(NAME "linux-bare.${name}"
           COMMAND "${LAMINA_QEMU}" --bare
                   --guest-kernel "${LAMINA_GUEST_IMAGES}/Image"
                   --guest-initrd "${LAMINA_GUEST_IMAGES}/initramfs.cpio.gz"
                   --guest-append "console=ttyAMA0 nokaslr lamina.mode=auto lamina.vcpus=${vcpus} lamina.mem_mib=${mem_mib}"
                   --vcpus ${vcpus} --guest-mem ${mem_mib}M
                   --name "linux-bare.${name}" --timeout 90
                   --log "${CMAKE_CURRENT_BINARY_DIR}/logs/linux-bare.${name}.log"
                   ${LINUX_GUEST_PASS} ${ARGN})
  set_tests_properties("linux-bare.${name}" PROPERTIES LABELS linux-bare TIMEOUT 150)
endfunction()

# `make run`'s machine (GICv3, 2 vCPUs, 1 GiB) with -cpu max.
lamina_linux_bare_test(gicv3.2vcpu 2 1024 --gic 3)
# The other GIC and CPU model, 4 vCPUs, under icount (the benchmark's timing).
lamina_linux_bare_test(gicv2.4vcpu.cortex-a57.icount 4 1024 --gic 2 --cpu cortex-a57 --icount)

# The same kernel under lamina (CTest label `linux`): the virtual GICv3 on
# GICv3 hosts, the virtual GICv2 on GICv2 hosts; a timeout with room for
# lamina's own boot.
function(lamina_linux_test name vcpus mem_mib)
  add_test(NAME "linux.${name}"
           COMMAND "${LAMINA_QEMU}" --image "${LAMINA_BUILD_DIR}/lamina.bin"
                   --guest-kernel "${LAMINA_GUEST_IMAGES}/Image"
                   --guest-initrd "${LAMINA_GUEST_IMAGES}/initramfs.cpio.gz"
                   --guest-append "console=ttyAMA0 nokaslr lamina.mode=auto lamina.vcpus=${vcpus} lamina.mem_mib=${mem_mib}"
                   --vcpus ${vcpus} --guest-mem ${mem_mib}M
                   --name "linux.${name}" --timeout 120
                   --log "${CMAKE_CURRENT_BINARY_DIR}/logs/linux.${name}.log"
                   ${LINUX_GUEST_PASS} ${ARGN})
  set_tests_properties("linux.${name}" PROPERTIES LABELS linux TIMEOUT 180)
endfunction()

lamina_linux_test(gicv3.2vcpu 2 1024 --gic 3)
lamina_linux_test(gicv3.4vcpu.icount 4 1024 --gic 3 --icount)
# GICv2 hosts: GICH list registers, the GICV frame as the guest's GICC.
lamina_linux_test(gicv2.1vcpu 1 1024 --gic 2)
lamina_linux_test(gicv2.2vcpu 2 1024 --gic 2)
lamina_linux_test(gicv2.4vcpu.cortex-a57.icount 4 1024 --gic 2 --cpu cortex-a57 --icount)

# Passthrough (label linux): virtio-blk disks with fresh markers on a
# virtio-mmio transport and behind the PCIe host bridge (INTx), and the PL031
# RTC, read from inside the guest (guest-images/passthrough-test.sh).
function(lamina_linux_passthrough_test name)
  add_test(NAME "linux.${name}"
           COMMAND sh "${LAMINA_ROOT}/guest-images/passthrough-test.sh" "${LAMINA_QEMU}"
                   "${LAMINA_BUILD_DIR}/lamina.bin" "${LAMINA_GUEST_IMAGES}" "${CMAKE_CURRENT_BINARY_DIR}/disks"
                   "linux.${name}" "${CMAKE_CURRENT_BINARY_DIR}/logs/linux.${name}.log" ${ARGN})
  set_tests_properties("linux.${name}" PROPERTIES LABELS linux TIMEOUT 180)
endfunction()

lamina_linux_passthrough_test(gicv3.passthrough --gic 3)

# Two VMs, each with its own device: vm1 the PCIe host bridge, vm2 the RTC.
# Each finds its own and never probes the other's (the guest DT has only the
# VM's devices; their pages are mapped in that VM's stage 2 only).
set(PT2_APPEND "console=ttyAMA0 nokaslr lamina.mode=auto lamina.vcpus=1 lamina.mem_mib=512")
add_test(NAME linux.gicv3.passthrough.2vm
         COMMAND "${LAMINA_QEMU}" --image "${LAMINA_BUILD_DIR}/lamina.bin"
                 --guest-kernel "${LAMINA_GUEST_IMAGES}/Image"
                 --guest-initrd "${LAMINA_GUEST_IMAGES}/initramfs.cpio.gz"
                 --guest-append "${PT2_APPEND} lamina.pci=1" --vcpus 1 --guest-mem 512M
                 --guest-passthrough /pcie@10000000
                 --vm "name=vm2,kernel=${LAMINA_GUEST_IMAGES}/Image,initrd=${LAMINA_GUEST_IMAGES}/initramfs.cpio.gz,vcpus=1,mem=512M,passthrough=/pl031@9010000,append=${PT2_APPEND} lamina.rtc=1"
                 --gic 3 --name linux.gicv3.passthrough.2vm --timeout 150
                 --log "${CMAKE_CURRENT_BINARY_DIR}/logs/linux.gicv3.passthrough.2vm.log"
                 --expect "vm1. LAMINA-CHECK pci: PASS" --expect "vm2. LAMINA-CHECK rtc: PASS rtc0 rtc-pl031"
                 --expect "vm1. LAMINA-RESULT: PASS 6 checks" --expect "vm2. LAMINA-RESULT: PASS 6 checks"
                 --expect "every VM has stopped"
                 --reject "vm1. .*rtc-pl031" --reject "vm2. .*pci-host-generic" --reject "LAMINA-CHECK .*: FAIL"
                 --reject "WARNING: CPU" --reject "BUG: " --reject "Oops" --reject "Internal error:"
                 --reject "Kernel panic" --reject "Unable to handle kernel" --reject "Call trace:"
                 --expect-exit 0)
set_tests_properties(linux.gicv3.passthrough.2vm PROPERTIES LABELS linux TIMEOUT 210)

# The initramfs writer's own tests (no QEMU).
add_test(NAME unit.guest-images.mkinitramfs
         COMMAND "${LAMINA_PYTHON3}" -m unittest guest-images/test_mkinitramfs.py
         WORKING_DIRECTORY "${LAMINA_ROOT}")
set_tests_properties(unit.guest-images.mkinitramfs PROPERTIES LABELS unit TIMEOUT 120)
