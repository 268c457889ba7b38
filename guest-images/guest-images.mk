# Linux guest images (guest-images/README.md), included by the top-level
# Makefile: `make guest-images` builds
#   $(BUILD)/guest-images/Image               Debian's arm64 kernel, uncompressed
#   $(BUILD)/guest-images/initramfs.cpio.gz   busybox + /init with in-guest checks
# from the cache guest-images/fetch.sh fills ($(LAMINA_DEPS)/guest: Debian's
# linux-image-*-arm64 and busybox-static:arm64 through apt; never committed),
# and prints the kernel version used.
#
# For `make run` and tests: GUEST_IMAGE_KERNEL, GUEST_IMAGE_INITRD, and
# $(call guest_image_cmdline,MODE,VCPUS,MEM_MIB) for the kernel command line.

GUEST_IMAGES_SRC := guest-images
GUEST_IMAGES_OUT := $(BUILD)/guest-images
GUEST_IMAGES_CACHE := $(LAMINA_DEPS)/guest
GUEST_IMAGE_KERNEL := $(GUEST_IMAGES_OUT)/Image
GUEST_IMAGE_INITRD := $(GUEST_IMAGES_OUT)/initramfs.cpio.gz
GUEST_IMAGES_CNTVCT := $(GUEST_IMAGES_OUT)/lamina-cntvct

# console: QEMU virt's PL011 (lamina's virtual PL011); nokaslr and a fixed
# DTB keep runs comparable; lamina.* are read by /init.
guest_image_cmdline = console=ttyAMA0 nokaslr lamina.mode=$(1) lamina.vcpus=$(2) lamina.mem_mib=$(3)

# The helper that prints the virtual counter: static, no libc.
GUEST_IMAGES_CXXFLAGS := -std=gnu++20 -march=armv8-a -mgeneral-regs-only -O2 \
  -ffreestanding -fno-exceptions -fno-rtti -nostdlib -static -fno-pie -no-pie -fno-stack-protector \
  -fno-asynchronous-unwind-tables -fno-unwind-tables -Wall -Wextra -Wconversion -Werror \
  -Wl,--build-id=none -Wl,-z,noexecstack

.PHONY: guest-images guest-images-fetch

guest-images: $(GUEST_IMAGE_KERNEL) $(GUEST_IMAGE_INITRD)
	@echo "  guest kernel $$(cut -d' ' -f1 $(GUEST_IMAGES_CACHE)/Image.version)" \
	  "(Debian $$(cut -d' ' -f2- $(GUEST_IMAGES_CACHE)/Image.version)," \
	  "$$(cat $(GUEST_IMAGES_CACHE)/busybox.version))"

# Fetch when the cache is incomplete (fetch.sh checks and returns at once
# otherwise); its outputs are then newer than anything built from them only
# if they were really fetched.
guest-images-fetch:
	$(Q)$(GUEST_IMAGES_SRC)/fetch.sh --dest $(GUEST_IMAGES_CACHE)

$(GUEST_IMAGES_CACHE)/Image $(GUEST_IMAGES_CACHE)/busybox $(GUEST_IMAGES_MODULES_DIR)/load-order &: | guest-images-fetch
	@:

$(GUEST_IMAGE_KERNEL): $(GUEST_IMAGES_CACHE)/Image
	@mkdir -p $(dir $@)
	@echo "  CP      $@"
	$(Q)cp $< $@

$(GUEST_IMAGES_CNTVCT): $(GUEST_IMAGES_SRC)/cntvct.cpp $(GUEST_IMAGES_SRC)/guest-images.mk
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(CXX) $(GUEST_IMAGES_CXXFLAGS) $< -o $@

# The virtio modules fetch.sh keeps (load order in modules/load-order), for
# passed-through virtio devices; /init loads them when asked (lamina.virtio).
GUEST_IMAGES_MODULES_DIR := $(GUEST_IMAGES_CACHE)/modules

$(GUEST_IMAGE_INITRD): $(GUEST_IMAGES_SRC)/mkinitramfs.py $(GUEST_IMAGES_SRC)/init.sh \
    $(GUEST_IMAGES_CACHE)/busybox $(GUEST_IMAGES_MODULES_DIR)/load-order $(GUEST_IMAGES_CNTVCT)
	@mkdir -p $(dir $@)
	@echo "  CPIO    $@"
	$(Q)python3 $(GUEST_IMAGES_SRC)/mkinitramfs.py --busybox $(GUEST_IMAGES_CACHE)/busybox \
	  --init $(GUEST_IMAGES_SRC)/init.sh --add bin/lamina-cntvct=$(GUEST_IMAGES_CNTVCT) \
	  --add lib/modules/load-order=$(GUEST_IMAGES_MODULES_DIR)/load-order \
	  $$(for m in $$(cat $(GUEST_IMAGES_MODULES_DIR)/load-order); do \
	       echo --add lib/modules/$$m=$(GUEST_IMAGES_MODULES_DIR)/$$m; done) -o $@
