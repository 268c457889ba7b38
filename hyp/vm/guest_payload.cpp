#include "hyp/vm/guest_payload.hpp"

#include <cstddef>

#include "boot/image_header.hpp"

namespace lamina::hyp {

namespace {

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;

// QEMU hw/arm/boot.c: where -kernel puts a raw AArch64 file, or an Image
// whose image_size is 0 (KERNEL64_LOAD_ADDR); how much the boot stub at RAM
// base may take (BOOTLOADER_MAX_SIZE: an Image whose text_offset is below
// this goes 2 MiB higher); initrd at RAM base + min(RAM / 2, 128 MiB),
// page aligned; the DTB after it at a 2 MiB boundary ("Some AArch64 kernels
// on early bootup map the fdt region as [ALIGN_DOWN(fdt, 2MB) ... + 2MB]").
constexpr uint64_t kRawLoadOffset = 0x80000;
constexpr uint64_t kQemuBootStubSize = 4 * kKiB;
constexpr uint64_t kImageBaseAlignment = 2 * kMiB;
constexpr uint64_t kInitrdMaxOffset = 128 * kMiB;
constexpr uint64_t kDtbAlignment = 2 * kMiB;

// A64 instructions are 4 bytes and the PC must be aligned to them
// (DDI 0487 K.a chapter D1, "PC alignment checking").
constexpr uint64_t kInstructionAlignment = 4;

// A 32-bit ARM Linux zImage: magic at byte 0x24 (arch/arm/boot/compressed/
// head.S, "zImage magic number").
constexpr size_t kZImageMagicOffset = 0x24;
constexpr uint32_t kZImageMagic = 0x016f2818;

// gzip (RFC 1952 2.3.1 "Member header and trailer": ID1 ID2) and the EFI
// zboot wrapper (Linux drivers/firmware/efi/libstub/zboot-header.S: "MZ",
// then "zimg" at offset 4).
constexpr uint8_t kGzipId1 = 0x1f;
constexpr uint8_t kGzipId2 = 0x8b;
constexpr size_t kZbootMagicOffset = 4;

// ELF64 (System V gABI "ELF Header", "Program Header"; AArch64 ELF ABI
// "ELF Header": EM_AARCH64 = 183).
constexpr size_t kEiNident = 16;
constexpr size_t kEiClass = 4;
constexpr size_t kEiData = 5;
constexpr size_t kEiVersion = 6;
constexpr uint8_t kElfClass32 = 1;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfData2Lsb = 1;
constexpr uint8_t kElfData2Msb = 2;
constexpr uint8_t kEvCurrent = 1;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEtDyn = 3;
constexpr uint16_t kEmArm = 40;
constexpr uint16_t kEmAarch64 = 183;
constexpr uint32_t kPtLoad = 1;
constexpr uint16_t kPnXnum = 0xffff;  // "more program headers than fit": count in section 0

struct Elf64Ehdr {
  static constexpr size_t kSize = 64;
  static constexpr size_t kType = 16;       // u16
  static constexpr size_t kMachine = 18;    // u16
  static constexpr size_t kVersion = 20;    // u32
  static constexpr size_t kEntry = 24;      // u64
  static constexpr size_t kPhoff = 32;      // u64
  static constexpr size_t kPhentsize = 54;  // u16
  static constexpr size_t kPhnum = 56;      // u16
};

struct Elf64Phdr {
  static constexpr size_t kSize = 56;
  static constexpr size_t kType = 0;     // u32
  static constexpr size_t kOffset = 8;   // u64
  static constexpr size_t kPaddr = 24;   // u64
  static constexpr size_t kFilesz = 32;  // u64
  static constexpr size_t kMemsz = 40;   // u64
};

// Little-endian reads. Precondition (checked by every caller): the bytes
// lie inside the span.
uint64_t read_le(std::span<const uint8_t> bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = width; i > 0; --i) value = (value << 8) | bytes[offset + i - 1];
  return value;
}
uint16_t le16(std::span<const uint8_t> b, size_t offset) {
  return static_cast<uint16_t>(read_le(b, offset, 2));
}
uint32_t le32(std::span<const uint8_t> b, size_t offset) {
  return static_cast<uint32_t>(read_le(b, offset, 4));
}
uint64_t le64(std::span<const uint8_t> b, size_t offset) { return read_le(b, offset, 8); }

// A [base, base + size) range of guest RAM; base + size never wraps.
struct Span {
  uint64_t base = 0;
  uint64_t size = 0;
  [[nodiscard]] uint64_t end() const { return base + size; }
  [[nodiscard]] bool overlaps(Span other) const {
    return size != 0 && other.size != 0 && base < other.end() && other.base < end();
  }
};

struct Ram {
  uint64_t base = 0;
  uint64_t end = 0;
  [[nodiscard]] uint64_t size() const { return end - base; }
  [[nodiscard]] bool holds(uint64_t base_ipa, uint64_t size) const {
    return base_ipa >= base && base_ipa <= end && size <= end - base_ipa;
  }
};

// `value` rounded up to `align` (a power of two), false if that wraps.
bool align_up_checked(uint64_t value, uint64_t align, uint64_t* out) {
  uint64_t bumped = 0;
  if (!mm::checked_add(value, align - 1, &bumped)) return false;
  *out = mm::align_down(bumped, align);
  return true;
}

uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

void add_copy(GuestBootPlan* plan, uint64_t file_offset, uint64_t file_size, uint64_t ipa,
              uint64_t mem_size) {
  PayloadCopy& copy = plan->copies[plan->copy_count++];
  copy.file_offset = file_offset;
  copy.file_size = file_size;
  copy.ipa = mm::IntermediatePhysAddr(ipa);
  copy.mem_size = mem_size;
}

Span copy_span(const PayloadCopy& copy) { return Span{copy.ipa.value(), copy.mem_size}; }

// The highest end of any kernel copy.
uint64_t image_high(const GuestBootPlan& plan) {
  uint64_t high = 0;
  for (size_t i = 0; i < plan.copy_count; ++i) high = max_u64(high, copy_span(plan.copies[i]).end());
  return high;
}

// Where QEMU starts looking for the initrd: RAM base + min(RAM / 2, 128 MiB).
uint64_t default_initrd_start(Ram ram) { return ram.base + min_u64(ram.size() / 2, kInitrdMaxOffset); }

// A DTB slot at `ipa` (already aligned): 2 MiB, or what is left of RAM if
// less, but at least kGuestDtbMinSize.
Status<PayloadError> place_dtb(Ram ram, uint64_t ipa, GuestBootPlan* plan) {
  if (ipa >= ram.end || ram.end - ipa < kGuestDtbMinSize) return Err{PayloadError::kDoesNotFit};
  plan->dtb = mm::IntermediatePhysAddr(ipa);
  plan->dtb_size = min_u64(kGuestDtbMaxSize, ram.end - ipa);
  return Ok{};
}

Status<PayloadError> place_initrd(Ram ram, uint64_t start, uint64_t size, GuestBootPlan* plan) {
  if (size == 0) return Ok{};
  if (!ram.holds(start, size)) return Err{PayloadError::kDoesNotFit};
  plan->initrd = mm::IntermediatePhysAddr(start);
  plan->initrd_size = size;
  return Ok{};
}

// QEMU's Linux path (Image and raw files): the initrd after the kernel,
// the DTB after the initrd.
Status<PayloadError> place_linux_extras(Ram ram, uint64_t ramdisk_size, GuestBootPlan* plan) {
  uint64_t initrd = 0;
  if (!align_up_checked(max_u64(default_initrd_start(ram), image_high(*plan)), mm::kPageSize, &initrd)) {
    return Err{PayloadError::kDoesNotFit};
  }
  TRY(place_initrd(ram, initrd, ramdisk_size, plan));
  uint64_t dtb = 0;
  if (!align_up_checked(initrd + ramdisk_size, kDtbAlignment, &dtb)) return Err{PayloadError::kDoesNotFit};
  return place_dtb(ram, dtb, plan);
}

// One kernel copy of `mem_size` bytes at RAM base + `offset`.
Status<PayloadError> place_single_copy(Ram ram, std::span<const uint8_t> kernel, uint64_t offset,
                                       uint64_t mem_size, GuestBootPlan* plan) {
  if (offset > ram.size()) return Err{PayloadError::kDoesNotFit};
  const uint64_t entry = ram.base + offset;  // <= ram.end: no wrap
  if (!ram.holds(entry, mem_size)) return Err{PayloadError::kDoesNotFit};
  if (!mm::is_aligned(entry, kInstructionAlignment)) return Err{PayloadError::kBadEntry};
  add_copy(plan, 0, kernel.size(), entry, mem_size);
  plan->entry = mm::IntermediatePhysAddr(entry);
  return Ok{};
}

Status<PayloadError> plan_image(std::span<const uint8_t> kernel, Ram ram, uint64_t ramdisk_size,
                                GuestBootPlan* plan) {
  plan->kind = PayloadKind::kLinuxImage;
  const uint64_t flags = le64(kernel, offsetof(boot::ImageHeader, flags));
  if ((flags & boot::kImageFlagBigEndian) != 0) return Err{PayloadError::kBigEndian};

  // booting.rst: "image_size ... Prior to v3.17, ... image_size is zero and
  // text_offset is 0x80000"; image_size covers BSS, so the reservation is
  // the larger of it and the file.
  const uint64_t text_offset = le64(kernel, offsetof(boot::ImageHeader, text_offset));
  const uint64_t image_size = le64(kernel, offsetof(boot::ImageHeader, image_size));
  uint64_t offset = kRawLoadOffset;
  uint64_t mem_size = kernel.size();
  if (image_size != 0) {
    offset = text_offset;
    if (offset < kQemuBootStubSize) offset += kImageBaseAlignment;
    mem_size = max_u64(image_size, kernel.size());
  }
  TRY(place_single_copy(ram, kernel, offset, mem_size, plan));
  return place_linux_extras(ram, ramdisk_size, plan);
}

Status<PayloadError> plan_raw(std::span<const uint8_t> kernel, Ram ram, uint64_t ramdisk_size,
                              GuestBootPlan* plan) {
  plan->kind = PayloadKind::kRaw;
  TRY(place_single_copy(ram, kernel, kRawLoadOffset, kernel.size(), plan));
  return place_linux_extras(ram, ramdisk_size, plan);
}

// The ELF identification and header, up to the program headers.
Status<PayloadError> check_elf_header(std::span<const uint8_t> kernel) {
  if (kernel.size() < kEiNident) return Err{PayloadError::kBadElf};
  const uint8_t elf_class = kernel[kEiClass];
  const uint8_t data = kernel[kEiData];
  if (elf_class == kElfClass32) return Err{PayloadError::kAArch32};
  if (elf_class != kElfClass64) return Err{PayloadError::kBadElf};
  if (data == kElfData2Msb) return Err{PayloadError::kBigEndian};
  if (data != kElfData2Lsb || kernel[kEiVersion] != kEvCurrent) return Err{PayloadError::kBadElf};
  if (kernel.size() < Elf64Ehdr::kSize) return Err{PayloadError::kBadElf};

  const uint16_t machine = le16(kernel, Elf64Ehdr::kMachine);
  if (machine == kEmArm) return Err{PayloadError::kAArch32};
  if (machine != kEmAarch64) return Err{PayloadError::kNotAArch64};
  const uint16_t type = le16(kernel, Elf64Ehdr::kType);
  if (type != kEtExec && type != kEtDyn) return Err{PayloadError::kBadElf};
  if (le32(kernel, Elf64Ehdr::kVersion) != kEvCurrent) return Err{PayloadError::kBadElf};
  return Ok{};
}

Status<PayloadError> plan_elf(std::span<const uint8_t> kernel, Ram ram, uint64_t ramdisk_size,
                              GuestBootPlan* plan) {
  plan->kind = PayloadKind::kElf;
  TRY(check_elf_header(kernel));

  const uint64_t phoff = le64(kernel, Elf64Ehdr::kPhoff);
  const uint16_t phentsize = le16(kernel, Elf64Ehdr::kPhentsize);
  const uint16_t phnum = le16(kernel, Elf64Ehdr::kPhnum);
  if (phnum == kPnXnum) return Err{PayloadError::kTooManySegments};
  if (phnum == 0 || phentsize < Elf64Phdr::kSize) return Err{PayloadError::kBadElf};
  // phnum * phentsize < 2^32: no overflow; phoff + table may.
  uint64_t table_end = 0;
  if (!mm::checked_add(phoff, uint64_t{phnum} * phentsize, &table_end) || table_end > kernel.size()) {
    return Err{PayloadError::kBadElf};
  }

  for (uint64_t i = 0; i < phnum; ++i) {
    const auto ph = static_cast<size_t>(phoff + i * phentsize);
    if (le32(kernel, ph + Elf64Phdr::kType) != kPtLoad) continue;
    const uint64_t offset = le64(kernel, ph + Elf64Phdr::kOffset);
    const uint64_t paddr = le64(kernel, ph + Elf64Phdr::kPaddr);
    const uint64_t filesz = le64(kernel, ph + Elf64Phdr::kFilesz);
    const uint64_t memsz = le64(kernel, ph + Elf64Phdr::kMemsz);
    uint64_t file_end = 0;
    uint64_t mem_end = 0;
    if (filesz > memsz) return Err{PayloadError::kBadElf};
    // A segment with no file bytes (pure BSS) reads nothing: its p_offset does not matter.
    if (filesz != 0 && (!mm::checked_add(offset, filesz, &file_end) || file_end > kernel.size())) {
      return Err{PayloadError::kBadElf};
    }
    if (!mm::checked_add(paddr, memsz, &mem_end)) return Err{PayloadError::kBadElf};
    if (memsz == 0) continue;  // occupies nothing
    if (!ram.holds(paddr, memsz)) return Err{PayloadError::kOutsideRam};
    const Span segment{paddr, memsz};
    for (size_t j = 0; j < plan->copy_count; ++j) {
      if (segment.overlaps(copy_span(plan->copies[j]))) return Err{PayloadError::kOverlap};
    }
    if (plan->copy_count == kMaxPayloadCopies) return Err{PayloadError::kTooManySegments};
    add_copy(plan, filesz != 0 ? offset : 0, filesz, paddr, memsz);
  }
  if (plan->copy_count == 0) return Err{PayloadError::kBadElf};

  const uint64_t entry = le64(kernel, Elf64Ehdr::kEntry);
  bool entry_loaded = false;
  uint64_t low = UINT64_MAX;
  for (size_t i = 0; i < plan->copy_count; ++i) {
    const Span segment = copy_span(plan->copies[i]);
    entry_loaded = entry_loaded || (entry >= segment.base && entry < segment.end());
    low = min_u64(low, segment.base);
  }
  if (!entry_loaded || !mm::is_aligned(entry, kInstructionAlignment)) return Err{PayloadError::kBadEntry};
  plan->entry = mm::IntermediatePhysAddr(entry);
  const uint64_t high = image_high(*plan);

  // DTB at RAM base if it fits below the image (QEMU arm_setup_direct_kernel_boot:
  // dtb_start = loader_start, dtb_limit = the image's lowest address).
  const bool dtb_at_base = low - ram.base >= kGuestDtbMinSize;
  Span dtb_slot;
  if (dtb_at_base) {
    TRY(place_dtb(Ram{ram.base, low}, ram.base, plan));
    dtb_slot = Span{plan->dtb.value(), plan->dtb_size};
  }

  uint64_t initrd = 0;
  if (ramdisk_size != 0) {
    if (!align_up_checked(default_initrd_start(ram), mm::kPageSize, &initrd)) {
      return Err{PayloadError::kDoesNotFit};
    }
    bool clear = !Span{initrd, ramdisk_size}.overlaps(dtb_slot);
    for (size_t i = 0; i < plan->copy_count && clear; ++i) {
      clear = !Span{initrd, ramdisk_size}.overlaps(copy_span(plan->copies[i]));
    }
    if (!clear && !align_up_checked(high, mm::kPageSize, &initrd)) return Err{PayloadError::kDoesNotFit};
    TRY(place_initrd(ram, initrd, ramdisk_size, plan));
  }
  if (dtb_at_base) return Ok{};

  uint64_t dtb = 0;
  if (!align_up_checked(max_u64(high, ramdisk_size != 0 ? initrd + ramdisk_size : 0), kDtbAlignment, &dtb)) {
    return Err{PayloadError::kDoesNotFit};
  }
  return place_dtb(ram, dtb, plan);
}

bool is_elf(std::span<const uint8_t> k) {
  return k.size() >= 4 && k[0] == 0x7f && k[1] == 'E' && k[2] == 'L' && k[3] == 'F';
}

// The magic alone (QEMU looks no further); the rest of the header must be
// there too (plan_image).
bool has_image_magic(std::span<const uint8_t> k) {
  constexpr size_t kMagic = offsetof(boot::ImageHeader, magic);
  return k.size() >= kMagic + 4 && le32(k, kMagic) == boot::kImageMagic;
}

bool is_compressed(std::span<const uint8_t> k) {
  const bool gzip = k.size() >= 2 && k[0] == kGzipId1 && k[1] == kGzipId2;
  const bool zboot = k.size() >= kZbootMagicOffset + 4 && k[0] == 'M' && k[1] == 'Z' &&
                     k[kZbootMagicOffset] == 'z' && k[kZbootMagicOffset + 1] == 'i' &&
                     k[kZbootMagicOffset + 2] == 'm' && k[kZbootMagicOffset + 3] == 'g';
  return gzip || zboot;
}

bool is_arm32_zimage(std::span<const uint8_t> k) {
  return k.size() >= kZImageMagicOffset + 4 && le32(k, kZImageMagicOffset) == kZImageMagic;
}

// Belt and braces over the placement rules: nothing overlaps, all in RAM.
Status<PayloadError> check_plan(const GuestBootPlan& plan, Ram ram) {
  Span spans[kMaxPayloadCopies + 2];
  size_t count = 0;
  for (size_t i = 0; i < plan.copy_count; ++i) spans[count++] = copy_span(plan.copies[i]);
  spans[count++] = Span{plan.dtb.value(), plan.dtb_size};
  if (plan.initrd_size != 0) spans[count++] = Span{plan.initrd.value(), plan.initrd_size};
  for (size_t i = 0; i < count; ++i) {
    if (!ram.holds(spans[i].base, spans[i].size)) return Err{PayloadError::kDoesNotFit};
    for (size_t j = 0; j < i; ++j) {
      if (spans[i].overlaps(spans[j])) return Err{PayloadError::kOverlap};
    }
  }
  return Ok{};
}

}  // namespace

