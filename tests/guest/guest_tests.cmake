# Guest test suite (CTest label `guest`): each guest program in tests/guest
# runs under lamina through scripts/lamina-qemu in test mode and reports
# `GUEST-CHECK <name>: PASS|FAIL ...` lines and one `GUEST-RESULT:` line
# (tests/guest/README.md). A test passes when the guest prints
# GUEST-RESULT: PASS, no check failed, lamina logged no error and QEMU
# exited 0 (the guest's PSCI SYSTEM_OFF) within the timeout; on failure the
# launcher prints the whole serial log.
#
# The guests are built by `make guests` (tests/guest/guests.mk) into
# ${LAMINA_BUILD_DIR}/guests. CMake list gotchas: no ';' in a regex, and
# balanced '[' ']'.

if(NOT DEFINED LAMINA_QEMU)
  set(LAMINA_QEMU "${LAMINA_ROOT}/scripts/lamina-qemu")
endif()
if(NOT DEFINED LAMINA_IMAGE)
  set(LAMINA_IMAGE "${LAMINA_BUILD_DIR}/lamina.bin")
endif()
set(LAMINA_GUESTS "${LAMINA_BUILD_DIR}/guests")
file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/logs")

# Every guest check passed, and the guest said so.
set(GUEST_CHECKS
  --expect "GUEST-RESULT: PASS [0-9]+ checks"
  --reject "GUEST-CHECK .*: FAIL" --reject "GUEST-RESULT: FAIL")
# lamina itself stayed healthy.
set(GUEST_LAMINA_CLEAN
  --reject "lamina: [0-9. ]+cpu[0-9]+ error:" --reject "crash report" --reject "PANIC")
set(GUEST_PASS ${GUEST_CHECKS} ${GUEST_LAMINA_CLEAN} --expect-exit 0)

# lamina_guest_test(<name> <guest file> <lamina-qemu options>...): test
# guest.<name>, running <guest file> (in the guests build directory) as the
# first VM.
function(lamina_guest_test name guest)
  add_test(NAME "guest.${name}"
           COMMAND "${LAMINA_QEMU}" --image "${LAMINA_IMAGE}" --guest-kernel "${LAMINA_GUESTS}/${guest}"
                   --name "guest.${name}" --timeout 90
                   --log "${CMAKE_CURRENT_BINARY_DIR}/logs/guest.${name}.log" ${ARGN})
  set_tests_properties("guest.${name}" PROPERTIES LABELS guest TIMEOUT 150)
endfunction()

set(TEST_DEVICE --guest-test-device 0x0b000000)

# --- Entry: ELF, raw binary and Linux Image payloads ----------------------
lamina_guest_test(boot.elf boot.elf ${GUEST_PASS})
lamina_guest_test(boot.raw boot-raw.bin ${GUEST_PASS} --expect "format raw, linked at 0x40080000")
lamina_guest_test(boot.image boot-image.bin ${GUEST_PASS} --expect "format Image, linked at 0x40200040")
lamina_guest_test(boot.cortex-a57 boot.elf --cpu cortex-a57 --gic 2 ${GUEST_PASS})

# --- PSCI 1.1 / SMCCC 1.1 over HVC and SMC --------------------------------
lamina_guest_test(psci psci.elf --vcpus 4 ${GUEST_PASS})
lamina_guest_test(psci.cortex-a57 psci.elf --vcpus 2 --cpu cortex-a57 --gic 2 ${GUEST_PASS})

# --- CPU_ON of every secondary --------------------------------------------
lamina_guest_test(smp.4vcpu smp.elf --vcpus 4 ${GUEST_PASS})
lamina_guest_test(smp.8vcpu smp.elf --vcpus 8 ${GUEST_PASS})
lamina_guest_test(smp.icount smp.elf --vcpus 4 --icount ${GUEST_PASS})

# --- Every page of guest RAM; on-demand stage 2 with 1G, 2M and 4K -------
lamina_guest_test(ram.256m ram-256m.elf --guest-mem 256M ${GUEST_PASS})
lamina_guest_test(ram.256m.eager ram-256m.elf --guest-mem 256M --guest-map-eagerly ${GUEST_PASS})
# 3 GiB + 6 MiB + 20 KiB: three 1 GiB blocks, three 2 MiB blocks, five pages.
lamina_guest_test(ram.3g ram-3g.elf --guest-mem 3151892K --mem 5G --append "lamina.stats" ${GUEST_PASS}
  --expect "vm vm1: stage-2 fault-ins 4K=[1-9][0-9]* 2M=[1-9][0-9]* 1G=[1-9][0-9]*" --timeout 240)
set_tests_properties(guest.ram.3g PROPERTIES TIMEOUT 300)

# --- Emulated MMIO: sizes, sign extension, XZR, acquire/release, Rt 0..30 --
lamina_guest_test(mmio mmio.elf ${TEST_DEVICE} ${GUEST_PASS})
lamina_guest_test(mmio.mmu mmio-mmu.elf ${TEST_DEVICE} ${GUEST_PASS})
lamina_guest_test(mmio.cortex-a57 mmio.elf ${TEST_DEVICE} --cpu cortex-a57 --gic 2 ${GUEST_PASS})

