// Tests for boot/image_header: the Linux arm64 Image header constants
// (Documentation/arch/arm64/booting.rst), validate_image on crafted headers,
// and the real build/lamina.bin.
#include "boot/image_header.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace lamina::boot {
namespace {

TEST(ImageHeader, Constants) {
  EXPECT_EQ(kImageMagic, 0x644d5241u);
  EXPECT_EQ(std::memcmp(&kImageMagic, "ARM\x64", 4), 0) << "little-endian host";
  EXPECT_EQ(kImageFlags, 0xau) << "LE (bit 0 = 0), 4K pages (bits 2:1 = 1), place anywhere (bit 3)";
  EXPECT_EQ(kImageFlagBigEndian, 0x1u);
  EXPECT_EQ(kImageFlagPageSize4K, 0x2u);
  EXPECT_EQ(kImageFlagPageSizeMask, 0x6u);
  EXPECT_EQ(kImageFlagAnywhere, 0x8u);
  EXPECT_EQ(kImageTextOffset, 0u);
  EXPECT_EQ(kImageBaseAlignment, uint64_t{2} << 20);
  EXPECT_EQ(sizeof(ImageHeader), 64u);
  EXPECT_EQ(offsetof(ImageHeader, code0), 0u);
  EXPECT_EQ(offsetof(ImageHeader, code1), 4u);
  EXPECT_EQ(offsetof(ImageHeader, res2), 32u);
  EXPECT_EQ(offsetof(ImageHeader, res5), 60u);
}

// A valid image of `file_size` bytes: the header, then zeros.
std::vector<uint8_t> image(size_t file_size = 4096) {
  ImageHeader h{};
  h.code0 = 0x1400'0010;  // b +0x40
  h.text_offset = kImageTextOffset;
  h.image_size = 0x1'0000;
  h.flags = kImageFlags;
  h.magic = kImageMagic;
  std::vector<uint8_t> bytes(file_size);
  std::memcpy(bytes.data(), &h, file_size < sizeof h ? file_size : sizeof h);
  return bytes;
}

template <typename F>
std::vector<uint8_t> image_with(F&& edit, size_t file_size = 4096) {
  std::vector<uint8_t> bytes = image(file_size);
  ImageHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  edit(h);
  std::memcpy(bytes.data(), &h, sizeof h);
  return bytes;
}

ImageHeaderError check(const std::vector<uint8_t>& bytes) { return validate_image(bytes.data(), bytes.size()); }

TEST(ValidateImage, AcceptsAWellFormedHeader) {
  EXPECT_EQ(check(image()), ImageHeaderError::kNone);
  EXPECT_EQ(check(image(64)), ImageHeaderError::kNone) << "just the header";
  EXPECT_EQ(check(image(0x1'0000)), ImageHeaderError::kNone) << "image_size == file size";
  // Other branch offsets, including backwards (imm26 negative).
  EXPECT_EQ(check(image_with([](ImageHeader& h) { h.code0 = 0x17ff'ffff; })), ImageHeaderError::kNone);
  EXPECT_EQ(check(image_with([](ImageHeader& h) { h.code0 = 0x1400'0000; })), ImageHeaderError::kNone);
}

TEST(ValidateImage, TooShort) {
  const std::vector<uint8_t> full = image();
  for (size_t size : {size_t{0}, size_t{1}, size_t{56}, size_t{63}})
    EXPECT_EQ(validate_image(full.data(), size), ImageHeaderError::kTooShort) << size;
  EXPECT_EQ(validate_image(nullptr, 0), ImageHeaderError::kTooShort);
}

TEST(ValidateImage, EachErrorOnItsOwn) {
  struct Case {
    const char* what;
    void (*edit)(ImageHeader&);
    ImageHeaderError expected;
  };
  const Case cases[] = {
      {"magic", [](ImageHeader& h) { h.magic = 0x644d5242; }, ImageHeaderError::kBadMagic},
      {"magic byte-swapped", [](ImageHeader& h) { h.magic = 0x41524d64; }, ImageHeaderError::kBadMagic},
      {"big-endian", [](ImageHeader& h) { h.flags |= kImageFlagBigEndian; }, ImageHeaderError::kBigEndian},
      {"page size unspecified", [](ImageHeader& h) { h.flags &= ~kImageFlagPageSizeMask; },
       ImageHeaderError::kNot4KPages},
      {"16K pages", [](ImageHeader& h) { h.flags = (h.flags & ~kImageFlagPageSizeMask) | (uint64_t{2} << 1); },
       ImageHeaderError::kNot4KPages},
      {"64K pages", [](ImageHeader& h) { h.flags = (h.flags & ~kImageFlagPageSizeMask) | (uint64_t{3} << 1); },
       ImageHeaderError::kNot4KPages},
      {"no place-anywhere", [](ImageHeader& h) { h.flags &= ~kImageFlagAnywhere; },
       ImageHeaderError::kNotPlaceAnywhere},
      {"image_size 0", [](ImageHeader& h) { h.image_size = 0; }, ImageHeaderError::kZeroImageSize},
      {"image_size below file", [](ImageHeader& h) { h.image_size = 4095; },
       ImageHeaderError::kImageSizeBelowFileSize},
      {"code0 BL", [](ImageHeader& h) { h.code0 = 0x9400'0010; }, ImageHeaderError::kNotABranch},
      {"code0 NOP", [](ImageHeader& h) { h.code0 = 0xd503'201f; }, ImageHeaderError::kNotABranch},
      {"code0 MZ (EFI stub)", [](ImageHeader& h) { h.code0 = 0xfa40'5a4d; }, ImageHeaderError::kNotABranch},
      {"code0 0", [](ImageHeader& h) { h.code0 = 0; }, ImageHeaderError::kNotABranch},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(check(image_with(c.edit)), c.expected) << c.what;
    EXPECT_STRNE(image_header_error_name(c.expected), "unknown") << c.what;
  }
}

TEST(ValidateImage, ErrorNames) {
  EXPECT_STREQ(image_header_error_name(ImageHeaderError::kNone), "ok");
  EXPECT_STREQ(image_header_error_name(static_cast<ImageHeaderError>(99)), "unknown");
}

// The image `make` builds: what QEMU -kernel, U-Boot booti and the Pi
// firmware will see.
TEST(RealImage, BuiltLaminaBinHasAValidHeader) {
  const std::string path = std::string(LAMINA_BUILD_DIR) + "/lamina.bin";
  std::ifstream file(path, std::ios::binary);
  if (!file) GTEST_SKIP() << path << " does not exist; run `make` to build it";
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), sizeof(ImageHeader));

  const ImageHeaderError e = validate_image(bytes.data(), bytes.size());
  EXPECT_EQ(e, ImageHeaderError::kNone) << image_header_error_name(e);
  ImageHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  EXPECT_EQ(h.magic, kImageMagic);
  EXPECT_EQ(h.flags, kImageFlags);
  EXPECT_EQ(h.text_offset, 0u);
  EXPECT_GE(h.image_size, bytes.size()) << "image_size covers the file (and BSS)";
  EXPECT_EQ(h.image_size % 4096, 0u);
  EXPECT_EQ(h.code0 >> 26, 0b000101u) << "code0 is B imm26";
  // The branch lands inside the image, after the header, forwards.
  const uint32_t imm26 = h.code0 & 0x03ff'ffff;
  ASSERT_EQ(imm26 >> 25, 0u) << "a forward branch";
  const uint64_t target = uint64_t{imm26} * 4;
  EXPECT_GE(target, sizeof(ImageHeader));
  EXPECT_LT(target, bytes.size());
  EXPECT_EQ(h.res5, 0u) << "no PE header";
}

}  // namespace
}  // namespace lamina::boot
