#include "boot/image_header.hpp"

#include <cstring>

namespace lamina::boot {

const char* image_header_error_name(ImageHeaderError e) {
  switch (e) {
    case ImageHeaderError::kNone: return "ok";
    case ImageHeaderError::kTooShort: return "file shorter than the 64-byte header";
    case ImageHeaderError::kBadMagic: return "magic is not ARM\\x64";
    case ImageHeaderError::kBigEndian: return "flags say big-endian";
    case ImageHeaderError::kNot4KPages: return "flags do not say 4K pages";
    case ImageHeaderError::kNotPlaceAnywhere: return "flags lack bit 3 (place anywhere)";
    case ImageHeaderError::kZeroImageSize: return "image_size is 0";
    case ImageHeaderError::kImageSizeBelowFileSize: return "image_size smaller than the file";
    case ImageHeaderError::kNotABranch: return "code0 is not a B instruction";
  }
  return "unknown";
}

ImageHeaderError validate_image(const uint8_t* bytes, size_t size) {
  if (size < sizeof(ImageHeader)) return ImageHeaderError::kTooShort;
  ImageHeader h;
  std::memcpy(&h, bytes, sizeof(h));
  if (h.magic != kImageMagic) return ImageHeaderError::kBadMagic;
  if ((h.flags & kImageFlagBigEndian) != 0) return ImageHeaderError::kBigEndian;
  if ((h.flags & kImageFlagPageSizeMask) != kImageFlagPageSize4K) return ImageHeaderError::kNot4KPages;
  if ((h.flags & kImageFlagAnywhere) == 0) return ImageHeaderError::kNotPlaceAnywhere;
  if (h.image_size == 0) return ImageHeaderError::kZeroImageSize;
  if (h.image_size < size) return ImageHeaderError::kImageSizeBelowFileSize;
  // B imm26: bits [31:26] = 0b000101. DDI 0487 K.a C6.2 "B".
  if ((h.code0 >> 26) != 0b000101) return ImageHeaderError::kNotABranch;
  return ImageHeaderError::kNone;
}

}  // namespace lamina::boot
