// decode_mmio_access and the load/store register helpers, exhaustively over
// access width x SSE x SF x Rt (including 31 = XZR/WZR), plus ISV = 0.
#include "hyp/lib/mmio_access.hpp"

#include <cstdint>
#include <gtest/gtest.h>

namespace lamina {
namespace {

using arch::DataAbort;
using arch::EsrEl2;
using mm::IntermediatePhysAddr;

// A guest data abort (EC 0x24, IL 1) with ISV 1 and the given syndrome,
// built from DDI 0487 K.a D23.2 "ESR_EL2", ISS encoding for a Data Abort.
DataAbort abort_with(unsigned sas, bool sse, unsigned srt, bool sf, bool ar, bool wnr) {
  const uint64_t iss = (uint64_t{1} << 24) | (uint64_t{sas} << 22) | (uint64_t{sse} << 21) |
                       (uint64_t{srt} << 16) | (uint64_t{sf} << 15) | (uint64_t{ar} << 14) |
                       (uint64_t{wnr} << 6) | 0b000111;
  const auto r = DataAbort::from(EsrEl2::from_raw((uint64_t{0x24} << 26) | (uint64_t{1} << 25) | iss));
  EXPECT_TRUE(r.ok());
  return r.value();
}

// The architectural result, computed independently by sign-extending with
// signed integer types.
uint64_t expected_load(unsigned bytes, bool sse, bool sf, uint64_t device) {
  uint64_t v = 0;
  switch (bytes) {
    case 1:
      v = sse ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(device))) : uint8_t(device);
      break;
    case 2:
      v = sse ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(device))) : uint16_t(device);
      break;
    case 4:
      v = sse ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(device))) : uint32_t(device);
      break;
    default:
      v = device;
      break;
  }
  return sf ? v : static_cast<uint32_t>(v);
}

TEST(DecodeMmioAccess, StrW3IsAFourByteWriteOfW3) {
  // STR W3, [X1]: ESR 0x93830047.
  const auto da = DataAbort::from(EsrEl2::from_raw(0x9383'0047));
  ASSERT_TRUE(da.ok());
  const auto r = decode_mmio_access(da.value(), IntermediatePhysAddr(0x0900'0000));
  ASSERT_TRUE(r.ok());
  const MmioAccess& a = r.value();
  EXPECT_EQ(a.ipa, IntermediatePhysAddr(0x0900'0000));
  EXPECT_EQ(a.width_bytes, 4);
  EXPECT_TRUE(a.is_write);
  EXPECT_EQ(a.reg, 3);
  EXPECT_FALSE(a.sign_extend);
  EXPECT_FALSE(a.sixty_four_bit_reg);
  EXPECT_FALSE(a.acquire_release);
  EXPECT_EQ(mmio_store_value(a, 0xdead'beef'1234'5678), 0x1234'5678u);
}

TEST(DecodeMmioAccess, NoSyndromeIsAnError) {
  // LDP X0, X1, [X2] (ISV 0), with and without FnV.
  for (uint64_t raw : {uint64_t{0x9200'0007}, uint64_t{0x9200'0407}}) {
    const auto da = DataAbort::from(EsrEl2::from_raw(raw));
    ASSERT_TRUE(da.ok());
    const auto r = decode_mmio_access(da.value(), IntermediatePhysAddr(0x1000));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), MmioDecodeError::kNoSyndrome);
  }
}

TEST(DecodeMmioAccess, Stage1TableWalkIsAnError) {
  const auto da = DataAbort::from(EsrEl2::from_raw(0x9383'0047 | (1u << 7)));
  ASSERT_TRUE(da.ok());
  const auto r = decode_mmio_access(da.value(), IntermediatePhysAddr(0x1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), MmioDecodeError::kStage1TableWalk);
}

TEST(MmioAccess, ExhaustiveWidthSignExtendSfRegister) {
  const unsigned kBytes[] = {1, 2, 4, 8};
  const uint64_t kDevice[] = {0,
                              0x7f,
                              0x80,
                              0xff,
                              0x7fff,
                              0x8000,
                              0xffff,
                              0x7fff'ffff,
                              0x8000'0000,
                              0xffff'ffff,
                              0x8000'0000'0000'0000,
                              0x0123'4567'89ab'cdef,
                              0xfedc'ba98'7654'3210,
                              ~uint64_t{0}};
  const uint64_t kRegValue = 0xa5a5'5a5a'c3c3'3c3c;
  for (unsigned sas = 0; sas < 4; ++sas)
    for (bool sse : {false, true})
      for (bool sf : {false, true})
        for (bool ar : {false, true})
          for (bool wnr : {false, true})
            for (unsigned srt = 0; srt < 32; ++srt) {
              SCOPED_TRACE(testing::Message() << "sas " << sas << " sse " << sse << " sf " << sf << " ar "
                                              << ar << " wnr " << wnr << " srt " << srt);
              const IntermediatePhysAddr ipa(0x0800'0000 + 8 * srt);
              const auto r = decode_mmio_access(abort_with(sas, sse, srt, sf, ar, wnr), ipa);
              ASSERT_TRUE(r.ok());
              const MmioAccess& a = r.value();
              const unsigned bytes = kBytes[sas];
              EXPECT_EQ(a.ipa, ipa);
              EXPECT_EQ(a.width_bytes, bytes);
              EXPECT_EQ(a.is_write, wnr);
              EXPECT_EQ(a.reg, srt);
              EXPECT_EQ(a.sign_extend, sse);
              EXPECT_EQ(a.sixty_four_bit_reg, sf);
              EXPECT_EQ(a.acquire_release, ar);
              for (uint64_t device : kDevice) {
                const uint64_t got = mmio_load_result(a, device);
                EXPECT_EQ(got, expected_load(bytes, sse, sf, device)) << std::hex << device;
                if (!sf) {
                  EXPECT_EQ(got >> 32, 0u) << "a W-register write zeroes bits [63:32]";
                }
              }
              const uint64_t width_mask = bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
              EXPECT_EQ(mmio_store_value(a, kRegValue), srt == 31 ? 0 : (kRegValue & width_mask));
              EXPECT_EQ(mmio_store_value(a, ~uint64_t{0}), srt == 31 ? 0 : width_mask);
            }
}

TEST(MmioAccess, SignExtendedByteIntoWRegisterZeroExtendsAbove31) {
  // LDRSB W0, [X1] reading 0x80: W0 = 0xffffff80, X0[63:32] = 0.
  MmioAccess a;
  a.width_bytes = 1;
  a.sign_extend = true;
  a.sixty_four_bit_reg = false;
  EXPECT_EQ(mmio_load_result(a, 0x80), 0xffff'ff80u);
  // LDRSB X0: sign-extends to 64 bits.
  a.sixty_four_bit_reg = true;
  EXPECT_EQ(mmio_load_result(a, 0x80), 0xffff'ffff'ffff'ff80u);
  // LDRSW X0 of 0x8000_0000.
  a.width_bytes = 4;
  EXPECT_EQ(mmio_load_result(a, 0x1'8000'0000), 0xffff'ffff'8000'0000u);
}

}  // namespace
}  // namespace lamina
