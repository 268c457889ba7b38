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
# The same on a GICv2 host: the SPIs through GICD_ITARGETSR, the guest's
# HW-bit deactivation through the GICV frame from the other CPU.
lamina_linux_passthrough_test(gicv2.passthrough --gic 2)

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

# lamina_linux_run(<test name> <vcpus> <mem MiB> [BARE] [TIMEOUT <s>]
#                  [LABELS <label>...] [FIXTURES <fixture>...]
#                  [OPTIONS <lamina-qemu option>...]
#                  [BEFORE <lamina-qemu --expect ...>...] [AFTER <...>...])
# The guest under lamina (or with BARE on bare QEMU) with LINUX_GUEST_PASS;
# the expectations are checked in log order: BEFORE, then LINUX_GUEST_PASS's
# (start marker ... power-down), then AFTER (lamina's lines at VM stop).
# OPTIONS may add --reject patterns, which hold anywhere. The timeout
# (default 180 s, room for a loaded machine: about 5-40 s each alone) is
# lamina-qemu's; CTest's is 60 s more. The kernel gets
# `earlycon`, so that one that dies before its console driver starts still
# logs why, and a kernel panic ends the run at once (--until; the panic
# line is rejected).
function(lamina_linux_run name vcpus mem_mib)
  cmake_parse_arguments(PARSE_ARGV 3 arg "BARE" "TIMEOUT" "LABELS;FIXTURES;OPTIONS;BEFORE;AFTER")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lamina_linux_run(${name}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 180)
  endif()
  if(arg_BARE)
    set(target --bare)
  else()
    set(target --image "${LAMINA_BUILD_DIR}/lamina.bin")
  endif()
  add_test(NAME "${name}"
           COMMAND "${LAMINA_QEMU}" ${target}
                   --guest-kernel "${LAMINA_GUEST_IMAGES}/Image"
                   --guest-initrd "${LAMINA_GUEST_IMAGES}/initramfs.cpio.gz"
                   --guest-append "console=ttyAMA0 earlycon nokaslr lamina.mode=auto lamina.vcpus=${vcpus} lamina.mem_mib=${mem_mib}"
                   --vcpus ${vcpus} --guest-mem ${mem_mib}M
                   --name "${name}" --timeout ${arg_TIMEOUT} --until "end Kernel panic"
                   --log "${CMAKE_CURRENT_BINARY_DIR}/logs/${name}.log"
                   ${arg_OPTIONS} ${arg_BEFORE} ${LINUX_GUEST_PASS} ${arg_AFTER})
  math(EXPR ctest_timeout "${arg_TIMEOUT} + 60")
  set_tests_properties("${name}" PROPERTIES LABELS "${arg_LABELS}" TIMEOUT ${ctest_timeout})
  if(arg_FIXTURES)
    set_tests_properties("${name}" PROPERTIES FIXTURES_REQUIRED "${arg_FIXTURES}")
  endif()
endfunction()

# The references on bare QEMU (label `linux-bare`): `make run`'s machine
# (GICv3, 2 vCPUs, 1 GiB) with -cpu max, and the other GIC and CPU model, 4
# vCPUs, under icount (the benchmark's timing); the latter also under lamina
# (GICH list registers, the GICV frame as the guest's GICC).
lamina_linux_run(linux-bare.gicv3.2vcpu 2 1024 BARE TIMEOUT 90 LABELS linux-bare OPTIONS --gic 3)
lamina_linux_run(linux-bare.gicv2.4vcpu.cortex-a57.icount 4 1024 BARE TIMEOUT 90 LABELS linux-bare
                 OPTIONS --gic 2 --cpu cortex-a57 --icount)
lamina_linux_run(linux.gicv2.4vcpu.cortex-a57.icount 4 1024 TIMEOUT 120 LABELS linux
                 OPTIONS --gic 2 --cpu cortex-a57 --icount)

