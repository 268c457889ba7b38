# QEMU boot tests (CTest label `qemu`). Each runs lamina under QEMU through
# scripts/lamina-qemu, which enforces a timeout, checks the serial log
# against the expectations and prints the whole log on failure.

set(LAMINA_QEMU "${LAMINA_ROOT}/scripts/lamina-qemu")
set(LAMINA_IMAGE "${LAMINA_BUILD_DIR}/lamina.bin")
set(LAMINA_STUB "${LAMINA_BUILD_DIR}/tests/jump_stub.bin")
set(LAMINA_TEST_DTBS "${CMAKE_CURRENT_BINARY_DIR}/dtbs")

# Where the relocation/bad-DTB tests put things (QEMU virt, RAM at 0x40000000).
set(STUB_PARAMS 0x40100000)        # see tests/boot/jump_stub.S
set(STUB_ENTRY 0x40100000)
set(STUB_X0_OVERRIDE 0x40100008)
set(STUB_X0 0x40100010)
set(BAD_DTB_ADDR 0x44000000)

# A clean boot: banner, EL2, every CPU online, orderly power-off, no errors.
set(CLEAN_BOOT
  --expect "lamina .*: bare-metal AArch64 hypervisor"
  --expect "running at EL2"
  --expect "boot complete. no guest configured: powering off"
  --reject " error: " --reject "crash report" --reject "PANIC")

function(lamina_boot_test name)
  add_test(NAME "qemu.${name}"
           COMMAND "${LAMINA_QEMU}" --image "${LAMINA_IMAGE}" --name "${name}"
                   --timeout 90 --log "${CMAKE_CURRENT_BINARY_DIR}/logs/${name}.log" ${ARGN})
  set_tests_properties("qemu.${name}" PROPERTIES LABELS qemu TIMEOUT 120)
endfunction()

file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/logs")

# --- The matrix: GIC version x CPU count x RAM size x CPU model -----------
foreach(gic 2 3)
  foreach(cpus 1 2 4)
    lamina_boot_test(virt.gicv${gic}.${cpus}cpu.1g --gic ${gic} --cpus ${cpus} --mem 1G ${CLEAN_BOOT}
      --expect "GIC: GICv${gic}" --expect "CPUs: ${cpus} online of ${cpus} in the device tree")
  endforeach()
  lamina_boot_test(virt.gicv${gic}.4cpu.4g --gic ${gic} --cpus 4 --mem 4G ${CLEAN_BOOT}
    --expect "RAM bank 0: .PA:0x40000000-PA:0x140000000. .4096 MiB."
    --expect "CPUs: 4 online of 4")
endforeach()
lamina_boot_test(virt.cortex-a57.gicv2.2cpu --cpu cortex-a57 --gic 2 --cpus 2 ${CLEAN_BOOT}
  --expect "PARange 44 bits" --expect "VHE no" --expect "counter 62500000 Hz" --expect "CPUs: 2 online of 2")
lamina_boot_test(virt.cortex-a72.gicv3.4cpu --cpu cortex-a72 --gic 3 --cpus 4 ${CLEAN_BOOT}
  --expect "GIC system registers yes" --expect "CPUs: 4 online of 4")
lamina_boot_test(virt.max.gicv3.8cpu --cpu max --gic 3 --cpus 8 --mem 2G ${CLEAN_BOOT}
  --expect "counter 1000000000 Hz" --expect "VHE yes" --expect "CPUs: 8 online of 8")
lamina_boot_test(virt.icount --icount --cpus 2 ${CLEAN_BOOT} --expect "CPUs: 2 online of 2")
lamina_boot_test(virt.loglevel-debug --cpus 2 --append "lamina.loglevel=debug" ${CLEAN_BOOT}
  --expect "cpu0 debug: cpu1: starting MPIDR 0x1 via psci")
lamina_boot_test(virt.unknown-option --cpus 1 --append "lamina.bogus=1 console=ttyAMA0"
  --expect "warn: ignoring unknown or malformed option 'lamina.bogus=1'"
  --expect "boot complete")