const char* payload_kind_name(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kLinuxImage:
      return "Linux arm64 Image";
    case PayloadKind::kElf:
      return "ELF";
    case PayloadKind::kRaw:
      return "raw binary";
  }
  return "unknown";
}

const char* payload_error_name(PayloadError e) {
  switch (e) {
    case PayloadError::kBadRam:
      return "the guest RAM range is empty, wraps, or is not 2 MiB aligned with a whole number of pages";
    case PayloadError::kEmpty:
      return "the kernel file is empty";
    case PayloadError::kCompressed:
      return "the kernel is compressed (gzip or EFI zboot): decompress it before loading";
    case PayloadError::kAArch32:
      return "32-bit (AArch32) guests are not supported";
    case PayloadError::kBigEndian:
      return "big-endian guests are not supported";
    case PayloadError::kNotAArch64:
      return "the ELF file is not for AArch64 (e_machine is not EM_AARCH64)";
    case PayloadError::kBadImage:
      return "the arm64 Image header is truncated (fewer than 64 bytes)";
    case PayloadError::kBadElf:
      return "the ELF file is malformed (truncated or out-of-bounds headers or segments)";
    case PayloadError::kTooManySegments:
      return "the ELF file has more than 16 loadable segments";
    case PayloadError::kBadEntry:
      return "the entry point is misaligned or outside every loaded segment";
    case PayloadError::kOutsideRam:
      return "an ELF segment lies outside guest RAM";
    case PayloadError::kDoesNotFit:
      return "the kernel, initrd and DTB do not fit in guest RAM";
    case PayloadError::kOverlap:
      return "ELF segments overlap each other";
  }
  return "unknown payload error";
}