# --- The Linux smoke matrix (label `linux`) --------------------------------
#
# Four axes; a configuration takes one value of each and its test is named
# linux.<gic>.<vcpus>.<mapping>.<ipa>, e.g. linux.gicv3.2vcpu.eager.ipa48:
#   gic      gicv2, gicv3      the host's GIC (QEMU gic-version), hence the
#                              VM's virtual GIC
#   vcpus    1vcpu, 2vcpu, 4vcpu
#   mapping  ondemand, eager   guest RAM mapped at first touch, or all of it
#                              when the VM is created (lamina,map-eagerly)
#   ipa      ipa40, ipa48      the VM's IPA size (lamina,ipa-bits), which
#                              sets the stage-2 walk: DDI 0487 K.a D8.2.7,
#                              Table D8-16 "Stage 2 translation: 4KB
#                              granule, start level and concatenation":
#                              40 bits = 3 levels from level 1 with two
#                              concatenated root tables (VTCR_EL2.SL0 1),
#                              48 bits = 4 levels from level 0 (SL0 2)
# Each boots the guest with 1 GiB under lamina (-cpu max, lamina.stats) and
# checks, in log order: lamina's host GIC line; the stage-2 geometry lamina
# chose for the VM, with the VTCR_EL2 fields it wrote; the VM's vCPU count
# and mapping; the guest kernel's GIC; LINUX_GUEST_PASS (start marker, five
# in-guest checks, power-down, no WARNING/BUG/Oops/panic line, QEMU exits
# 0); then lamina's exit counts at VM stop: eagerly mapped RAM takes no
# stage-2 fault-in, RAM mapped on demand takes some. Logs are kept in
# logs/<test>.log (host DTB beside it) and printed on failure.
#
# `make test` runs LINUX_MATRIX_SUBSET, a pairwise covering set: every pair
# of values of two axes meets in one of its configurations (checked below,
# so an edit that breaks the covering fails the configuration). `make
# test-full` turns LAMINA_LINUX_FULL_MATRIX on, which adds the other
# configurations. LINUX_MATRIX_ICOUNT configurations run under -icount
# (deterministic guest time; QEMU then runs the vCPUs in turn on one thread).
option(LAMINA_LINUX_FULL_MATRIX "all 24 configurations of the Linux smoke matrix (make test-full), not only the pairwise subset" OFF)

set(LINUX_MATRIX_AXES gic vcpus mapping ipa)
set(LINUX_MATRIX_gic gicv2 gicv3)
set(LINUX_MATRIX_vcpus 1vcpu 2vcpu 4vcpu)
set(LINUX_MATRIX_mapping ondemand eager)
set(LINUX_MATRIX_ipa ipa40 ipa48)
set(LINUX_MATRIX_MEM_MIB 1024)

set(LINUX_MATRIX_SUBSET
  gicv2.1vcpu.ondemand.ipa40
  gicv2.2vcpu.eager.ipa48
  gicv2.2vcpu.ondemand.ipa48   # make run's machine with GIC=2
  gicv2.4vcpu.eager.ipa40
  gicv3.1vcpu.eager.ipa48
  gicv3.2vcpu.ondemand.ipa40
  gicv3.2vcpu.ondemand.ipa48   # make run's machine
  gicv3.4vcpu.ondemand.ipa48)
set(LINUX_MATRIX_ICOUNT
  gicv2.4vcpu.eager.ipa40
  gicv3.4vcpu.ondemand.ipa48)

# What each value adds: lamina-qemu options (_OPTIONS, --reject patterns
# included), expectations in lamina's log before the guest runs (_LAMINA),
# in the guest kernel's log (_KERNEL) and in lamina's log at VM stop
# (_STOP).
set(LINUX_MATRIX_gicv2_OPTIONS --gic 2 --reject "GICv3: ")
set(LINUX_MATRIX_gicv2_LAMINA --expect "GIC: GICv2, GICD")
set(LINUX_MATRIX_gicv3_OPTIONS --gic 3)
set(LINUX_MATRIX_gicv3_LAMINA --expect "GIC: GICv3, GICD")
set(LINUX_MATRIX_gicv3_KERNEL --expect "GICv3: [0-9]+ SPIs implemented")
foreach(n 1 2 4)
  set(LINUX_MATRIX_${n}vcpu_LAMINA --expect "vm vm1: ${n} vCPUs?, ${LINUX_MATRIX_MEM_MIB} MiB RAM")
