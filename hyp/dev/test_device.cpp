#include "hyp/dev/test_device.hpp"

namespace lamina::hyp {

namespace {

constexpr uint64_t kRegisterBytes = 8;

// Naturally aligned, of an MMIO width (a power of two), inside the window.
constexpr bool accepted(uint64_t offset, unsigned width_bytes) {
  return is_mmio_width(width_bytes) && (offset & (width_bytes - 1)) == 0 && offset < TestDevice::kSize;
}

}  // namespace

MmioResult TestDevice::read(uint64_t offset, unsigned width_bytes, uint64_t* value) {
  if (!accepted(offset, width_bytes)) return MmioResult::kExternalAbort;
  uint64_t v = 0;
  if (offset < kPatternEnd) {
    // Little-endian: the byte at the lowest offset is the least significant.
    for (unsigned i = width_bytes; i-- > 0;) v = (v << 8) | pattern_byte(offset + i);
  } else if (offset < kRegistersEnd) {
    const uint64_t reg = offset - offset % kRegisterBytes;
    uint64_t full = 0;
    switch (reg) {
      case kScratch: full = scratch_; break;
      case kLastWriteWidth: full = last_width_; break;
      case kLastWriteValue: full = last_value_; break;
      case kLastWriteOffset: full = last_offset_; break;
      case kWriteCount: full = writes_; break;
      case kReadCount: full = reads_; break;
      default: break;
    }
    v = (full >> (8 * (offset % kRegisterBytes))) & mmio_width_mask(width_bytes);
  }
  ++reads_;
  *value = v;
  return MmioResult::kOk;
}

MmioResult TestDevice::write(uint64_t offset, unsigned width_bytes, uint64_t value) {
  if (!accepted(offset, width_bytes)) return MmioResult::kExternalAbort;
  const uint64_t mask = mmio_width_mask(width_bytes);
  value &= mask;
  if (offset >= kScratch && offset < kScratch + kRegisterBytes) {
    const unsigned shift = static_cast<unsigned>(8 * (offset - kScratch));
    scratch_ = (scratch_ & ~(mask << shift)) | (value << shift);
  }
  last_width_ = width_bytes;
  last_value_ = value;
  last_offset_ = offset;
  ++writes_;
  return MmioResult::kOk;
}

}  // namespace lamina::hyp