# --- Started at EL1: refused with a message naming the fix, QEMU exits ---
lamina_boot_test(el1-refused --el1 --cpus 2
  --expect "entered at EL1, but lamina is a hypervisor and must be started at EL2"
  --expect "virtualization=on" --expect "powering off" --reject "crash report")

# --- Loaded at other 2 MiB-aligned bases behind the jump stub -------------
foreach(base 0x60000000 0x7fe00000)
  lamina_boot_test(reloc.${base} --cpus 2 --kernel "${LAMINA_STUB}"
    --load "${LAMINA_IMAGE}@${base}" --set "${STUB_ENTRY}=${base}" ${CLEAN_BOOT}
    --expect "loaded at PA:${base}" --expect "CPUs: 2 online of 2")
endforeach()
lamina_boot_test(reloc.above-4g --cpus 2 --mem 4G --kernel "${LAMINA_STUB}"
  --load "${LAMINA_IMAGE}@0x100000000" --set "${STUB_ENTRY}=0x100000000" ${CLEAN_BOOT}
  --expect "loaded at PA:0x100000000" --expect "CPUs: 2 online of 2")

# --- Started by U-Boot's booti (u-boot-qemu): kept where U-Boot loaded it
# (kernel_addr_r), thanks to the "place anywhere" Image flag -------------
lamina_boot_test(uboot.booti --bios /usr/lib/u-boot/qemu_arm64/u-boot.bin --cpus 2 ${CLEAN_BOOT}
  --expect "Starting kernel" --expect "loaded at PA:0x40400000" --expect "CPUs: 2 online of 2")

# --- Bad device trees: a message naming the problem, then power-off -------
add_test(NAME qemu.fixture.dtbs COMMAND "${LAMINA_ROOT}/tests/boot/make-dtbs.sh" "${LAMINA_TEST_DTBS}")
set_tests_properties(qemu.fixture.dtbs PROPERTIES LABELS qemu FIXTURES_SETUP lamina_dtbs TIMEOUT 60)

function(lamina_bad_dtb_test name dtb)
  if(dtb STREQUAL "none")
    set(load_dtb "")
    set(x0 0)
  else()
    set(load_dtb --load "${LAMINA_TEST_DTBS}/${dtb}@${BAD_DTB_ADDR}")
    set(x0 ${BAD_DTB_ADDR})
  endif()
  lamina_boot_test(${name} --gic 3 --cpus 2 --mem 1G --kernel "${LAMINA_STUB}"
    --load "${LAMINA_IMAGE}@0x60000000" ${load_dtb}
    --set "${STUB_ENTRY}=0x60000000" --set "${STUB_X0_OVERRIDE}=1" --set "${STUB_X0}=${x0}"
    --expect "lamina cannot continue: powering off" --reject "crash report" --reject "PANIC" ${ARGN})
  set_tests_properties("qemu.${name}" PROPERTIES FIXTURES_REQUIRED lamina_dtbs)
endfunction()

lamina_bad_dtb_test(bad-dtb.none none --expect "device tree: no blob .*null")
lamina_bad_dtb_test(bad-dtb.magic bad-magic.dtb --expect "device tree: bad header.*bad magic")
lamina_bad_dtb_test(bad-dtb.version bad-version.dtb --expect "device tree: bad header.*version")
lamina_bad_dtb_test(bad-dtb.truncated truncated.dtb --expect "device tree: malformed structure")
lamina_bad_dtb_test(bad-dtb.structure bad-struct.dtb --expect "device tree: malformed structure")
lamina_bad_dtb_test(bad-dtb.no-gic no-gic.dtb --expect "device tree: missing node.*arm,gic-v3")
lamina_bad_dtb_test(bad-dtb.no-memory no-memory.dtb --expect "device tree: missing node \\(/memory\\)")
lamina_bad_dtb_test(bad-dtb.no-timer no-timer.dtb --expect "device tree: missing node.*armv8-timer")
lamina_bad_dtb_test(bad-dtb.no-cpus no-cpus.dtb --expect "device tree: missing node \\(/cpus\\)")