endforeach()
set(LINUX_MATRIX_ondemand_OPTIONS --reject "RAM mapped eagerly" --reject "stage-2 fault-ins 4K=0 2M=0 1G=0,")
set(LINUX_MATRIX_ondemand_STOP --expect "vm vm1: stage-2 fault-ins 4K=[0-9]+ 2M=[0-9]+ 1G=[0-9]+,")
set(LINUX_MATRIX_eager_OPTIONS --guest-map-eagerly)
set(LINUX_MATRIX_eager_LAMINA --expect ", RAM mapped eagerly")
set(LINUX_MATRIX_eager_STOP --expect "vm vm1: stage-2 fault-ins 4K=0 2M=0 1G=0,")
set(LINUX_MATRIX_ipa40_OPTIONS --guest-ipa-bits 40)
set(LINUX_MATRIX_ipa40_LAMINA
  --expect "vm vm1: stage 2: IPA 40 bits, 3 levels from level 1, 2 root tables \\(VTCR_EL2 T0SZ 24 SL0 1\\)")
set(LINUX_MATRIX_ipa48_OPTIONS --guest-ipa-bits 48)
set(LINUX_MATRIX_ipa48_LAMINA
  --expect "vm vm1: stage 2: IPA 48 bits, 4 levels from level 0, 1 root table \\(VTCR_EL2 T0SZ 16 SL0 2\\)")

# lamina_linux_matrix_test(<gic> <vcpus> <mapping> <ipa>): one configuration.
function(lamina_linux_matrix_test gic vcpus mapping ipa)
  set(config "${gic}.${vcpus}.${mapping}.${ipa}")
  set(options --append lamina.stats)
  set(before)
  set(after)
  # lamina logs the host GIC, then the VM's stage 2, then the VM itself
  # (vCPUs ... mapping); the kernel's GIC line comes after.
  foreach(value ${gic} ${ipa} ${vcpus} ${mapping})
    list(APPEND options ${LINUX_MATRIX_${value}_OPTIONS})
    list(APPEND before ${LINUX_MATRIX_${value}_LAMINA})
    list(APPEND after ${LINUX_MATRIX_${value}_STOP})
  endforeach()
  list(APPEND before ${LINUX_MATRIX_${gic}_KERNEL})
  set(labels linux)
  if(config IN_LIST LINUX_MATRIX_ICOUNT)
    list(APPEND options --icount)
    list(APPEND labels icount)
  endif()
  string(REGEX MATCH "^[0-9]+" n "${vcpus}")
  lamina_linux_run("linux.${config}" ${n} ${LINUX_MATRIX_MEM_MIB} LABELS ${labels}
                   OPTIONS ${options} BEFORE ${before} AFTER ${after})
endfunction()

# Stops the configuration unless every name in `configs` is a configuration
# and every pair of values of two axes occurs in one of them.
function(lamina_linux_matrix_check_pairwise configs)
  set(met)
  foreach(config IN LISTS configs)
    string(REPLACE "." ";" values "${config}")
    list(LENGTH values count)
    if(NOT count EQUAL 4)
      message(FATAL_ERROR "Linux matrix: ${config} is not <gic>.<vcpus>.<mapping>.<ipa>")
    endif()
    foreach(axis IN LISTS LINUX_MATRIX_AXES)
      list(POP_FRONT values value)
      if(NOT value IN_LIST LINUX_MATRIX_${axis})
        message(FATAL_ERROR "Linux matrix: ${config}: ${value} is not one of ${axis} (${LINUX_MATRIX_${axis}})")
      endif()
      set(value_${axis} ${value})
    endforeach()
    foreach(a IN LISTS LINUX_MATRIX_AXES)
      foreach(b IN LISTS LINUX_MATRIX_AXES)
        list(APPEND met "${value_${a}}+${value_${b}}")
      endforeach()
    endforeach()
  endforeach()
  set(missing)
  foreach(a IN LISTS LINUX_MATRIX_AXES)
    foreach(b IN LISTS LINUX_MATRIX_AXES)
      if(a STRLESS b)
        foreach(va IN LISTS LINUX_MATRIX_${a})
          foreach(vb IN LISTS LINUX_MATRIX_${b})
            if(NOT "${va}+${vb}" IN_LIST met)
              list(APPEND missing "${va} with ${vb}")
            endif()
          endforeach()
        endforeach()
      endif()
    endforeach()
  endforeach()
  if(missing)
    list(JOIN missing ", " missing)
    message(FATAL_ERROR "Linux matrix: LINUX_MATRIX_SUBSET is not pairwise covering; no configuration has ${missing}")
  endif()
