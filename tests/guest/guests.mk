# Guest test programs (tests/guest, see tests/guest/README.md), included by
# the top-level Makefile: `make guests` builds $(BUILD)/guests/<name>.elf
# for every guest and <name>.bin for the raw and Image-format ones, with the
# Makefile's CROSS_COMPILE and BUILD.
#
# A guest is tests/guest/<source>.cpp (+ .S) linked with the framework in
# tests/guest/lib/ by linker/guest.ld. Variants of one source differ only in
# link-time parameters: GUEST_PARAMS_<name> (read with GUEST_PARAM(x) in
# the guest) and GUEST_BASE_<name> (the link address). The --defsym options
# must come before -T: linker/guest.ld tests DEFINED(__guest_base).

GUEST_SRC := tests/guest
GUEST_OUT := $(BUILD)/guests
GUEST_CXX := $(CROSS_COMPILE)g++
GUEST_OBJCOPY := $(CROSS_COMPILE)objcopy

# Freestanding C++, not position-independent (linked where it is loaded),
# strictly aligned accesses (the MMU is off: every access is to Device
# memory), general registers only (no FP/SIMD in the framework or guests).
GUEST_ARCH := -march=armv8-a -mgeneral-regs-only -mstrict-align -mno-outline-atomics
GUEST_CXXFLAGS := -std=gnu++20 $(GUEST_ARCH) -O2 -g \
  -ffreestanding -fno-exceptions -fno-rtti -nostdlib -fno-pie -fno-stack-protector \
  -fno-threadsafe-statics -fno-use-cxa-atexit -fno-asynchronous-unwind-tables -fno-unwind-tables \
  -fno-tree-loop-distribute-patterns -ffunction-sections -fdata-sections \
  -Wall -Wextra -Wconversion -Werror -I$(GUEST_SRC)/lib -MMD -MP
GUEST_ASFLAGS := $(GUEST_ARCH) -g -I$(GUEST_SRC)/lib -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,linker/guest.ld -Wl,--gc-sections \
  -Wl,-z,max-page-size=4096 -Wl,--build-id=none -Wl,-z,noexecstack

# The framework, minus the Image header (linked only into Image guests).
GUEST_LIB_OBJS := $(patsubst $(GUEST_SRC)/%,$(GUEST_OUT)/obj/%.o, \
  $(filter-out %/image_header.S,$(wildcard $(GUEST_SRC)/lib/*.cpp $(GUEST_SRC)/lib/*.S)))
GUEST_IMAGE_HEADER := $(GUEST_OUT)/obj/lib/image_header.S.o
obj = $(GUEST_OUT)/obj/$(1)
comma := ,

GUEST_ELFS := boot boot-raw boot-image psci smp ram-256m ram-3g mmio mmio-mmu abort abort-mmu \
  idregs-ipa40 idregs-ipa48 undef debugregs wfi reset progress crash vgic ptimer
# Raw binaries of every guest: boot-raw.bin and boot-image.bin are what
# lamina loads as raw and Image payloads; the others are for --bare runs on
# QEMU (QEMU passes x0 = its DT to a raw binary, not to an ELF).
GUEST_ELFS += echo  # the console tests' guest
GUEST_BINS := $(GUEST_ELFS)

# Each guest's own objects.
$(GUEST_OUT)/boot.elf: $(call obj,boot.cpp.o)
$(GUEST_OUT)/boot-raw.elf: $(call obj,boot.cpp.o)
$(GUEST_OUT)/boot-image.elf: $(call obj,boot.cpp.o) $(GUEST_IMAGE_HEADER)
$(GUEST_OUT)/psci.elf: $(call obj,psci.cpp.o)
$(GUEST_OUT)/smp.elf: $(call obj,smp.cpp.o)
$(GUEST_OUT)/ram-256m.elf $(GUEST_OUT)/ram-3g.elf: $(call obj,ram.cpp.o)
$(GUEST_OUT)/mmio.elf $(GUEST_OUT)/mmio-mmu.elf: $(call obj,mmio.cpp.o) $(call obj,mmio_sweep.S.o)
$(GUEST_OUT)/abort.elf $(GUEST_OUT)/abort-mmu.elf: $(call obj,abort.cpp.o)
$(GUEST_OUT)/idregs-ipa40.elf $(GUEST_OUT)/idregs-ipa48.elf: $(call obj,idregs.cpp.o)
$(GUEST_OUT)/undef.elf: $(call obj,undef.cpp.o)
$(GUEST_OUT)/debugregs.elf: $(call obj,debugregs.cpp.o)
$(GUEST_OUT)/wfi.elf: $(call obj,wfi.cpp.o)
$(GUEST_OUT)/vgic.elf: $(call obj,vgic.cpp.o)
$(GUEST_OUT)/ptimer.elf: $(call obj,ptimer.cpp.o)
$(GUEST_OUT)/reset.elf: $(call obj,reset.cpp.o)
$(GUEST_OUT)/progress.elf: $(call obj,progress.cpp.o)
$(GUEST_OUT)/crash.elf: $(call obj,crash.cpp.o)
$(GUEST_OUT)/echo.elf: $(call obj,echo.cpp.o)

# Variant parameters.
GUEST_PARAMS_boot-raw := raw=1
GUEST_PARAMS_boot-image := image=1
GUEST_BASE_boot-image := 0x40200000
GUEST_PARAMS_abort-mmu := mmu=1
GUEST_PARAMS_mmio-mmu := mmu=1
# RAM sizes the DT must describe: 256 MiB; 3 GiB + 6 MiB + 20 KiB.
GUEST_PARAMS_ram-256m := mem_kib=262144
GUEST_PARAMS_ram-3g := mem_kib=3151892
GUEST_PARAMS_idregs-ipa40 := ipa_bits=40
GUEST_PARAMS_idregs-ipa48 := ipa_bits=48

# Like the EL2 objects: `make test` installs the toolchain first.
$(GUEST_OUT)/obj/%.o: | $(if $(filter run test debug,$(MAKECMDGOALS)),setup)

# The framework objects are prerequisites of the pattern rule only: keep them.
.SECONDARY: $(GUEST_LIB_OBJS) $(GUEST_IMAGE_HEADER)

.PHONY: guests
guests: $(GUEST_ELFS:%=$(GUEST_OUT)/%.elf) $(GUEST_BINS:%=$(GUEST_OUT)/%.bin)

$(GUEST_OUT)/%.elf: $(GUEST_LIB_OBJS) linker/guest.ld
	@echo "  LD      $@"
	$(Q)$(GUEST_CXX) $(GUEST_CXXFLAGS) \
	  $(if $(GUEST_BASE_$*),-Wl$(comma)--defsym=__guest_base=$(GUEST_BASE_$*)) \
	  $(foreach p,$(GUEST_PARAMS_$*),-Wl$(comma)--defsym=guest_param_$(p)) \
	  $(GUEST_LDFLAGS) $(filter %.o,$^) -lgcc -o $@

$(GUEST_OUT)/%.bin: $(GUEST_OUT)/%.elf
	@echo "  OBJCOPY $@"
	$(Q)$(GUEST_OBJCOPY) -O binary $< $@

$(GUEST_OUT)/obj/%.cpp.o: $(GUEST_SRC)/%.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(GUEST_CXX) $(GUEST_CXXFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/%.S.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(GUEST_CXX) $(GUEST_ASFLAGS) -c $< -o $@

-include $(wildcard $(GUEST_OUT)/obj/*.d $(GUEST_OUT)/obj/lib/*.d)