# --- Raspberry Pi 4 (QEMU raspi4b): spin-table CPUs, GIC-400 behind bus
# `ranges`, no PSCI (so lamina halts instead of powering off) -------------
lamina_boot_test(raspi4b.spin-table --machine raspi4b --dtb "${LAMINA_TEST_DTBS}/rpi4-pl011.dtb"
  --append "lamina.loglevel=debug" --until "no PSCI to power off with: halting"
  --expect "machine: Raspberry Pi 4 Model B" --expect "loaded at PA:0x200000"
  --expect "GIC: GICv2, GICD PA:0xff841000" --expect "GICH PA:0xff844000, GICV PA:0xff846000"
  --expect "UART: PL011 at PA:0xfe201000" --expect "cpu3: starting MPIDR 0x3 via spin-table"
  --expect "CPUs: 4 online of 4 in the device tree"
  --reject " error: " --reject "crash report" --reject "PANIC")
set_tests_properties(qemu.raspi4b.spin-table PROPERTIES FIXTURES_REQUIRED lamina_dtbs)

# --- A CPU in the DT that does not come up: reported, the others carry on
lamina_boot_test(smp.cpu-fails-to-start --gic 3 --cpus 2 --mem 1G --kernel "${LAMINA_STUB}"
  --load "${LAMINA_IMAGE}@0x60000000" --load "${LAMINA_TEST_DTBS}/extra-cpu.dtb@${BAD_DTB_ADDR}"
  --set "${STUB_ENTRY}=0x60000000" --set "${STUB_X0_OVERRIDE}=1" --set "${STUB_X0}=${BAD_DTB_ADDR}"
  --expect "cpu[0-9] .MPIDR 0x5.: PSCI CPU_ON failed: INVALID_PARAMETERS"
  --expect "cpu[0-9] .MPIDR 0x1.: online"
  --expect "CPUs: 2 online of 3 in the device tree .some failed to start."
  --expect "powering off" --reject "crash report" --reject "PANIC")
set_tests_properties(qemu.smp.cpu-fails-to-start PROPERTIES FIXTURES_REQUIRED lamina_dtbs)

# --- Crash reports: deliberate faults at EL2 (bootargs lamina.selftest) ----
# The report must name the exception class, show the registers, and give a
# backtrace whose addresses resolve in lamina.elf (checked by a script).
function(lamina_crash_test name selftest)
  add_test(NAME "qemu.crash.${name}"
           COMMAND "${LAMINA_ROOT}/tests/boot/crash_report_test.sh" "${LAMINA_QEMU}" "${LAMINA_BUILD_DIR}"
                   "${selftest}" "${CMAKE_CURRENT_BINARY_DIR}/logs/crash.${name}.log" ${ARGN})
  set_tests_properties("qemu.crash.${name}" PROPERTIES LABELS qemu TIMEOUT 120)
endfunction()
lamina_crash_test(brk brk "exception class 0x3c: BRK \\(AArch64\\)" "run_self_test")
lamina_crash_test(write-text write-text "exception class 0x25: data abort from the same EL"
  "run_self_test" --expect "fault status 0xf: permission fault, level 3. write")
lamina_crash_test(stack-overflow stack-overflow "exception class 0x25: data abort from the same EL"
  "overflow_stack" --expect "STACK OVERFLOW" --expect "translation fault, level 3. write"
  --expect "the frame above repeated [0-9]+ more times")
lamina_crash_test(exec-data exec-data "exception class 0x21: instruction abort from the same EL"
  "run_self_test|hyp_main" --expect "fault status 0xf: permission fault, level 3")