endfunction()

lamina_linux_matrix_check_pairwise("${LINUX_MATRIX_SUBSET}")
list(LENGTH LINUX_MATRIX_SUBSET subset_size)
if(subset_size LESS 8)
  message(FATAL_ERROR "Linux matrix: make test runs at least 8 configurations, LINUX_MATRIX_SUBSET has ${subset_size}")
endif()

set(LINUX_MATRIX_ALL)
foreach(gic IN LISTS LINUX_MATRIX_gic)
  foreach(vcpus IN LISTS LINUX_MATRIX_vcpus)
    foreach(mapping IN LISTS LINUX_MATRIX_mapping)
      foreach(ipa IN LISTS LINUX_MATRIX_ipa)
        list(APPEND LINUX_MATRIX_ALL "${gic}.${vcpus}.${mapping}.${ipa}")
        if(LAMINA_LINUX_FULL_MATRIX OR "${gic}.${vcpus}.${mapping}.${ipa}" IN_LIST LINUX_MATRIX_SUBSET)
          lamina_linux_matrix_test(${gic} ${vcpus} ${mapping} ${ipa})
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
foreach(config IN LISTS LINUX_MATRIX_ICOUNT)
  if(NOT config IN_LIST LINUX_MATRIX_ALL)
    message(FATAL_ERROR "Linux matrix: LINUX_MATRIX_ICOUNT names ${config}, which is not a configuration")
  endif()
endforeach()

# --- Beyond the matrix --------------------------------------------------------

# The same guest from a device tree the user supplies (--guest-dtb):
# tests/fixtures/linux/user-gicv<N>-2cpu.dts, compiled by a fixture test,
# with stale memory, bootargs and initrd that lamina must patch; the kernel
# must name its model. The bare run of the same tree is the reference (a
# failure there is the tree's). GICv2's runs in make test-full only.
find_program(LAMINA_DTC dtc REQUIRED)
file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/fixtures")
foreach(gic gicv3 gicv2)
  string(REGEX MATCH "[23]$" version "${gic}")
  set(dts "${LAMINA_ROOT}/tests/fixtures/linux/user-${gic}-2cpu.dts")
  set(dtb "${CMAKE_CURRENT_BINARY_DIR}/fixtures/user-${gic}-2cpu.dtb")
  add_test(NAME "linux.fixture.user-${gic}-2cpu.dtb" COMMAND "${LAMINA_DTC}" -q -I dts -O dtb -o "${dtb}" "${dts}")
  set_tests_properties("linux.fixture.user-${gic}-2cpu.dtb" PROPERTIES FIXTURES_SETUP "user-${gic}-dtb" LABELS linux
                       TIMEOUT 60)
  if(gic STREQUAL gicv2 AND NOT LAMINA_LINUX_FULL_MATRIX)
    continue()
  endif()
  foreach(where linux linux-bare)
    if(where STREQUAL linux-bare)
      set(bare BARE)
    else()
      set(bare)
    endif()
    lamina_linux_run("${where}.${gic}.2vcpu.user-dtb" 2 1024 ${bare} LABELS ${where} FIXTURES "user-${gic}-dtb"
                     OPTIONS --gic ${version} --guest-dtb "${dtb}"
                     BEFORE --expect "Machine model: lamina test: user-supplied DTB, GICv${version}, 2 CPUs")
  endforeach()