Result<GuestBootPlan, PayloadError> plan_guest_boot(std::span<const uint8_t> kernel, uint64_t ramdisk_size,
                                                    mm::IntermediatePhysAddr ram_base, uint64_t ram_size) {
  uint64_t ram_end = 0;
  if (ram_size == 0 || !mm::checked_add(ram_base.value(), ram_size, &ram_end) ||
      !ram_base.is_aligned(kImageBaseAlignment) || !mm::is_aligned(ram_size, mm::kPageSize)) {
    return Err{PayloadError::kBadRam};
  }
  const Ram ram{ram_base.value(), ram_end};
  if (kernel.empty()) return Err{PayloadError::kEmpty};

  GuestBootPlan plan;
  if (is_elf(kernel)) {
    TRY(plan_elf(kernel, ram, ramdisk_size, &plan));
  } else if (has_image_magic(kernel)) {
    if (kernel.size() < sizeof(boot::ImageHeader)) return Err{PayloadError::kBadImage};
    TRY(plan_image(kernel, ram, ramdisk_size, &plan));
  } else if (is_compressed(kernel)) {
    return Err{PayloadError::kCompressed};
  } else if (is_arm32_zimage(kernel)) {
    return Err{PayloadError::kAArch32};
  } else {
    TRY(plan_raw(kernel, ram, ramdisk_size, &plan));
  }
  TRY(check_plan(plan, ram));
  return plan;
}

}  // namespace lamina::hyp