# --- Stage-2 tables against the MMU (bootargs lamina.selftest=stage2-at):
# mm::Stage2 builds 3-level (40-bit IPA, 2 concatenated roots) and 4-level
# tables, AT S12E1R/W must translate pages and blocks to the right PA with
# the right attributes and fault at the right level where nothing is mapped;
# boot then finishes normally. (QEMU aborts on an AT ending in a stage-2
# permission fault, so that AT is skipped on QEMU virt, see
# hyp/selftest_stage2.cpp.)
set(STAGE2_AT --append "lamina.selftest=stage2-at" ${CLEAN_BOOT} --reject "FAILED"
  --expect "stage2-at: 3-level: IPA 40 bits, start level 1, 2 root table"
  --expect "stage2-at: 3-level: 2M block, read: .* ok"
  --expect "stage2-at: 3-level: 1G block below 1 TiB, read: .* ok"
  --expect "stage2-at: 3-level: device nGnRE page, read: .* attr 0x04 sh 0b10 ok"
  --expect "stage2-at: 3-level: unmapped root entry, read: .*translation fault, level 1 .stage 2. ok")
lamina_boot_test(stage2-at.max --cpu max --cpus 1 ${STAGE2_AT}
  --expect "stage2-at: 4-level: IPA 48 bits, start level 0"
  --expect "stage2-at: 4-level: 1G block, write: .* ok"
  --expect "stage2-at: 4-level: unmapped root entry, read: .*translation fault, level 0 .stage 2. ok"
  --expect "stage2-at: 30 checks passed")
lamina_boot_test(stage2-at.cortex-a57 --cpu cortex-a57 --gic 2 --cpus 2 ${STAGE2_AT}
  --expect "PARange 44 bits"
  --expect "stage2-at: 4-level: IPA 44 bits, start level 0"
  --expect "stage2-at: 4-level: unmapped root entry, read: .*translation fault, level 0 .stage 2. ok"
  --expect "stage2-at: 30 checks passed" --reject "geometry needs")
# Cortex-A53: 40-bit PA, so the 4-level geometry is skipped with its reason.
lamina_boot_test(stage2-at.cortex-a53 --cpu cortex-a53 --gic 2 --cpus 1 ${STAGE2_AT}
  --expect "stage2-at: 4-level: skipped: the CPU's PA size is 40 bits"
  --expect "stage2-at: 15 checks passed")

# --- VM descriptions lamina must refuse, with a message naming the problem -
# (Every other guest behaviour is tested from inside guests: tests/guest.)
set(GUEST_BOOT "${LAMINA_BUILD_DIR}/guests/boot.elf")
# A bad property stops boot, naming the node and property.
lamina_boot_test(vm.bad-cpus --guest-kernel "${GUEST_BOOT}" --vcpus 9 --cpus 9
  --expect "error: device tree: bad property ./chosen/vm1, cpus.: a VM has 1 to 8 vCPUs"
  --expect "lamina cannot continue: powering off" --expect-exit 0 --reject "crash report")
# lamina,passthrough errors stop boot naming the VM, the property and the
# device (docs/VM-BINDING.md, "Passthrough devices").
lamina_boot_test(vm.passthrough-console --guest-kernel "${GUEST_BOOT}" --guest-passthrough /pl011@9000000
  --expect "error: device tree: bad property ./chosen/vm1: /pl011@9000000, lamina,passthrough.: the device is lamina's console UART"
  --expect "lamina cannot continue: powering off" --expect-exit 0 --reject "crash report")
lamina_boot_test(vm.passthrough-missing --guest-kernel "${GUEST_BOOT}" --guest-passthrough /pl031@9999000
  --expect "error: device tree: missing node ./chosen/vm1: /pl031@9999000, lamina,passthrough.: no such node"
  --expect "lamina cannot continue: powering off" --expect-exit 0 --reject "crash report")
# Two transports of one 4 KiB page cannot go to two VMs.
lamina_boot_test(vm.passthrough-split-page --guest-kernel "${GUEST_BOOT}" --guest-passthrough /virtio_mmio@a000000
  --vm "kernel=${GUEST_BOOT},passthrough=/virtio_mmio@a000200"
  --expect "error: device tree: bad property ./chosen/vm2 and /chosen/vm1, lamina,passthrough.: devices of two VMs share a 4 KiB page"
  --expect "lamina cannot continue: powering off" --expect-exit 0 --reject "crash report")
