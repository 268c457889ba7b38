# The exit-cost benchmark guest (bench/guest, see bench/results/README.md),
# included by the top-level Makefile after tests/guest/guests.mk, whose
# framework objects, flags and linker script it reuses unchanged:
# `make bench-guest` builds $(BUILD)/bench-guest/exits.elf and exits.bin
# (the raw binary is what scripts/exit-bench runs, under lamina and on bare
# QEMU alike: as a raw payload it gets the DT in x0 in both places).

BENCH_GUEST_SRC := bench/guest
BENCH_GUEST_OUT := $(BUILD)/bench-guest
BENCH_GUEST_OBJS := $(patsubst $(BENCH_GUEST_SRC)/%,$(BENCH_GUEST_OUT)/obj/%.o, \
  $(wildcard $(BENCH_GUEST_SRC)/*.cpp $(BENCH_GUEST_SRC)/*.S))
BENCH_GUEST := $(BENCH_GUEST_OUT)/exits.bin

.PHONY: bench-guest
bench-guest: $(BENCH_GUEST_OUT)/exits.elf $(BENCH_GUEST)

$(BENCH_GUEST_OUT)/exits.elf: $(BENCH_GUEST_OBJS) $(GUEST_LIB_OBJS) linker/guest.ld
	@echo "  LD      $@"
	$(Q)$(GUEST_CXX) $(GUEST_CXXFLAGS) $(GUEST_LDFLAGS) $(filter %.o,$^) -lgcc -o $@

$(BENCH_GUEST_OUT)/exits.bin: $(BENCH_GUEST_OUT)/exits.elf
	@echo "  OBJCOPY $@"
	$(Q)$(GUEST_OBJCOPY) -O binary $< $@

# The framework's headers (guest.hpp, layout.h) come from tests/guest/lib
# through GUEST_CXXFLAGS/GUEST_ASFLAGS.
$(BENCH_GUEST_OUT)/obj/%.cpp.o: $(BENCH_GUEST_SRC)/%.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(GUEST_CXX) $(GUEST_CXXFLAGS) -c $< -o $@

$(BENCH_GUEST_OUT)/obj/%.S.o: $(BENCH_GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(GUEST_CXX) $(GUEST_ASFLAGS) -c $< -o $@

-include $(wildcard $(BENCH_GUEST_OUT)/obj/*.d)
