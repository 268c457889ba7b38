// The lamina test device: a 4 KiB MMIO window a VM gets when its
// description asks for it (compatible "lamina,test-device"), used by the
// guest test suite (tests/guest) to prove every MMIO access form end to end:
// each width, each offset, sign extension, 32-bit registers, XZR.
//
// Layout (offsets from the window's base; the guest suite mirrors it):
//
//   0x000-0x7ff  pattern     read-only: the byte at offset o is
//                            pattern_byte(o) = (o * 0x1f + 0x80) & 0xff, so a
//                            load of any width at any offset has a value
//                            known in advance, and many bytes have bit 7 set
//                            (sign-extension checks). Writes change nothing
//                            (but are recorded, below).
//   0x800        scratch     64-bit read/write: a store of w bytes at 0x800 +
//                            k writes bytes k .. k+w-1 of the register
//                            (little-endian byte lanes), a load reads them.
//   0x808        last width  read-only: width in bytes of the last write
//   0x810        last value  read-only: value of the last write (its low
//                            `width` bytes)
//   0x818        last offset read-only: offset of the last write
//   0x820        writes      read-only: number of writes so far
//   0x828        reads       read-only: number of reads before this one
//   0x830-0xfff  reserved    reads 0, writes change nothing
//
// Every write, wherever it lands (the pattern and the read-only registers
// included), updates the four "last write"/count registers. The 64-bit
// registers at 0x808-0x828 can be read in narrower pieces too (byte lanes,
// like the scratch register).
//
// Any naturally aligned access of 1, 2, 4 or 8 bytes inside the window is
// accepted; a misaligned one, another width, or an offset outside the
// window aborts (the guest gets a synchronous external abort).
#pragma once

#include <cstdint>

#include "hyp/dev/mmio_device.hpp"

namespace lamina::hyp {

class TestDevice final : public MmioDevice {
 public:
  static constexpr const char* kCompatible = "lamina,test-device";
  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint64_t kPatternEnd = 0x800;
  static constexpr uint64_t kScratch = 0x800;
  static constexpr uint64_t kLastWriteWidth = 0x808;
  static constexpr uint64_t kLastWriteValue = 0x810;
  static constexpr uint64_t kLastWriteOffset = 0x818;
  static constexpr uint64_t kWriteCount = 0x820;
  static constexpr uint64_t kReadCount = 0x828;
  static constexpr uint64_t kRegistersEnd = 0x830;

  [[nodiscard]] static constexpr uint8_t pattern_byte(uint64_t offset) {
    return static_cast<uint8_t>((offset * 0x1f + 0x80) & 0xff);
  }

  constexpr TestDevice() = default;

  [[nodiscard]] MmioResult read(uint64_t offset, unsigned width_bytes, uint64_t* value) override;
  [[nodiscard]] MmioResult write(uint64_t offset, unsigned width_bytes, uint64_t value) override;
  [[nodiscard]] const char* name() const override { return "lamina,test-device"; }

  // Back to the state after creation: scratch, counters and last write 0.
  void reset() {
    scratch_ = 0;
    last_width_ = 0;
    last_value_ = 0;
    last_offset_ = 0;
    writes_ = 0;
    reads_ = 0;
  }

  [[nodiscard]] uint64_t scratch() const { return scratch_; }
  [[nodiscard]] uint64_t write_count() const { return writes_; }
  [[nodiscard]] uint64_t read_count() const { return reads_; }
  [[nodiscard]] uint64_t last_write_width() const { return last_width_; }
  [[nodiscard]] uint64_t last_write_value() const { return last_value_; }
  [[nodiscard]] uint64_t last_write_offset() const { return last_offset_; }

 private:
  uint64_t scratch_ = 0;
  uint64_t last_width_ = 0;
  uint64_t last_value_ = 0;
  uint64_t last_offset_ = 0;
  uint64_t writes_ = 0;
  uint64_t reads_ = 0;
};

}  // namespace lamina::hyp
