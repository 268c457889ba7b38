# The interactive console under lamina (CTest label `linux`): Debian's
# kernel with the busybox initramfs in shell mode (`make run`'s machine:
# GICv3, 2 vCPUs, 1 GiB), typed at through scripts/lamina-qemu
# --send-after. The shell must compute what is typed (42LAMINA is not in
# the echo of the typed line), Linux's amba-pl011 must have taken its
# interrupt (SPI 1 = INTID 33) more than zero times (the per-CPU counts of
# its /proc/interrupts line, which stop at the controller's name), and `poweroff -f` must
# end the run with QEMU's exit status 0. Included from tests/CMakeLists.txt
# after guest-images/guest_images_tests.cmake. CMake list gotchas: no ';' in
# a regex, and balanced '[' ']'.

set(LAMINA_CONSOLE_IMAGES "${LAMINA_BUILD_DIR}/guest-images")
add_test(NAME linux.console.shell
         COMMAND "${LAMINA_ROOT}/scripts/lamina-qemu" --image "${LAMINA_BUILD_DIR}/lamina.bin"
                 --guest-kernel "${LAMINA_CONSOLE_IMAGES}/Image"
                 --guest-initrd "${LAMINA_CONSOLE_IMAGES}/initramfs.cpio.gz"
                 --guest-append "console=ttyAMA0 nokaslr lamina.mode=shell lamina.vcpus=2 lamina.mem_mib=1024"
                 --vcpus 2 --guest-mem 1024M --gic 3
                 --name linux.console.shell --timeout 150
                 --log "${CMAKE_CURRENT_BINARY_DIR}/logs/linux.console.shell.log"
                 --send-after "LAMINA-GUEST: shell" ""
                 --send-after "/ # " "echo $((6*7))LAMINA\\r"
                 --send-after "42LAMINA" "awk '/uart-pl011/ { n = 0 \\x3b for (i = 2\\x3b i <= NF && $i ~ /^[0-9]+$/\\x3b i++) n += $i \\x3b print \"UART-IRQS=\" n }' /proc/interrupts\\r"
                 --send-after "UART-IRQS=[0-9]+" "poweroff -f\\r"
                 --expect "LAMINA-RESULT: PASS 5 checks" --expect "42LAMINA" --expect "UART-IRQS=[1-9][0-9]*"
                 --expect "reboot: Power down" --expect-in-order
                 --reject "LAMINA-CHECK .*: FAIL" --reject "WARNING: CPU" --reject "BUG: " --reject "Oops"
                 --reject "Kernel panic" --reject "Call trace:"
                 --reject "lamina: [0-9. ]+cpu[0-9]+ error:" --expect-exit 0)
set_tests_properties(linux.console.shell PROPERTIES LABELS linux TIMEOUT 200)

# The console after a guest reboot: `reboot -f` resets the VM (its vPL011
# and its interrupt line with it); the second boot's shell must take typed
# input again, then `poweroff -f` ends the run.
add_test(NAME linux.console.reboot
         COMMAND "${LAMINA_ROOT}/scripts/lamina-qemu" --image "${LAMINA_BUILD_DIR}/lamina.bin"
                 --guest-kernel "${LAMINA_CONSOLE_IMAGES}/Image"
                 --guest-initrd "${LAMINA_CONSOLE_IMAGES}/initramfs.cpio.gz"
                 --guest-append "console=ttyAMA0 nokaslr lamina.mode=shell lamina.vcpus=2 lamina.mem_mib=1024"
                 --vcpus 2 --guest-mem 1024M --gic 3
                 --name linux.console.reboot --timeout 180
                 --log "${CMAKE_CURRENT_BINARY_DIR}/logs/linux.console.reboot.log"
                 --send-after "LAMINA-GUEST: shell" "" --send-after "/ # " "reboot -f\\r"
                 --send-after "vm vm1: reset" "" --send-after "LAMINA-GUEST: shell" ""
                 --send-after "/ # " "echo $((6*7))AGAIN\\r"
                 --send-after "42AGAIN" "poweroff -f\\r"
                 --expect "vm vm1: reset" --expect "42AGAIN" --expect "reboot: Power down" --expect-in-order
                 --reject "WARNING: CPU" --reject "BUG: " --reject "Oops" --reject "Kernel panic"
                 --reject "lamina: [0-9. ]+cpu[0-9]+ error:" --expect-exit 0)
set_tests_properties(linux.console.reboot PROPERTIES LABELS linux TIMEOUT 240)
