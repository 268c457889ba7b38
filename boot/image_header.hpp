// The 64-byte Linux arm64 Image header that lets QEMU -kernel, U-Boot booti
// and the Raspberry Pi firmware load lamina like a kernel.
// Linux Documentation/arch/arm64/booting.rst, "Call the kernel image".
//
// Architecture-neutral: boot/entry.S emits the header with these constants
// (through the generated asm_offsets.h), and host tests validate both the
// constants and the built build/lamina.bin against this layout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lamina::boot {

struct ImageHeader {
  uint32_t code0;        // a branch to the entry point
  uint32_t code1;
  uint64_t text_offset;  // image load offset from a 2 MiB-aligned base, little-endian
  uint64_t image_size;   // effective image size including BSS, little-endian
  uint64_t flags;
  uint64_t res2;
  uint64_t res3;
  uint64_t res4;
  uint32_t magic;        // "ARM\x64"
  uint32_t res5;         // PE header offset (0: no EFI stub)
};
static_assert(sizeof(ImageHeader) == 64);
static_assert(offsetof(ImageHeader, text_offset) == 8);
static_assert(offsetof(ImageHeader, image_size) == 16);
static_assert(offsetof(ImageHeader, flags) == 24);
static_assert(offsetof(ImageHeader, magic) == 56);

inline constexpr uint32_t kImageMagic = 0x644d5241;  // "ARM\x64" little-endian

// flags, booting.rst: bit 0 endianness (0 = LE), bits 1-2 page size
// (1 = 4K), bit 3 physical placement (1 = "2MB aligned base may be anywhere
// in physical memory"). Without bit 3 U-Boot's booti moves the image to the
// start of DRAM, which on a Raspberry Pi 4 is address 0 and destroys the
// firmware's spin table.
inline constexpr uint64_t kImageFlagBigEndian = uint64_t{1} << 0;
inline constexpr uint64_t kImageFlagPageSize4K = uint64_t{1} << 1;
inline constexpr uint64_t kImageFlagPageSizeMask = uint64_t{3} << 1;
inline constexpr uint64_t kImageFlagAnywhere = uint64_t{1} << 3;
inline constexpr uint64_t kImageFlags = kImageFlagPageSize4K | kImageFlagAnywhere;

// lamina runs from a 2 MiB-aligned base with no extra offset.
inline constexpr uint64_t kImageTextOffset = 0;
inline constexpr uint64_t kImageBaseAlignment = uint64_t{2} << 20;

enum class ImageHeaderError {
  kNone,
  kTooShort,
  kBadMagic,
  kBigEndian,
  kNot4KPages,
  kNotPlaceAnywhere,
  kZeroImageSize,
  kImageSizeBelowFileSize,
  kNotABranch,
};

[[nodiscard]] const char* image_header_error_name(ImageHeaderError e);

// Checks that `bytes` (a whole Image file) starts with a header lamina's
// loaders accept: magic, LE, 4K pages, place-anywhere, an image_size that
// covers at least the file, and code0 an unconditional branch (B imm26).
[[nodiscard]] ImageHeaderError validate_image(const uint8_t* bytes, size_t size);

}  // namespace lamina::boot
