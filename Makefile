# lamina: a bare-metal AArch64 type-1 hypervisor.
#
#   make            build build/lamina.elf and build/lamina.bin (a Linux arm64 Image)
#   make run        install what is missing, build lamina and the guest images, boot
#                   Debian's kernel with the busybox initramfs under lamina on QEMU
#                   virt to a shell (Ctrl-A X quits QEMU; `poweroff -f` in the guest)
#   make test       install what is missing, build, run every test through one ctest
#                   (with the pairwise subset of the Linux smoke matrix); JUnit XML
#                   in build/host/junit.xml, serial logs in build/host/logs/
#   make test-full  the same with the whole Linux smoke matrix (24 configurations)
#   make debug      boot paused with QEMU's gdb stub; then `make gdb` in another terminal
#   make gdb        gdb-multiarch with lamina.elf's symbols, connected to `make debug`
#   make bench      host benchmarks of stage-2 management, then guest exit costs
#                   and the Linux guest's boot time under QEMU icount (lamina and
#                   bare QEMU); results in bench/results/
#   make clean      remove build/
#
# `make run` / `make debug` overrides (defaults: guest-images/, GICv3, 2 vCPUs,
# 1 GiB): KERNEL=FILE INITRD=FILE|'' DTB=FILE (the guest's own device tree)
# CMDLINE='...' VCPUS=N MEM=MiB (or 512M, 2G) GIC=2|3.
# V=1 prints full commands. LAMINA_MAX_CPUS=N sets the CPU limit (default 16).
# LAMINA_FALLBACK_UART=0xADDR|none: the PL011 used to complain about a DTB
# that names no usable console (default: QEMU virt's 0x09000000);
# LAMINA_FALLBACK_PSCI=smc|hvc|none powers off after such an error (default smc).

CROSS_COMPILE ?= aarch64-linux-gnu-
CXX      := $(CROSS_COMPILE)g++
OBJCOPY  := $(CROSS_COMPILE)objcopy
READELF  := $(CROSS_COMPILE)readelf
BUILD    ?= build
LAMINA_DEPS ?= /opt/lamina-deps
LIBFDT_DIR  := $(LAMINA_DEPS)/arm64/usr
LAMINA_MAX_CPUS ?= 16
LAMINA_FALLBACK_UART ?= 0x09000000
LAMINA_FALLBACK_PSCI ?= smc
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(V),1)
Q :=
else
Q := @
endif

VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
ifeq ($(LAMINA_FALLBACK_UART),none)
FALLBACK_UART_DEF := 0
else
FALLBACK_UART_DEF := $(LAMINA_FALLBACK_UART)
endif
FALLBACK_PSCI_DEF := $(if $(filter smc,$(LAMINA_FALLBACK_PSCI)),1,$(if $(filter hvc,$(LAMINA_FALLBACK_PSCI)),2,0))

