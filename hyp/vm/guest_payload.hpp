// Where a guest's boot payload goes in its RAM, and where the guest starts.
//
// plan_guest_boot() looks at the kernel file (untrusted bytes), decides what
// it is, and lays out the kernel, the initrd and a slot for the guest DTB in
// guest RAM exactly as QEMU virt's own `-kernel`/`-initrd` would (QEMU
// hw/arm/boot.c: load_aarch64_image, arm_setup_direct_kernel_boot,
// arm_load_elf; the addresses were checked against QEMU 10.0.2), so that a
// program built for QEMU virt finds the same layout under lamina:
//
//  - Linux arm64 Image (magic "ARM\x64" at byte 56; Documentation/arch/
//    arm64/booting.rst "Call the kernel image"): at RAM base + text_offset,
//    where a text_offset below 4 KiB gets 2 MiB more (QEMU keeps its boot
//    stub in the first 4 KiB; PLATFORM-NOTES: text_offset 0 runs at
//    0x40200000); with image_size 0 (kernels before 3.17) at RAM base +
//    0x80000. image_size (BSS included) is reserved. Big-endian refused.
//  - ELF64 little-endian EM_AARCH64, ET_EXEC or ET_DYN: every PT_LOAD copied
//    to its p_paddr (p_filesz bytes, zero-filled to p_memsz), no relocation,
//    entry e_entry, which must lie in a loaded segment.
//  - anything else: a raw binary at RAM base + 0x80000 (QEMU's
//    KERNEL64_LOAD_ADDR), entered at its first byte.
//  - refused: empty files, gzip/EFI-zboot compressed kernels (QEMU
//    decompresses them; lamina does not), 32-bit ELF or EM_ARM, and 32-bit
//    Linux zImages (magic 0x016f2818 at 0x24).
//
// Initrd and DTB (x0 at entry):
//  - Image and raw (QEMU's "Linux" path): initrd at RAM base + min(RAM / 2,
//    128 MiB), or right after the kernel if the kernel reaches beyond that,
//    4 KiB aligned; the DTB at the next 2 MiB boundary after the initrd (or
//    after where it would start, with no initrd). With 1 GiB of RAM and no
//    initrd: DTB at 0x48000000, as QEMU passes it.
//  - ELF: the DTB at RAM base when the room below the lowest segment holds
//    at least kGuestDtbMinSize (QEMU virt's docs: bare-metal programs find
//    the DTB at the start of RAM); otherwise after the image and initrd at
//    a 2 MiB boundary. The initrd (which QEMU does not load for ELF files)
//    goes where the Linux rule puts it unless that overlaps the image or the
//    DTB slot, then right after the image.
//  - the DTB slot is kGuestDtbMaxSize (2 MiB, Linux's limit) or, when the
//    room is smaller, what there is (at least kGuestDtbMinSize): the DT is
//    generated after planning and must fit dtb_size.
//
// The plan never overlaps anything (kernel copies, initrd, DTB slot) and
// everything lies in [ram_base, ram_base + ram_size). The EL2 caller copies
// the bytes, zero-fills, cleans to the PoC and enters the guest at `entry`
// in EL1h with the MMU and caches off, DAIF masked and x0 = `dtb`, x1-x3 = 0
// (booting.rst "Call the kernel image" for Images; the same for every kind).
//
// Architecture-neutral: compiled for the EL2 image and for the host tests
// (tests/unit/hyp/vm/guest_payload_test.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp {

// Linux's limit for a DTB (booting.rst "Setup the device tree"); the slot
// reserved for the guest DT when there is room.
inline constexpr uint64_t kGuestDtbMaxSize = uint64_t{2} << 20;
// The smallest DTB slot lamina accepts (a generated guest DT is a few KiB).
inline constexpr uint64_t kGuestDtbMinSize = uint64_t{64} << 10;
// PT_LOAD segments lamina copies at most.
inline constexpr size_t kMaxPayloadCopies = 16;

enum class PayloadKind : uint8_t { kLinuxImage, kElf, kRaw };

[[nodiscard]] const char* payload_kind_name(PayloadKind kind);

// Copy file bytes [file_offset, file_offset + file_size) to guest RAM at
// `ipa`, then zero-fill up to ipa + mem_size (mem_size >= file_size).
struct PayloadCopy {
  uint64_t file_offset = 0;
  uint64_t file_size = 0;
  mm::IntermediatePhysAddr ipa;
  uint64_t mem_size = 0;
};

struct GuestBootPlan {
  PayloadKind kind = PayloadKind::kRaw;
  std::array<PayloadCopy, kMaxPayloadCopies> copies{};
  size_t copy_count = 0;
  mm::IntermediatePhysAddr entry;   // the guest's first instruction
  mm::IntermediatePhysAddr dtb;     // x0 at entry; 2 MiB aligned unless at RAM base
  uint64_t dtb_size = 0;            // the slot: kGuestDtbMinSize..kGuestDtbMaxSize
  mm::IntermediatePhysAddr initrd;  // 4 KiB aligned; valid if initrd_size != 0
  uint64_t initrd_size = 0;         // 0 = none
};

enum class PayloadError : uint8_t {
  kBadRam,           // RAM range empty, wrapping, or not 2 MiB / 4 KiB aligned
  kEmpty,            // a kernel file of 0 bytes
  kCompressed,       // gzip or EFI zboot: decompress before loading
  kAArch32,          // 32-bit ELF, EM_ARM or a 32-bit ARM zImage
  kBigEndian,        // big-endian Image or ELF
  kNotAArch64,       // an ELF for another machine
  kBadImage,         // an arm64 Image magic without the whole 64-byte header
  kBadElf,           // a malformed ELF: truncated, out-of-bounds headers or segments, overflow
  kTooManySegments,  // more PT_LOAD segments than kMaxPayloadCopies
  kBadEntry,         // entry point misaligned or outside every loaded segment
  kOutsideRam,       // an ELF segment outside guest RAM
  kDoesNotFit,       // kernel, initrd or DTB slot runs past the end of RAM
  kOverlap,          // ELF segments overlap each other
};

// A sentence naming the problem, e.g. "32-bit (AArch32) guests are not supported".
[[nodiscard]] const char* payload_error_name(PayloadError e);

// plan_guest_boot() - Lay out a guest's boot payload in its RAM.
// @kernel:       the whole kernel file, untrusted.
// @ramdisk_size: bytes of initrd to place, 0 for none.
// @ram_base:     the guest RAM's IPA, 2 MiB aligned (0x4000_0000 on lamina's virt layout).
// @ram_size:     the guest RAM's size, a multiple of 4 KiB.
//
// Pure: reads @kernel, writes nothing but the returned plan.
//
// Return: the plan, or the PayloadError for the first problem found.
[[nodiscard]] Result<GuestBootPlan, PayloadError> plan_guest_boot(std::span<const uint8_t> kernel,
                                                                  uint64_t ramdisk_size,
                                                                  mm::IntermediatePhysAddr ram_base,
                                                                  uint64_t ram_size);

}  // namespace lamina::hyp