# --- ISV = 0 and holes: external aborts delivered to the guest ------------
lamina_guest_test(abort abort.elf ${TEST_DEVICE} ${GUEST_PASS})
lamina_guest_test(abort.mmu abort-mmu.elf ${TEST_DEVICE} ${GUEST_PASS})
lamina_guest_test(abort.cortex-a57 abort.elf ${TEST_DEVICE} --cpu cortex-a57 --gic 2 ${GUEST_PASS})

# --- Sanitized ID registers, PARange = the VM's IPA size ------------------
lamina_guest_test(idregs.ipa40 idregs-ipa40.elf --guest-ipa-bits 40 --vcpus 2 ${GUEST_PASS})
lamina_guest_test(idregs.ipa48 idregs-ipa48.elf --guest-ipa-bits 48 --vcpus 2 ${GUEST_PASS})
lamina_guest_test(idregs.ipa40.cortex-a57 idregs-ipa40.elf --guest-ipa-bits 40 --vcpus 2 --cpu cortex-a57
  --gic 2 ${GUEST_PASS})

# --- UNDEFINED for unhandled system registers -----------------------------
lamina_guest_test(undef undef.elf ${GUEST_PASS})
# --- Debug registers are the guest's (Linux's early CPU setup writes them) --
lamina_guest_test(debugregs debugregs.elf ${GUEST_PASS})
lamina_guest_test(debugregs.cortex-a57 debugregs.elf --cpu cortex-a57 --gic 2 ${GUEST_PASS})

# --- WFI until the vCPU has something to do -------------------------------
lamina_guest_test(wfi wfi.elf ${GUEST_PASS})
lamina_guest_test(wfi.icount wfi.elf --icount ${GUEST_PASS})

# --- The virtual GIC: timer PPI 27 (HW bit), a burst of SGIs, an SGI ------
# between vCPUs; GICv3 (ICH_* list registers) and GICv2 (GICH, the GICV
# frame at the guest's GICC, GICD_SGIR).
lamina_guest_test(vgic vgic.elf --vcpus 2 --gic 3 ${GUEST_PASS})
lamina_guest_test(vgic.icount vgic.elf --vcpus 2 --gic 3 --icount ${GUEST_PASS})
lamina_guest_test(vgic.gicv2 vgic.elf --vcpus 2 --gic 2 ${GUEST_PASS} --expect "GUEST-INFO GICv2")
lamina_guest_test(vgic.gicv2.icount vgic.elf --vcpus 2 --gic 2 --icount ${GUEST_PASS} --expect "GUEST-INFO GICv2")
lamina_guest_test(vgic.gicv2.cortex-a57 vgic.elf --vcpus 2 --gic 2 --cpu cortex-a57 ${GUEST_PASS}
  --expect "GUEST-INFO GICv2")
lamina_guest_test(vgic.gicv2.1vcpu vgic.elf --vcpus 1 --gic 2 ${GUEST_PASS} --expect "GUEST-INFO GICv2")

# --- The EL1 physical timer is the guest's (CNTHCTL_EL2.EL1PCEN), PPI 30 ----
lamina_guest_test(ptimer ptimer.elf --gic 3 ${GUEST_PASS})
lamina_guest_test(ptimer.icount ptimer.elf --gic 3 --icount ${GUEST_PASS})
lamina_guest_test(ptimer.gicv2 ptimer.elf --gic 2 ${GUEST_PASS} --expect "GUEST-INFO GICv2")

# --- SYSTEM_RESET / SYSTEM_RESET2 restart the VM; SYSTEM_OFF ends it -------
# (--expect-in-order applies to every --expect: the boots come first.)
lamina_guest_test(reset reset.elf --vcpus 2 --expect-in-order
  --expect "GUEST-INFO boot 1 " --expect "GUEST-INFO boot 2 " --expect "GUEST-INFO boot 3 "
  --reject "GUEST-INFO boot 4 " ${GUEST_PASS})

# --- Two VMs: vm2 crashes beyond recovery, vm1 keeps running --------------
# lamina stops vm2 alone (an error-level dump is expected), vm1 passes after
# that, and QEMU exits 0 once both have stopped.
# (--expect-in-order applies to every --expect, so GUEST_CHECKS' own
# expectation is left out here: the last one below is the same.)
lamina_guest_test(two-vms progress.elf
  --vm "name=vm2,kernel=${LAMINA_GUESTS}/crash.elf,mem=64M,vcpus=1" --expect-in-order
  --expect "vm2\\| GUEST-INFO crash: VBAR_EL1"
  --expect "vm vm2: stopped"
  --expect "vm1\\| GUEST-INFO progress 30/30"
  --expect "vm1\\| GUEST-RESULT: PASS [0-9]+ checks"
  --reject "GUEST-CHECK .*: FAIL" --reject "GUEST-RESULT: FAIL" --reject "vm vm1: stopped .unrecoverable"
  --reject "crash report" --reject "PANIC" --expect-exit 0)