endforeach()

# The same guest from QEMU's own virt DTB, as a user would take it: dumped
# for a bare run of the same machine (2 CPUs, 1 GiB) by a fixture test that
# also renames its model, so that the kernel's "Machine model:" line shows
# which tree it booted. Besides memory, /chosen and PSCI, lamina must drop
# from it what the VM does not get (the ITS or GICv2m, devices it does not
# own) and keep the devices passed through to it. GICv2's runs in make
# test-full only.
find_program(LAMINA_FDTPUT fdtput REQUIRED)
foreach(gic gicv3 gicv2)
  string(REGEX MATCH "[23]$" version "${gic}")
  set(dtb "${CMAKE_CURRENT_BINARY_DIR}/fixtures/qemu-virt-${gic}-2cpu.dtb")
  add_test(NAME "linux.fixture.qemu-virt-${gic}-2cpu.dtb"
           COMMAND sh -c "\"$0\" --bare --gic $1 --vcpus 2 --guest-mem 1024M --guest-kernel \"$2/Image\" --guest-initrd \"$2/initramfs.cpio.gz\" --guest-append 'console=ttyAMA0' --dumpdtb \"$3\" && \"$4\" -t s \"$3\" / model 'lamina test: QEMU virt DTB'"
                   "${LAMINA_QEMU}" ${version} "${LAMINA_GUEST_IMAGES}" "${dtb}" "${LAMINA_FDTPUT}")
  set_tests_properties("linux.fixture.qemu-virt-${gic}-2cpu.dtb" PROPERTIES FIXTURES_SETUP "qemu-virt-${gic}-dtb"
                       LABELS linux TIMEOUT 60)
  if(gic STREQUAL gicv2 AND NOT LAMINA_LINUX_FULL_MATRIX)
    continue()
  endif()
  lamina_linux_run("linux.${gic}.2vcpu.qemu-dtb" 2 1024 LABELS linux FIXTURES "qemu-virt-${gic}-dtb"
                   OPTIONS --gic ${version} --guest-dtb "${dtb}"
                   BEFORE --expect "Machine model: lamina test: QEMU virt DTB")
endforeach()

# More than 4 GiB of guest RAM (IPAs above 4 GiB), with its bare reference;
# mapped on demand, but lamina scrubs every block it faults in (1 GiB blocks
# here), so the host touches most of it. And 2 GiB mapped eagerly (all of it
# scrubbed and mapped before the guest starts).
lamina_linux_run(linux.gicv3.2vcpu.mem5g 2 5120 TIMEOUT 300 LABELS linux OPTIONS --gic 3)
lamina_linux_run(linux-bare.gicv3.2vcpu.mem5g 2 5120 BARE LABELS linux-bare OPTIONS --gic 3)
lamina_linux_run(linux.gicv3.2vcpu.eager.mem2g 2 2048 TIMEOUT 300 LABELS linux
                 OPTIONS --gic 3 --guest-map-eagerly --append lamina.stats
                 BEFORE --expect "vm vm1: 2 vCPUs, 2048 MiB RAM.*, RAM mapped eagerly"
                 AFTER --expect "vm vm1: stage-2 fault-ins 4K=0 2M=0 1G=0,")
# Not at the same time: QEMU holds about 3.4 GiB of host RAM for the first
# (the 1 GiB blocks lamina scrubbed) and over 2 GiB for the second.
set_tests_properties(linux.gicv3.2vcpu.mem5g linux.gicv3.2vcpu.eager.mem2g PROPERTIES RESOURCE_LOCK lamina_big_guest_ram)

# The initramfs writer's own tests (no QEMU).
add_test(NAME unit.guest-images.mkinitramfs
         COMMAND "${LAMINA_PYTHON3}" -m unittest guest-images/test_mkinitramfs.py
         WORKING_DIRECTORY "${LAMINA_ROOT}")
set_tests_properties(unit.guest-images.mkinitramfs PROPERTIES LABELS unit TIMEOUT 120)
