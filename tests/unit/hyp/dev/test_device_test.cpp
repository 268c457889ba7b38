// The lamina test device against its documented layout (hyp/dev/
// test_device.hpp), with the pattern recomputed here byte by byte.
#include "hyp/dev/test_device.hpp"

#include <cstdint>
#include <gtest/gtest.h>

namespace lamina::hyp {
namespace {

uint64_t expected_pattern(uint64_t offset, unsigned width) {
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i)
    v |= uint64_t{static_cast<uint8_t>(((offset + i) * 31 + 128) % 256)} << (8 * i);
  return v;
}

uint64_t rd(TestDevice& d, uint64_t offset, unsigned width) {
  uint64_t v = ~uint64_t{0};
  EXPECT_EQ(d.read(offset, width, &v), MmioResult::kOk) << offset << "/" << width;
  return v;
}

void wr(TestDevice& d, uint64_t offset, unsigned width, uint64_t value) {
  EXPECT_EQ(d.write(offset, width, value), MmioResult::kOk) << offset << "/" << width;
}

TEST(TestDevice, PatternAtEveryOffsetAndWidth) {
  TestDevice d;
  EXPECT_EQ(rd(d, 0, 1), 0x80u);
  EXPECT_EQ(rd(d, 1, 1), 0x9fu);
  EXPECT_EQ(rd(d, 0, 4), 0xddbe'9f80u);
  EXPECT_EQ(rd(d, 0x7f8, 8), expected_pattern(0x7f8, 8));
  unsigned reads = 4;
  for (unsigned width : {1u, 2u, 4u, 8u}) {
    for (uint64_t offset = 0; offset < 0x800; offset += width) {
      ASSERT_EQ(rd(d, offset, width), expected_pattern(offset, width)) << offset << "/" << width;
      ++reads;
    }
  }
  EXPECT_EQ(d.read_count(), reads);
}

TEST(TestDevice, WritesToThePatternAreRecordedNotStored) {
  TestDevice d;
  wr(d, 0x10, 4, 0xffff'ffff);
  EXPECT_EQ(rd(d, 0x10, 4), expected_pattern(0x10, 4));
  EXPECT_EQ(rd(d, 0x808, 8), 4u);
  EXPECT_EQ(rd(d, 0x810, 8), 0xffff'ffffu);
  EXPECT_EQ(rd(d, 0x818, 8), 0x10u);
  EXPECT_EQ(rd(d, 0x820, 8), 1u);
}

TEST(TestDevice, ScratchByteLanes) {
  TestDevice d;
  wr(d, 0x800, 8, 0x1122'3344'5566'7788);
  EXPECT_EQ(rd(d, 0x800, 8), 0x1122'3344'5566'7788u);
  wr(d, 0x803, 1, 0xaa);
  EXPECT_EQ(rd(d, 0x800, 8), 0x1122'3344'aa66'7788u);
  wr(d, 0x806, 2, 0xbeef);
  EXPECT_EQ(rd(d, 0x800, 8), 0xbeef'3344'aa66'7788u);
  wr(d, 0x804, 4, 0x0102'0304);
  EXPECT_EQ(rd(d, 0x800, 8), 0x0102'0304'aa66'7788u);
  EXPECT_EQ(rd(d, 0x804, 4), 0x0102'0304u);
  EXPECT_EQ(rd(d, 0x802, 2), 0xaa66u);
  EXPECT_EQ(rd(d, 0x807, 1), 0x01u);
  EXPECT_EQ(d.scratch(), 0x0102'0304'aa66'7788u);
}

TEST(TestDevice, LastWriteAndCounters) {
  TestDevice d;
  EXPECT_EQ(rd(d, 0x828, 8), 0u) << "reads before this one";
  EXPECT_EQ(rd(d, 0x828, 8), 1u);
  wr(d, 0x806, 2, 0x1234);
  EXPECT_EQ(rd(d, 0x808, 8), 2u);
  EXPECT_EQ(rd(d, 0x810, 8), 0x1234u);
  EXPECT_EQ(rd(d, 0x818, 8), 0x806u);
  EXPECT_EQ(rd(d, 0x820, 8), 1u);
  // A write to a read-only register is recorded and changes nothing else.
  wr(d, 0x820, 8, 99);
  EXPECT_EQ(rd(d, 0x820, 8), 2u);
  EXPECT_EQ(rd(d, 0x818, 8), 0x820u);
  EXPECT_EQ(rd(d, 0x810, 8), 99u);
  // Narrow reads of the 64-bit registers: byte lanes.
  EXPECT_EQ(rd(d, 0x818, 1), 0x20u);
  EXPECT_EQ(rd(d, 0x819, 1), 0x08u);
  EXPECT_EQ(rd(d, 0x81c, 4), 0u);
  // The value is the low `width` bytes only.
  wr(d, 0xff0, 1, 0xabcd);
  EXPECT_EQ(rd(d, 0x810, 8), 0xcdu);
  EXPECT_EQ(rd(d, 0x808, 4), 1u);
  EXPECT_EQ(d.write_count(), 3u);
  EXPECT_EQ(d.last_write_offset(), 0xff0u);
  // Reserved space reads 0.
  EXPECT_EQ(rd(d, 0x830, 8), 0u);
  EXPECT_EQ(rd(d, 0xff8, 8), 0u);
  d.reset();
  EXPECT_EQ(rd(d, 0x820, 8), 0u);
  EXPECT_EQ(rd(d, 0x800, 8), 0u);
}

TEST(TestDevice, UnsupportedAccessesAbortAndAreNotCounted) {
  TestDevice d;
  uint64_t v = 0;
  EXPECT_EQ(d.read(0x801, 2, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(d.read(0x804, 8, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(d.read(0x0, 3, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(d.read(0x1000, 1, &v), MmioResult::kExternalAbort);
  EXPECT_EQ(d.write(0x802, 4, 0), MmioResult::kExternalAbort);
  EXPECT_EQ(d.write(0x1000, 8, 0), MmioResult::kExternalAbort);
  EXPECT_EQ(d.read_count(), 0u);
  EXPECT_EQ(d.write_count(), 0u);
}

constinit TestDevice g_static_device;  // no constructor code needed

TEST(TestDevice, StaticInstance) { EXPECT_EQ(rd(g_static_device, 0, 1), 0x80u); }

static_assert(TestDevice::pattern_byte(0) == 0x80);
static_assert(TestDevice::pattern_byte(0x7ff) == ((0x7ff * 31 + 128) & 0xff));

}  // namespace
}  // namespace lamina::hyp