# --- Two VMs on one console: the escape sequence moves the input ----------
# vm1 and vm2 run the echo guest; what is typed goes to vm1 until Ctrl-\ 2
# moves the input to vm2 (lamina says so on a line of its own), Ctrl-\
# Ctrl-\ passes one Ctrl-\ through, Ctrl-\ 1 moves it back. Each VM echoes
# only what was typed while it had the input; "q" ends each, and QEMU exits
# 0 once both have stopped. (--send-after steps run in order, each after its
# pattern matched beyond the previous step's match.) On GICv3 input is
# taken by interrupt; on GICv2 hosts (until lamina runs their GIC) polled.
foreach(gic 3 2)
lamina_guest_test(console.two-vms.gicv${gic} echo.elf --gic ${gic}
  --vm "name=vm2,kernel=${LAMINA_GUESTS}/echo.elf,mem=64M,vcpus=1" --guest-mem 64M
  --send-after "vm1\\| GUEST-INFO echo ready" "hello1\\r"
  --send-after "vm1\\| GUEST-INFO echo: hello1" "\\x1c2"
  --send-after "lamina: console input -> vm2" "hello2 a\\x1c\\x1cb\\r"
  --send-after "vm2\\| GUEST-INFO echo: hello2" "q\\r\\x1c1"
  --send-after "lamina: console input -> vm1" "q\\r"
  --expect "vm1\\| GUEST-INFO echo: hello1"
  --expect "vm2\\| GUEST-INFO echo: hello2 a\\\\x1cb"
  --expect "vm1\\| GUEST-RESULT: PASS" --expect "vm2\\| GUEST-RESULT: PASS"
  --reject "vm1\\| GUEST-INFO echo: hello2" --reject "vm2\\| GUEST-INFO echo: hello1"
  --reject "GUEST-CHECK .*: FAIL" ${GUEST_LAMINA_CLEAN} --expect-exit 0)
endforeach()

# --- The framework itself on bare QEMU at EL1 (no lamina) -----------------
# QEMU's answers differ from lamina's (no test device, QEMU's own PSCI over
# HVC only, ID registers not sanitized), so these tests pin the checks whose
# outcome is the same on real hardware: the exception records, CPU_ON, RAM.
function(lamina_guest_bare_test name guest)
  add_test(NAME "guest.bare.${name}"
           COMMAND "${LAMINA_QEMU}" --bare --guest-kernel "${LAMINA_GUESTS}/${guest}"
                   --name "guest.bare.${name}" --timeout 60
                   --log "${CMAKE_CURRENT_BINARY_DIR}/logs/guest.bare.${name}.log" ${ARGN})
  set_tests_properties("guest.bare.${name}" PROPERTIES LABELS guest TIMEOUT 90)
endfunction()
lamina_guest_bare_test(ram ram-256m.bin --guest-mem 256M ${GUEST_CHECKS} --expect-exit 0)
lamina_guest_bare_test(progress progress.bin ${GUEST_CHECKS} --expect-exit 0)
# Nothing at 0x0b000000 on bare QEMU either, so the ISV = 0 cases fault the
# same way; only the test device's counter reads fail there.
lamina_guest_bare_test(abort abort.bin --expect-exit 0
  --expect "GUEST-CHECK abort.isv0.ldp-x: PASS" --expect "GUEST-CHECK abort.isv0.ldr-pre-index.base-unchanged: PASS"
  --expect "GUEST-CHECK abort.hole.stp: PASS" --expect "GUEST-CHECK abort.hole.fetch: PASS"
  --expect "GUEST-CHECK abort.past-ram.ldp-pre-index: PASS" --expect "GUEST-CHECK abort.el0.hole.ldr: PASS"
  --expect "GUEST-CHECK abort.el0.hole.fetch: PASS" --expect "GUEST-RESULT: FAIL 2 of 41")
lamina_guest_bare_test(abort.mmu abort-mmu.bin --expect-exit 0
  --expect "GUEST-CHECK abort.mmu-on: PASS" --expect "GUEST-CHECK abort.hole.fetch: PASS"
  --expect "GUEST-CHECK abort.past-ram.stp: PASS" --expect "GUEST-RESULT: FAIL 2 of 37")
lamina_guest_bare_test(undef undef.bin --expect-exit 0
  --expect "GUEST-CHECK undef.udf-baseline: PASS" --expect "GUEST-CHECK undef.msr-id_aa64pfr0_el1: PASS")
# QEMU serves PSCI over HVC at EL1: the HVC half of every CPU_ON works.
lamina_guest_bare_test(smp smp.bin --vcpus 4 --expect-exit 0
  --expect "GUEST-CHECK smp.one.cpu1.context-id: PASS" --expect "GUEST-CHECK smp.one.cpu1.entry-point: PASS"
  --expect "GUEST-CHECK smp.one.cpu1.off-after-cpu-off: PASS" --expect "GUEST-CHECK smp.one.cpu3.entry-point: PASS"
  --expect "GUEST-CHECK smp.one.cpu3.mpidr: PASS")
lamina_guest_bare_test(boot.image boot-image.bin ${GUEST_CHECKS} --expect-exit 0)