# Sources: every .S/.cpp under the EL2 directories (one concept per file;
# adding a file needs no Makefile change).
EL2_DIRS := boot arch arch/el2 mm hyp hyp/lib hyp/platform hyp/cpu hyp/vm hyp/trap hyp/dev hyp/vgic hyp/rt
SRCS := $(filter-out boot/asm_offsets.cpp,$(foreach d,$(EL2_DIRS),$(wildcard $(d)/*.cpp $(d)/*.S)))
OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(SRCS))
DEPS := $(OBJS:.o=.d) $(BUILD)/generated/asm_offsets.s.d

GEN := $(BUILD)/generated
ASM_OFFSETS := $(GEN)/asm_offsets.h

# EL2 code: freestanding C++20, general registers only (lamina never touches
# a guest's FP/SIMD state), no outline atomics (they need libc's HWCAP
# probing), frame pointers for backtraces, position-independent.
ARCH_FLAGS := -march=armv8-a -mgeneral-regs-only -mno-outline-atomics
CXXFLAGS := -std=gnu++20 $(ARCH_FLAGS) -O2 -g \
  -ffreestanding -fno-exceptions -fno-rtti -nostdlib -fno-threadsafe-statics -fno-use-cxa-atexit \
  -fPIE -fvisibility=hidden -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
  -fstack-protector-strong -fno-asynchronous-unwind-tables -fno-unwind-tables \
  -fno-tree-loop-distribute-patterns -ffunction-sections -fdata-sections \
  -Wall -Wextra -Wconversion -Werror \
  -I. -I$(GEN) -isystem $(LIBFDT_DIR)/include \
  -DLAMINA_VERSION='"$(VERSION)"' -DLAMINA_MAX_CPUS=$(LAMINA_MAX_CPUS) \
  -DLAMINA_FALLBACK_UART=$(FALLBACK_UART_DEF) -DLAMINA_FALLBACK_PSCI=$(FALLBACK_PSCI_DEF) \
  -MMD -MP
ASFLAGS := $(ARCH_FLAGS) -g -I$(GEN) -MMD -MP
LDFLAGS := -nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,text -Wl,--gc-sections \
  -Wl,-T,linker/lamina.ld -Wl,-z,max-page-size=4096 -Wl,--build-id=none -Wl,--no-undefined \
  -Wl,-z,norelro -Wl,-Map,$(BUILD)/lamina.map
LIBS := $(LIBFDT_DIR)/lib/aarch64-linux-gnu/libfdt.a -lgcc

.PHONY: all setup run test test-full debug gdb bench clean
.DEFAULT_GOAL := all

all: $(BUILD)/lamina.bin

setup:
	$(Q)bash scripts/setup.sh

# The setup step must run before anything that needs the toolchain, but only
# when a goal needs it; `make` alone assumes the tools are there.
$(OBJS) $(ASM_OFFSETS): | $(if $(filter run test test-full debug,$(MAKECMDGOALS)),setup)

$(GEN)/asm_offsets.s: boot/asm_offsets.cpp
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(CXX) $(filter-out -MMD -MP,$(CXXFLAGS)) -MMD -MP -MF $@.d -MT $@ -S $< -o $@

$(ASM_OFFSETS): $(GEN)/asm_offsets.s
	@echo "  GEN     $@"
	$(Q){ echo "// Generated from boot/asm_offsets.cpp. Do not edit."; \
	  echo "#pragma once"; \
	  sed -n 's/.*->\([A-Z0-9_]*\) [#$$]*\(-\{0,1\}[0-9][0-9]*\).*/#define \1 \2/p' $<; } > $@.tmp
	$(Q)mv $@.tmp $@

$(BUILD)/obj/%.cpp.o: %.cpp | $(ASM_OFFSETS)
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S $(ASM_OFFSETS)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CXX) $(ASFLAGS) -c $< -o $@

$(BUILD)/lamina.elf: $(OBJS) linker/lamina.ld
	@echo "  LD      $@"
	$(Q)$(CXX) $(CXXFLAGS) $(LDFLAGS) $(OBJS) $(LIBS) -o $@
	$(Q)scripts/check-elf.sh $(READELF) $@

$(BUILD)/lamina.bin: $(BUILD)/lamina.elf
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -O binary $< $@

# Test payloads built with the same cross toolchain.
$(BUILD)/tests/jump_stub.bin: tests/boot/jump_stub.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CXX) $(ARCH_FLAGS) -nostdlib -static -Wl,-Ttext=0 -Wl,--build-id=none -o $(BUILD)/tests/jump_stub.elf $<
	$(Q)$(OBJCOPY) -O binary $(BUILD)/tests/jump_stub.elf $@

include tests/guest/guests.mk
include bench/guest/bench_guest.mk
include guest-images/guest-images.mk

# `make run`: the Linux guest of guest-images/ under lamina, interactive
# (the initramfs's shell mode). The builds run as a sub-make so that they
# start only once setup has installed the toolchain; the guest images are
# built only when the defaults are used.
VCPUS ?= 2
MEM ?= 1024
GIC ?= 3
KERNEL ?= $(GUEST_IMAGE_KERNEL)
INITRD ?= $(GUEST_IMAGE_INITRD)
DTB ?=
# MEM in MiB: a plain number, or with an M or G suffix.
RUN_MEM_MIB = $(strip $(if $(filter %G %g,$(MEM)),$(shell echo $$(( $(patsubst %g,%,$(patsubst %G,%,$(MEM))) * 1024 ))),$(patsubst %m,%,$(patsubst %M,%,$(MEM)))))
CMDLINE ?= $(call guest_image_cmdline,shell,$(VCPUS),$(RUN_MEM_MIB))
RUN_NEEDS := all $(if $(filter $(GUEST_IMAGE_KERNEL) $(GUEST_IMAGE_INITRD),$(KERNEL) $(INITRD)),guest-images)
RUN_ARGS = --interactive --gic $(GIC) --guest-kernel $(KERNEL) $(if $(INITRD),--guest-initrd $(INITRD)) \
  $(if $(DTB),--guest-dtb $(DTB)) --guest-append "$(CMDLINE)" --vcpus $(VCPUS) --guest-mem $(RUN_MEM_MIB)M

run: setup
	$(Q)$(MAKE) --no-print-directory $(RUN_NEEDS)
	$(Q)scripts/lamina-qemu $(RUN_ARGS)

debug: setup
	$(Q)$(MAKE) --no-print-directory $(RUN_NEEDS)
	$(Q)scripts/lamina-qemu $(RUN_ARGS) --gdb 1234

gdb:
	$(Q)gdb-multiarch -q -x scripts/gdb-lamina.gdb

# One ctest run; LAMINA_LINUX_FULL_MATRIX chooses the Linux smoke matrix's
# pairwise subset (make test) or all of it (make test-full). CTest also
# writes its results as JUnit XML for CI, to build/host/junit.xml; the QEMU
# tests' serial logs stay in build/host/logs/.
define run_tests
	$(Q)cmake -S tests -B $(BUILD)/host -DLAMINA_BUILD_DIR=$(abspath $(BUILD)) -DLAMINA_LINUX_FULL_MATRIX=$(1) >/dev/null
	$(Q)cmake --build $(BUILD)/host -j$(JOBS)
	$(Q)cd $(BUILD)/host && ctest --output-on-failure -j$(JOBS) --timeout 300 --output-junit junit.xml
endef

test: setup all guests guest-images $(BUILD)/tests/jump_stub.bin
	$(call run_tests,OFF)

test-full: setup all guests guest-images $(BUILD)/tests/jump_stub.bin
	$(call run_tests,ON)

# Google Benchmark on the host; JSON and text results are kept under
# bench/results/ (named by date and commit) so runs can be compared. Then
# the exit benchmark: bench/guest/exits.bin under lamina and on bare QEMU,
# both under icount, compared in one table (scripts/exit-bench,
# bench/results/README.md). Last the boot benchmark: the Linux guest images
# booted natively and under lamina, 1 and 2 vCPUs, under icount
# (scripts/boot-bench). The build runs as a sub-make so that it starts only
# once setup has installed the toolchain.
BENCH_STAMP = $(shell date -u +%Y%m%d-%H%M%S)-$(VERSION)
bench: setup
	$(Q)$(MAKE) --no-print-directory all bench-guest guest-images
	$(Q)cmake -S tests -B $(BUILD)/host -DLAMINA_BUILD_DIR=$(abspath $(BUILD)) >/dev/null
	$(Q)cmake --build $(BUILD)/host -j$(JOBS) --target lamina_bench
	$(Q)mkdir -p bench/results
	$(Q)stamp=$(BENCH_STAMP); $(BUILD)/host/lamina_bench --benchmark_out=bench/results/stage2-$$stamp.json \
	  --benchmark_out_format=json | tee bench/results/stage2-$$stamp.txt
	$(Q)scripts/exit-bench --image $(BUILD)/lamina.bin --guest $(BENCH_GUEST) --out-dir bench/results \
	  --log-dir $(BUILD)/bench-guest
	$(Q)scripts/boot-bench --image $(BUILD)/lamina.bin --kernel $(GUEST_IMAGE_KERNEL) \
	  --initrd $(GUEST_IMAGE_INITRD) --out-dir bench/results --log-dir $(BUILD)/boot-bench

clean:
	rm -rf $(BUILD)

-include $(DEPS)