# A 32-bit guest is refused at VM creation; with no VM left lamina powers off.
add_test(NAME qemu.vm.aarch32-refused
         COMMAND sh -c "\"$0\" \"$1/arm32.elf\" && exec \"$2\" --image \"$3\" --guest-kernel \"$1/arm32.elf\" --name vm.aarch32-refused --timeout 60 --log \"$1/logs/vm.aarch32-refused.log\" --expect 'error: vm vm1: kernel at PA:0x[0-9a-f]+ refused: 32-bit .AArch32. guests are not supported' --expect 'no VM could be started: powering off' --expect-exit 0 --reject 'crash report'"
                 "${CMAKE_CURRENT_SOURCE_DIR}/boot/make-arm32-elf.py" "${CMAKE_CURRENT_BINARY_DIR}" "${LAMINA_QEMU}"
                 "${LAMINA_IMAGE}")
set_tests_properties(qemu.vm.aarch32-refused PROPERTIES LABELS qemu TIMEOUT 120)
# More vCPUs than CPUs online: the VM asks for 3 (edited into the DT
# lamina-qemu made for 2), QEMU has 2 CPUs.
add_test(NAME qemu.vm.too-many-vcpus
         COMMAND sh -c "\"$0\" --image \"$3\" --guest-kernel \"$2\" --vcpus 2 --cpus 2 --dumpdtb \"$1/vcpus.dtb\" && fdtput -t i \"$1/vcpus.dtb\" /chosen/vm1 cpus 3 && addr=$(fdtget -t x \"$1/vcpus.dtb\" /chosen/vm1/$(fdtget -l \"$1/vcpus.dtb\" /chosen/vm1 | head -1) reg | awk '{print $2}') && exec \"$0\" --image \"$3\" --cpus 2 --dtb \"$1/vcpus.dtb\" --load \"$2@0x$addr\" --name vm.too-many-vcpus --timeout 60 --log \"$1/logs/vm.too-many-vcpus.log\" --expect 'error: the VMs ask for 3 vCPUs but only 2 CPUs are online' --expect 'lamina cannot continue: powering off' --expect-exit 0 --reject 'crash report'"
                 "${LAMINA_QEMU}" "${CMAKE_CURRENT_BINARY_DIR}" "${GUEST_BOOT}" "${LAMINA_IMAGE}")
set_tests_properties(qemu.vm.too-many-vcpus PROPERTIES LABELS qemu TIMEOUT 120)
# A host DT whose timer gives the virtual timer another PPI (12 instead of
# 11, INTID 28): the vGIC forwards INTID 27, so VMs get none, and lamina says
# why (hyp/main.cpp timer_ppis_as_expected).
add_test(NAME qemu.timer-unexpected-intids
         COMMAND sh -c "\"$0\" --image \"$2\" --dumpdtb \"$1/timer.dtb\" >/dev/null && fdtput -t x \"$1/timer.dtb\" /timer interrupts $(fdtget -t x \"$1/timer.dtb\" /timer interrupts | awk '{$8 = \"c\"; print}') && exec \"$0\" --image \"$2\" --dtb \"$1/timer.dtb\" --name timer-unexpected-intids --timeout 60 --log \"$1/logs/timer-unexpected-intids.log\" --expect 'timer: INTIDs virt 28, phys 30, hyp 26 in the device tree; lamina.s vGIC needs 27, 30, 26: VMs get no virtual GIC' --expect 'no guest configured: powering off' --expect-exit 0 --reject 'set up at EL2' --reject 'crash report'"
                 "${LAMINA_QEMU}" "${CMAKE_CURRENT_BINARY_DIR}" "${LAMINA_IMAGE}")
set_tests_properties(qemu.timer-unexpected-intids PROPERTIES LABELS qemu TIMEOUT 120)
