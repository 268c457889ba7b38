// Tests for mm/stage2_desc, the stage-2 descriptor codec, against DDI 0487
// K.a D8.3 "Translation table descriptor formats", D8.4.2 "Stage 2 data
// access permissions", D8.4.3 (stage-2 XN[1:0]), D8.5.5/D8.5.6 (stage-2
// MemAttr without and with FEAT_S2FWB).
//
// Every expectation about bit positions below is written from the spec with
// literal masks, not through arch/regs/stage2_desc.hpp, so a wrong layout
// constant fails here instead of agreeing with itself.
#include "mm/stage2_desc.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <optional>
#include <set>
#include <string>

#include "arch/regs/common.hpp"

namespace lamina::mm {
namespace {

using arch::Shareability;

// ---- Descriptor bits, typed in from the Arm ARM's stage-2 figures. ----
constexpr uint64_t kBitValid = uint64_t{1} << 0;
constexpr uint64_t kBitTableOrPage = uint64_t{1} << 1;
constexpr uint64_t kMaskMemAttr = 0x0000'0000'0000'003c;  // MemAttr[3:0], bits [5:2]
constexpr uint64_t kBit5 = uint64_t{1} << 5;              // MemAttr[3] (stage 1 would put NS here)
constexpr uint64_t kMaskS2ap = 0x0000'0000'0000'00c0;     // S2AP[1:0], bits [7:6]
constexpr uint64_t kBitS2apRead = uint64_t{1} << 6;       // S2AP[0]
constexpr uint64_t kBitS2apWrite = uint64_t{1} << 7;      // S2AP[1]
constexpr uint64_t kMaskSh = 0x0000'0000'0000'0300;       // SH[1:0], bits [9:8]
constexpr uint64_t kBitAf = uint64_t{1} << 10;
constexpr uint64_t kBit11 = uint64_t{1} << 11;           // nG at stage 1; RES0 at stage 2
constexpr uint64_t kMaskOutput = 0x0000'ffff'ffff'f000;  // OA[47:12]
constexpr uint64_t kMaskBits50To48 = 0x0007'0000'0000'0000;
constexpr uint64_t kBitDbm = uint64_t{1} << 51;
constexpr uint64_t kBitContiguous = uint64_t{1} << 52;
constexpr uint64_t kBit53 = uint64_t{1} << 53;  // XN[0] (FEAT_XNX)
constexpr uint64_t kBit54 = uint64_t{1} << 54;  // XN[1]
constexpr uint64_t kMaskXn = kBit53 | kBit54;
constexpr uint64_t kMaskSoftware = 0x0780'0000'0000'0000;  // bits [58:55]
constexpr uint64_t kMaskTop = 0xf800'0000'0000'0000;       // bits [63:59]

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint64_t kOutputLimit = uint64_t{1} << 48;

// Entry sizes with the 4K granule, typed in (not via s2_entry_size()).
constexpr uint64_t entry_size(unsigned level) { return level == 1 ? kGiB : level == 2 ? 2 * kMiB : 4 * kKiB; }

constexpr S2MemKind kKinds[] = {S2MemKind::kNormalWriteBack, S2MemKind::kNormalNonCacheable,
                                S2MemKind::kDeviceNgnre, S2MemKind::kDeviceNgnrne};
// All four 2-bit values, the reserved 0b01 included.
constexpr Shareability kAllShareability[] = {Shareability::kNonShareable, static_cast<Shareability>(0b01),
                                             Shareability::kOuterShareable, Shareability::kInnerShareable};
constexpr S2CodecConfig kConfigs[] = {{false, false}, {false, true}, {true, false}, {true, true}};

bool is_device(S2MemKind k) { return k == S2MemKind::kDeviceNgnre || k == S2MemKind::kDeviceNgnrne; }

// MemAttr[3:0] from D8.5.5 (FWB off) and D8.5.6 (FWB on), by kind.
uint64_t expected_mem_attr(S2MemKind kind, bool fwb) {
  switch (kind) {
    case S2MemKind::kNormalWriteBack:
      return fwb ? 0b0110 : 0b1111;
    case S2MemKind::kNormalNonCacheable:
      return 0b0101;
    case S2MemKind::kDeviceNgnre:
      return 0b0001;
    case S2MemKind::kDeviceNgnrne:
      return 0b0000;
  }
  ADD_FAILURE() << "bad kind";
  return 0xff;
}

// XN[1:0] from the D8.4.3 table, written as the table (not as a formula).
uint64_t expected_xn(bool exec_el1, bool exec_el0) {
  if (exec_el1 && exec_el0) return 0b00;
  if (!exec_el1 && exec_el0) return 0b01;  // EL1 may not, EL0 may
  if (!exec_el1 && !exec_el0) return 0b10;
  return 0b11;  // EL1 may, EL0 may not
}

std::string describe(const S2Attrs& a, unsigned level, S2CodecConfig c, uint64_t pa) {
  return "kind=" + std::to_string(static_cast<int>(a.kind)) + " r=" + std::to_string(a.read) +
         " w=" + std::to_string(a.write) + " x1=" + std::to_string(a.exec_el1) +
         " x0=" + std::to_string(a.exec_el0) + " sh=" + std::to_string(static_cast<int>(a.shareability)) +
         " sw=" + std::to_string(a.software) + " level=" + std::to_string(level) +
         " fwb=" + std::to_string(c.fwb) + " xnx=" + std::to_string(c.xnx) + " pa=" + std::to_string(pa);
}

// The refusal an attribute set must get, in the codec's documented order.
std::optional<CodecError> expected_refusal(const S2Attrs& a, unsigned level, S2CodecConfig c) {
  if (level < 1 || level > 3) return CodecError::kBadLevel;
  if (a.software > 0xf) return CodecError::kSoftwareBitsTooWide;
  if (static_cast<uint64_t>(a.shareability) == 0b01) return CodecError::kBadShareability;
  if (is_device(a.kind) && (a.exec_el1 || a.exec_el0)) return CodecError::kExecutableDevice;
  if (!c.xnx && a.exec_el1 != a.exec_el0) return CodecError::kExecSplitUnsupported;
  return std::nullopt;
}

// Checks one accepted encoding field by field with the literal masks.
void check_raw(uint64_t raw, const S2Attrs& a, unsigned level, S2CodecConfig c, uint64_t pa) {
  EXPECT_EQ(raw & (kBitValid | kBitTableOrPage), level == 3 ? 0b11u : 0b01u) << "descriptor type";
  EXPECT_EQ((raw & kMaskMemAttr) >> 2, expected_mem_attr(a.kind, c.fwb)) << "MemAttr in bits [5:2]";
  EXPECT_EQ((raw & kBitS2apRead) != 0, a.read) << "S2AP[0] is read";
  EXPECT_EQ((raw & kBitS2apWrite) != 0, a.write) << "S2AP[1] is write";
  const uint64_t sh = is_device(a.kind) ? 0b10 : static_cast<uint64_t>(a.shareability);
  EXPECT_EQ((raw & kMaskSh) >> 8, sh) << "SH[9:8]";
  EXPECT_NE(raw & kBitAf, 0u) << "AF set";
  EXPECT_EQ(raw & kBit11, 0u) << "bit 11 (no nG at stage 2)";
  EXPECT_EQ(raw & kMaskOutput, pa) << "OA[47:12]";
  EXPECT_EQ(raw & (kMaskBits50To48 | kBitDbm | kBitContiguous), 0u);
  EXPECT_EQ((raw & kMaskXn) >> 53, expected_xn(a.exec_el1, a.exec_el0)) << "XN[54:53]";
  if (!c.xnx) {
    EXPECT_EQ(raw & kBit53, 0u) << "bit 53 RES0 without FEAT_XNX";
  }
  EXPECT_EQ((raw & kMaskSoftware) >> 55, a.software) << "software bits [58:55]";
  EXPECT_EQ(raw & kMaskTop, 0u) << "bits [63:59]";
  const uint64_t known = kBitValid | kBitTableOrPage | kMaskMemAttr | kMaskS2ap | kMaskSh | kBitAf |
                         kMaskOutput | kMaskXn | kMaskSoftware;
  EXPECT_EQ(raw & ~known, 0u) << "no undeclared bit set";
}

// ---- The exhaustive sweep. ----

// Every kind x R x W x X(EL1) x X(EL0) x shareability (reserved included) x
// software 0..15 x level 0..4 x {fwb, xnx}, at two output addresses per
// level: each is either refused with exactly the expected error, or encodes
// to the expected bits and decodes back to its canonical form.
TEST(Stage2DescCodec, EveryCombinationIsRefusedOrRoundTripsBitExactly) {
  uint64_t accepted = 0;
  uint64_t refused = 0;
  for (S2CodecConfig c : kConfigs)
    for (unsigned level = 0; level <= 4; ++level) {
      const uint64_t size = entry_size(level == 0 || level == 4 ? 3 : level);
      const uint64_t pas[] = {0x0000'b6db'6db6'd000 & ~(size - 1), kOutputLimit - size};
      for (uint64_t pa : pas)
        for (S2MemKind kind : kKinds)
          for (unsigned perms = 0; perms < 16; ++perms)
            for (Shareability sh : kAllShareability)
              for (unsigned sw = 0; sw <= 0xf; ++sw) {
                S2Attrs a;
                a.kind = kind;
                a.read = (perms & 1) != 0;
                a.write = (perms & 2) != 0;
                a.exec_el1 = (perms & 4) != 0;
                a.exec_el0 = (perms & 8) != 0;
                a.shareability = sh;
                a.software = static_cast<uint8_t>(sw);
                const auto r = encode_leaf(PhysAddr(pa), level, a, c);
                const std::optional<CodecError> want = expected_refusal(a, level, c);
                if (want) {
                  ++refused;
                  ASSERT_FALSE(r.ok()) << describe(a, level, c, pa);
                  ASSERT_EQ(r.error(), *want) << describe(a, level, c, pa);
                  continue;
                }
                ++accepted;
                ASSERT_TRUE(r.ok()) << describe(a, level, c, pa) << ": " << codec_error_name(r.error());
                const uint64_t raw = r.value().raw();
                SCOPED_TRACE(describe(a, level, c, pa));
                check_raw(raw, a, level, c, pa);
                EXPECT_EQ(classify(raw, level), level == 3 ? S2DescKind::kPage : S2DescKind::kBlock);
                const auto d = decode_leaf(raw, level, c);
                ASSERT_TRUE(d.ok()) << codec_error_name(d.error());
                EXPECT_EQ(d.value().output.value(), pa);
                EXPECT_FALSE(d.value().contiguous);
                EXPECT_TRUE(d.value().attrs == canonical_s2_attrs(a));
                if (!is_device(kind)) {
                  EXPECT_TRUE(d.value().attrs == a) << "normal memory: exact";
                }
                // Re-encoding the decoded form gives the same bits.
                const auto again = encode_leaf(d.value().output, level, d.value().attrs, c);
                ASSERT_TRUE(again.ok());
                EXPECT_EQ(again.value().raw(), raw);
              }
    }
  // Accepted per config, level 1..3, address, sw: normal kinds 2 x 4 (R, W)
  // x 3 shareabilities x execs (4 with XNX, 2 without); device kinds 2 x 4 x
  // 3 shareabilities (any non-reserved value, written as OSH) x 1 exec.
  const uint64_t per_cell_xnx = 2 * 4 * 3 * 4 + 2 * 4 * 3 * 1;
  const uint64_t per_cell_no_xnx = 2 * 4 * 3 * 2 + 2 * 4 * 3 * 1;
  EXPECT_EQ(accepted, (per_cell_xnx + per_cell_no_xnx) * 2 /*fwb*/ * 3 /*levels*/ * 2 /*pas*/ * 16 /*sw*/);
  EXPECT_EQ(accepted + refused, 4u * 5 * 2 * 4 * 16 * 4 * 16);
}

// ---- Memory type: MemAttr[5:2], not a stage-1 AttrIndx[4:2]. ----

TEST(Stage2DescCodec, MemAttrOccupiesBits5To2NotAStage1AttrIndx) {
  // Normal write-back without FWB is MemAttr 0b1111: bit 5 (MemAttr[3]) is
  // set, which a stage-1 AttrIndx[2:0] encoding in bits [4:2] would never do.
  const auto wb = encode_leaf(PhysAddr(0), 3, kS2GuestRam, {});
  ASSERT_TRUE(wb.ok());
  EXPECT_NE(wb.value().raw() & kBit5, 0u);
  EXPECT_EQ(wb.value().raw() & kMaskMemAttr, 0x3cu);

  // Changing only the kind changes only bits [5:2] (and XN, which device
  // kinds need), and the values are the spec's, per config.
  for (S2CodecConfig c : kConfigs) {
    S2Attrs base = kS2GuestDevice;  // never executable: valid for every kind
    base.shareability = Shareability::kOuterShareable;
    uint64_t prev = 0;
    bool first = true;
    for (S2MemKind kind : kKinds) {
      base.kind = kind;
      const auto r = encode_leaf(PhysAddr(2 * kMiB), 2, base, c);
      ASSERT_TRUE(r.ok());
      const uint64_t raw = r.value().raw();
      EXPECT_EQ((raw & kMaskMemAttr) >> 2, expected_mem_attr(kind, c.fwb));
      if (!first) {
        EXPECT_EQ(raw & ~kMaskMemAttr, prev & ~kMaskMemAttr) << "only MemAttr differs";
      }
      prev = raw;
      first = false;
    }
  }
  // The four kinds give four distinct MemAttr values in each configuration.
  for (bool fwb : {false, true}) {
    std::set<uint64_t> values;
    for (S2MemKind kind : kKinds) values.insert(expected_mem_attr(kind, fwb));
    EXPECT_EQ(values.size(), 4u);
  }
}

TEST(Stage2DescCodec, KnownAnswers) {
  // Guest RAM page: valid|page, MemAttr 0xf, S2AP RW, SH inner, AF, XN 00.
  const auto ram = encode_leaf(PhysAddr(0x4008'1000), 3, kS2GuestRam, {});
  ASSERT_TRUE(ram.ok());
  EXPECT_EQ(ram.value().raw(), 0x0000'0000'4008'17ffu);
  // Same with FWB: MemAttr 0b0110.
  const auto ram_fwb = encode_leaf(PhysAddr(0x4008'1000), 3, kS2GuestRam, {true, false});
  ASSERT_TRUE(ram_fwb.ok());
  EXPECT_EQ(ram_fwb.value().raw(), 0x0000'0000'4008'17dbu);
  // Passthrough MMIO as a 2 MiB block: MemAttr 0b0001, S2AP RW, SH outer,
  // AF, XN 0b10 (bit 54).
  const auto dev = encode_leaf(PhysAddr(0x0900'0000), 2, kS2GuestDevice, {});
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev.value().raw(), 0x0040'0000'0900'06c5u);
  // 1 GiB read-only, EL0-only executable normal NC block with XNX, software 0xa.
  S2Attrs a{S2MemKind::kNormalNonCacheable, true, false, false, true, Shareability::kNonShareable, 0xa};
  const auto blk = encode_leaf(PhysAddr(0x80'4000'0000), 1, a, {false, true});
  ASSERT_TRUE(blk.ok());
  // 0x1 | 0x5<<2 | 0b01<<6 | 0 | AF | OA | XN 0b01<<53 | 0xa<<55
  EXPECT_EQ(blk.value().raw(), 0x0520'0080'4000'0455u);
}

// ---- Refusals. ----

TEST(Stage2DescCodec, RefusesLevelsWithoutLeaves) {
  for (unsigned level : {0u, 4u, 5u, 64u, ~0u}) {
    const auto r = encode_leaf(PhysAddr(0), level, kS2GuestRam, {});
    ASSERT_FALSE(r.ok()) << level;
    EXPECT_EQ(r.error(), CodecError::kBadLevel);
    const auto d = decode_leaf(0x0000'0000'4000'07ff, level, {});
    ASSERT_FALSE(d.ok()) << level;
    EXPECT_EQ(d.error(), CodecError::kBadLevel);
  }
}

TEST(Stage2DescCodec, RefusesSoftwareWiderThanFourBits) {
  for (unsigned sw = 0x10; sw <= 0xff; ++sw) {
    S2Attrs a = kS2GuestRam;
    a.software = static_cast<uint8_t>(sw);
    const auto r = encode_leaf(PhysAddr(0), 3, a, {});
    ASSERT_FALSE(r.ok()) << sw;
    EXPECT_EQ(r.error(), CodecError::kSoftwareBitsTooWide);
  }
}

TEST(Stage2DescCodec, RefusesKindsOutsideTheEnum) {
  for (unsigned k : {4u, 5u, 0x80u, 0xffu}) {
    S2Attrs a = kS2GuestDevice;
    a.kind = static_cast<S2MemKind>(k);
    const auto r = encode_leaf(PhysAddr(0), 3, a, {});
    ASSERT_FALSE(r.ok()) << k;
    EXPECT_EQ(r.error(), CodecError::kUnknownMemAttr);
  }
}

TEST(Stage2DescCodec, RefusesShareabilityValuesOutsideTheEncoding) {
  for (uint64_t sh : {uint64_t{1}, uint64_t{4}, ~uint64_t{0}}) {
    for (S2MemKind kind : kKinds) {
      S2Attrs a = kS2GuestDevice;
      a.kind = kind;
      a.shareability = static_cast<Shareability>(sh);
      const auto r = encode_leaf(PhysAddr(0), 3, a, {});
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error(), CodecError::kBadShareability) << "even for device kinds";
    }
  }
}

// Every bit from 0 up to the entry size makes the output misaligned at each
// level; the same addresses are fine one level down where they are aligned.
TEST(Stage2DescCodec, RefusesMisalignedOutputAtEveryLevel) {
  for (unsigned level = 1; level <= 3; ++level) {
    const uint64_t size = entry_size(level);
    for (unsigned bit = 0; (uint64_t{1} << bit) < size; ++bit) {
      const uint64_t pa = (uint64_t{7} * size) | (uint64_t{1} << bit);
      const auto r = encode_leaf(PhysAddr(pa), level, kS2GuestRam, {});
      ASSERT_FALSE(r.ok()) << "level " << level << " bit " << bit;
      EXPECT_EQ(r.error(), CodecError::kMisaligned);
      if (bit >= 12) {
        const unsigned finer = (uint64_t{1} << bit) >= entry_size(2) ? 2 : 3;
        EXPECT_TRUE(encode_leaf(PhysAddr(pa & ~((uint64_t{1} << bit) - 1)), finer, kS2GuestRam, {}).ok());
      }
    }
  }
}

TEST(Stage2DescCodec, RefusesOutputAtOrBeyond48Bits) {
  for (unsigned level = 1; level <= 3; ++level) {
    const uint64_t size = entry_size(level);
    for (uint64_t pa :
         {kOutputLimit, kOutputLimit + size, uint64_t{1} << 52, uint64_t{1} << 63, ~(size - 1)}) {
      const auto r = encode_leaf(PhysAddr(pa), level, kS2GuestRam, {});
      ASSERT_FALSE(r.ok()) << std::hex << pa;
      EXPECT_EQ(r.error(), CodecError::kOutputOutOfRange);
    }
    const auto top = encode_leaf(PhysAddr(kOutputLimit - size), level, kS2GuestRam, {});
    ASSERT_TRUE(top.ok());
    EXPECT_EQ(top.value().raw() & kMaskOutput, kOutputLimit - size);
  }
}

// Each output-address bit lands at its own position and reads back.
TEST(Stage2DescCodec, EveryOutputAddressBitRoundTrips) {
  for (unsigned level = 1; level <= 3; ++level)
    for (unsigned bit = 0; bit < 48; ++bit) {
      const uint64_t pa = uint64_t{1} << bit;
      if (pa < entry_size(level)) continue;
      const auto r = encode_leaf(PhysAddr(pa), level, kS2GuestRam, {});
      ASSERT_TRUE(r.ok()) << bit;
      EXPECT_EQ(r.value().raw() & kMaskOutput, pa);
      const auto d = decode_leaf(r.value().raw(), level, {});
      ASSERT_TRUE(d.ok());
      EXPECT_EQ(d.value().output.value(), pa);
    }
}

// The order of checks is part of the contract: several problems at once
// always give the first one in the documented order.
TEST(Stage2DescCodec, ErrorOrderIsFixed) {
  S2Attrs a{S2MemKind::kDeviceNgnre, true, true, true, false, static_cast<Shareability>(1), 0x10};
  const PhysAddr bad_pa(kOutputLimit | 1);
  EXPECT_EQ(encode_leaf(bad_pa, 0, a, {}).error(), CodecError::kBadLevel);
  EXPECT_EQ(encode_leaf(bad_pa, 3, a, {}).error(), CodecError::kSoftwareBitsTooWide);
  a.software = 0;
  EXPECT_EQ(encode_leaf(bad_pa, 3, a, {}).error(), CodecError::kBadShareability);
  a.shareability = Shareability::kInnerShareable;
  EXPECT_EQ(encode_leaf(bad_pa, 3, a, {}).error(), CodecError::kExecutableDevice);
  a.kind = S2MemKind::kNormalWriteBack;
  EXPECT_EQ(encode_leaf(bad_pa, 3, a, {}).error(), CodecError::kExecSplitUnsupported);
  a.exec_el0 = true;
  EXPECT_EQ(encode_leaf(bad_pa, 3, a, {}).error(), CodecError::kOutputOutOfRange);
  EXPECT_EQ(encode_leaf(PhysAddr(1), 3, a, {}).error(), CodecError::kMisaligned);
  EXPECT_TRUE(encode_leaf(PhysAddr(0), 3, a, {}).ok());
}

// ---- classify(). ----

// All four bits[1:0] values at levels 0..4, with other bits both clear and
// set (they must not matter).
TEST(Stage2DescCodec, ClassifiesEveryTypeValueAtEveryLevel) {
  constexpr S2DescKind I = S2DescKind::kInvalid, T = S2DescKind::kTable, B = S2DescKind::kBlock,
                       P = S2DescKind::kPage;
  // [level][bits 1:0]
  constexpr S2DescKind kWant[5][4] = {
      {I, I, I, T},  // level 0: no blocks with the 4K granule (no FEAT_LPA2)
      {I, B, I, T},  // level 1
      {I, B, I, T},  // level 2
      {I, I, I, P},  // level 3: 0b01 is reserved, treated as invalid
      {I, I, I, I},  // no level 4
  };
  for (unsigned level = 0; level <= 4; ++level)
    for (uint64_t type = 0; type < 4; ++type)
      for (uint64_t rest : {uint64_t{0}, ~uint64_t{3}, uint64_t{0x0000'0000'4000'0000}}) {
        EXPECT_EQ(classify(rest | type, level), kWant[level][type])
            << "level " << level << " type " << type << " rest " << std::hex << rest;
      }
  EXPECT_EQ(classify(0x3, ~0u), S2DescKind::kInvalid);
}

// ---- decode_leaf() of descriptors lamina did not write. ----

// A level-3 page with the given MemAttr, S2AP RW, SH inner, AF, never
// executable (so device encodings are not refused for their XN).
constexpr uint64_t page_with_mem_attr(uint64_t mem_attr) {
  return 0x0000'0000'4000'0000 | 0b11 | (mem_attr << 2) | kMaskS2ap | kMaskSh | kBitAf | kBit54;
}

TEST(Stage2DescCodec, DecodeRefusesMemAttrValuesLaminaNeverWrites) {
  for (bool fwb : {false, true}) {
    std::set<uint64_t> ours;
    for (S2MemKind k : kKinds) ours.insert(expected_mem_attr(k, fwb));
    for (uint64_t m = 0; m < 16; ++m) {
      const auto d = decode_leaf(page_with_mem_attr(m), 3, {fwb, false});
      if (ours.count(m)) {
        ASSERT_TRUE(d.ok()) << "fwb " << fwb << " MemAttr " << m;
        EXPECT_EQ(expected_mem_attr(d.value().attrs.kind, fwb), m);
      } else {
        ASSERT_FALSE(d.ok()) << "fwb " << fwb << " MemAttr " << m;
        EXPECT_EQ(d.error(), CodecError::kUnknownMemAttr);
      }
    }
  }
  // The two configurations really differ: 0b1111 is ours only without FWB,
  // 0b0110 only with it.
  EXPECT_FALSE(decode_leaf(page_with_mem_attr(0b1111), 3, {true, false}).ok());
  EXPECT_FALSE(decode_leaf(page_with_mem_attr(0b0110), 3, {false, false}).ok());
}

TEST(Stage2DescCodec, DecodeRefusesNonLeaves) {
  for (unsigned level = 1; level <= 3; ++level) {
    for (uint64_t raw : {uint64_t{0}, uint64_t{0x0000'0000'4000'07fe}, ~uint64_t{1}}) {
      const auto d = decode_leaf(raw, level, {});
      ASSERT_FALSE(d.ok());
      EXPECT_EQ(d.error(), CodecError::kNotALeaf) << "invalid, level " << level;
    }
  }
  // Table descriptors at levels 1 and 2, and level 3's reserved 0b01.
  const uint64_t table = encode_table(PhysAddr(0x4000'0000)).raw();
  EXPECT_EQ(decode_leaf(table, 1, {}).error(), CodecError::kNotALeaf);
  EXPECT_EQ(decode_leaf(table, 2, {}).error(), CodecError::kNotALeaf);
  const uint64_t level3_reserved = page_with_mem_attr(0b1111) & ~kBitTableOrPage;
  EXPECT_EQ(decode_leaf(level3_reserved, 3, {}).error(), CodecError::kNotALeaf);
  EXPECT_TRUE(decode_leaf(level3_reserved, 2, {}).ok()) << "the same bits are a block at level 2";
}

TEST(Stage2DescCodec, DecodeRefusesReservedShareability) {
  const uint64_t raw = (page_with_mem_attr(0b1111) & ~kMaskSh) | (uint64_t{0b01} << 8);
  const auto d = decode_leaf(raw, 3, {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), CodecError::kBadShareability);
}

TEST(Stage2DescCodec, DecodeRefusesExecutableDevice) {
  for (S2CodecConfig c : kConfigs)
    for (uint64_t mem_attr : {uint64_t{0b0000}, uint64_t{0b0001}})
      for (uint64_t xn = 0; xn < 4; ++xn) {
        const uint64_t raw = (page_with_mem_attr(mem_attr) & ~kMaskXn) | (xn << 53);
        const auto d = decode_leaf(raw, 3, c);
        // Executable at some EL: XN[1] clear, or (with XNX) XN == 0b11.
        const bool exec = (xn & 0b10) == 0 || (c.xnx && xn == 0b11);
        if (exec) {
          ASSERT_FALSE(d.ok()) << xn;
          EXPECT_EQ(d.error(), CodecError::kExecutableDevice);
        } else {
          ASSERT_TRUE(d.ok()) << xn;
        }
      }
}

TEST(Stage2DescCodec, DecodeRefusesBlocksWithOutputBitsBelowTheBlockSize) {
  for (unsigned level = 1; level <= 2; ++level)
    for (unsigned bit = 12; (uint64_t{1} << bit) < entry_size(level); ++bit) {
      const uint64_t raw = (page_with_mem_attr(0b1111) & ~kBitTableOrPage) | (uint64_t{1} << bit);
      const auto d = decode_leaf(raw, level, {});
      ASSERT_FALSE(d.ok()) << level << " " << bit;
      EXPECT_EQ(d.error(), CodecError::kMisaligned);
    }
}

// XN as the spec table says, decoded, for both configurations.
TEST(Stage2DescCodec, DecodesXnPerTheSpecTable) {
  struct Row {
    uint64_t xn;
    bool el1, el0;        // with FEAT_XNX
    bool el1_no, el0_no;  // without: bit 53 is RES0 and ignored
  };
  constexpr Row kRows[] = {
      {0b00, true, true, true, true},
      {0b01, false, true, true, true},
      {0b10, false, false, false, false},
      {0b11, true, false, false, false},
  };
  for (const Row& row : kRows) {
    const uint64_t raw = (page_with_mem_attr(0b1111) & ~kMaskXn) | (row.xn << 53);
    const auto x = decode_leaf(raw, 3, {false, true});
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(x.value().attrs.exec_el1, row.el1) << row.xn;
    EXPECT_EQ(x.value().attrs.exec_el0, row.el0) << row.xn;
    const auto n = decode_leaf(raw, 3, {false, false});
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n.value().attrs.exec_el1, row.el1_no) << row.xn;
    EXPECT_EQ(n.value().attrs.exec_el0, row.el0_no) << row.xn;
  }
}

// Bits lamina never writes and that carry no meaning in its configuration
// do not change the decoded mapping; contiguous is reported.
TEST(Stage2DescCodec, DecodeIgnoresBitsWithoutMeaningAndReportsContiguous) {
  const uint64_t raw = page_with_mem_attr(0b1111);
  const auto base = decode_leaf(raw, 3, {});
  ASSERT_TRUE(base.ok());
  for (uint64_t extra : {kBit11, kMaskBits50To48, kBitDbm, kMaskTop}) {
    const auto d = decode_leaf(raw | extra, 3, {});
    ASSERT_TRUE(d.ok()) << std::hex << extra;
    EXPECT_TRUE(d.value().attrs == base.value().attrs);
    EXPECT_EQ(d.value().output, base.value().output);
  }
  const auto c = decode_leaf(raw | kBitContiguous, 3, {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.value().contiguous);
  EXPECT_FALSE(base.value().contiguous);
}

// The contiguous hint: S2LeafOptions sets bit 52 and nothing else, at every
// leaf level; decode reports it; decode -> encode round-trips it; the
// four-argument call is the same as options {} (no hint).
TEST(Stage2DescCodec, ContiguousHintRoundTripsAndSetsOnlyBit52) {
  for (S2CodecConfig c : kConfigs)
    for (unsigned level = 1; level <= 3; ++level)
      for (const S2Attrs& a : {kS2GuestRam, kS2GuestDevice}) {
        const uint64_t pa = 5 * entry_size(level);
        const auto plain = encode_leaf(PhysAddr(pa), level, a, c);
        const auto none = encode_leaf(PhysAddr(pa), level, a, c, S2LeafOptions{});
        const auto hint = encode_leaf(PhysAddr(pa), level, a, c, S2LeafOptions{true});
        ASSERT_TRUE(plain.ok() && none.ok() && hint.ok());
        EXPECT_EQ(plain.value().raw(), none.value().raw());
        EXPECT_EQ(hint.value().raw(), plain.value().raw() | kBitContiguous) << level;
        EXPECT_FALSE(has_contiguous_hint(plain.value().raw(), level));
        EXPECT_TRUE(has_contiguous_hint(hint.value().raw(), level));
        const auto d = decode_leaf(hint.value().raw(), level, c);
        ASSERT_TRUE(d.ok());
        EXPECT_TRUE(d.value().contiguous);
        EXPECT_EQ(d.value().output.value(), pa);
        EXPECT_TRUE(d.value().attrs == canonical_s2_attrs(a));
        const auto again = encode_leaf(d.value().output, level, d.value().attrs, c, S2LeafOptions{d.value().contiguous});
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(again.value().raw(), hint.value().raw());
      }
  // A table descriptor never has the hint.
  EXPECT_FALSE(has_contiguous_hint(encode_table(PhysAddr(0x1000)).raw(), 2));
  EXPECT_FALSE(has_contiguous_hint(kBitContiguous | 0b11, 2));  // a table at level 2
  EXPECT_TRUE(has_contiguous_hint(kBitContiguous | 0b11, 3));   // a page at level 3
  EXPECT_FALSE(has_contiguous_hint(kBitContiguous, 3));         // invalid
}

// The run sizes: 64 KiB of pages, 32 MiB of 2 MiB blocks; level 1 unused.
TEST(Stage2DescCodec, ContiguousRunGeometry) {
  EXPECT_EQ(kS2ContiguousEntries, 16u);
  EXPECT_EQ(s2_contiguous_size(3), uint64_t{64} << 10);
  EXPECT_EQ(s2_contiguous_size(2), uint64_t{32} << 20);
  EXPECT_FALSE(s2_contiguous_level(0));
  EXPECT_FALSE(s2_contiguous_level(1));
  EXPECT_TRUE(s2_contiguous_level(2));
  EXPECT_TRUE(s2_contiguous_level(3));
}

// ---- The leaf template (attributes encoded once, per-entry output, level and hint). ----

// Every attribute combination of the sweep above x {fwb, xnx}: make_leaf_template() refuses exactly what
// encode_leaf() refuses for a valid level and output (the attribute errors, in the documented order), and for
// everything it accepts, leaf() at levels 1..3, at outputs from 0 to the last aligned one below 2^48, with and
// without the hint, is encode_leaf() bit for bit -- and the bits are the ones check_raw() derives from the spec.
TEST(Stage2DescCodec, LeafTemplateRefusesWhatEncodeRefusesAndIsEncodeLeafBitForBit) {
  uint64_t accepted = 0;
  uint64_t refused = 0;
  for (S2CodecConfig c : kConfigs)
    for (S2MemKind kind : kKinds)
      for (unsigned perms = 0; perms < 16; ++perms)
        for (Shareability sh : kAllShareability)
          for (unsigned sw = 0; sw <= 0x10; ++sw) {  // 0x10: one past the 4 software bits
            S2Attrs a;
            a.kind = kind;
            a.read = (perms & 1) != 0;
            a.write = (perms & 2) != 0;
            a.exec_el1 = (perms & 4) != 0;
            a.exec_el0 = (perms & 8) != 0;
            a.shareability = sh;
            a.software = static_cast<uint8_t>(sw);
            const auto t = make_leaf_template(a, c);
            const std::optional<CodecError> want = expected_refusal(a, 1, c);
            if (want) {
              ++refused;
              ASSERT_FALSE(t.ok()) << describe(a, 1, c, 0);
              ASSERT_EQ(t.error(), *want) << describe(a, 1, c, 0);
              continue;
            }
            ++accepted;
            ASSERT_TRUE(t.ok()) << describe(a, 1, c, 0) << ": " << codec_error_name(t.error());
            for (unsigned level = 1; level <= 3; ++level) {
              const uint64_t size = entry_size(level);
              for (uint64_t pa : {uint64_t{0}, 0x0000'b6db'6db6'd000 & ~(size - 1), kOutputLimit - size})
                for (bool hint : {false, true}) {
                  const auto e = encode_leaf(PhysAddr(pa), level, a, c, S2LeafOptions{hint});
                  ASSERT_TRUE(e.ok()) << describe(a, level, c, pa);
                  const uint64_t raw = t.value().leaf(PhysAddr(pa), level, hint);
                  ASSERT_EQ(raw, e.value().raw()) << describe(a, level, c, pa) << " hint " << hint;
                  if (!hint) {
                    SCOPED_TRACE(describe(a, level, c, pa));
                    check_raw(raw, a, level, c, pa);
                  } else {
                    EXPECT_NE(raw & kBitContiguous, 0u);
                  }
                }
            }
          }
  EXPECT_EQ(accepted + refused, 4u * 4 * 16 * 4 * 17);
  // Accepted: as in the sweep above, per config and software value (0..15; 16 is refused).
  const uint64_t per_cell_xnx = 2 * 4 * 3 * 4 + 2 * 4 * 3 * 1;
  const uint64_t per_cell_no_xnx = 2 * 4 * 3 * 2 + 2 * 4 * 3 * 1;
  EXPECT_EQ(accepted, (per_cell_xnx + per_cell_no_xnx) * 2 /*fwb*/ * 16 /*sw*/);
}

// Guest RAM, the fault-in's attributes, typed in from the spec: page and block for output 0x1234'5000 and
// 0x1220'0000, with FEAT_S2FWB (MemAttr 0b0110, D8.5.6) and without (0b1111, D8.5.5); S2AP 0b11, SH 0b11,
// AF, XN 0b00.
TEST(Stage2DescCodec, LeafTemplateKnownAnswersForGuestRam) {
  const auto fwb = make_leaf_template(kS2GuestRam, {true, false});
  const auto plain = make_leaf_template(kS2GuestRam, {false, false});
  ASSERT_TRUE(fwb.ok() && plain.ok());
  EXPECT_EQ(fwb.value().leaf(PhysAddr(0x1234'5000), 3, false), 0x1234'57dbu);
  EXPECT_EQ(fwb.value().leaf(PhysAddr(0x1220'0000), 2, false), 0x1220'07d9u);
  EXPECT_EQ(fwb.value().leaf(PhysAddr(0x1220'0000), 2, true), 0x0010'0000'1220'07d9u);
  EXPECT_EQ(plain.value().leaf(PhysAddr(0x1234'5000), 3, false), 0x1234'57ffu);
  EXPECT_EQ(plain.value().leaf(PhysAddr(0x4000'0000), 1, false), 0x4000'07fdu);
}

// classify(), table_address() and has_contiguous_hint() are constexpr: checked here by the compiler too.
static_assert(classify(0b11, 0) == S2DescKind::kTable);
static_assert(classify(0b01, 0) == S2DescKind::kInvalid);
static_assert(classify(0b01, 2) == S2DescKind::kBlock);
static_assert(classify(0b11, 3) == S2DescKind::kPage);
static_assert(classify(0b01, 3) == S2DescKind::kInvalid);
static_assert(classify(0b10, 1) == S2DescKind::kInvalid);
static_assert(table_address(0xfff0'8765'4321'f003) == PhysAddr(0x8765'4321'f000));
static_assert(has_contiguous_hint((uint64_t{1} << 52) | 0b01, 2));
static_assert(!has_contiguous_hint((uint64_t{1} << 52) | 0b11, 2));

// ---- Table descriptors. ----

TEST(Stage2DescCodec, TableDescriptorHasOnlyValidTableAndAddress) {
  for (uint64_t pa :
       {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x0000'8765'4321'0000}, kOutputLimit - 0x1000}) {
    const uint64_t raw = encode_table(PhysAddr(pa)).raw();
    EXPECT_EQ(raw, pa | 0b11) << std::hex << pa;
    EXPECT_EQ(raw & kMaskTop, 0u) << "no NSTable/APTable/XNTable/PXNTable at stage 2";
    EXPECT_EQ(table_address(raw).value(), pa);
    for (unsigned level = 0; level <= 2; ++level) EXPECT_EQ(classify(raw, level), S2DescKind::kTable);
    const auto t = try_encode_table(PhysAddr(pa));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.value().raw(), raw);
  }
  // table_address() reads OA[47:12] only.
  EXPECT_EQ(table_address(~uint64_t{0}).value(), kMaskOutput);
}

TEST(Stage2DescCodec, TableDescriptorRefusesBadAddressesAndFailsClosed) {
  for (uint64_t pa : {uint64_t{1}, uint64_t{0x800}, uint64_t{0x4000'0fff}}) {
    const auto t = try_encode_table(PhysAddr(pa));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error(), CodecError::kMisaligned);
    EXPECT_EQ(encode_table(PhysAddr(pa)).raw(), 0u) << "invalid, not a truncated pointer";
  }
  for (uint64_t pa : {kOutputLimit, uint64_t{1} << 63}) {
    const auto t = try_encode_table(PhysAddr(pa));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error(), CodecError::kOutputOutOfRange);
    EXPECT_EQ(encode_table(PhysAddr(pa)).raw(), 0u);
  }
}

// ---- Odds and ends. ----

TEST(Stage2DescCodec, EveryErrorHasItsOwnName) {
  std::set<std::string> names;
  for (unsigned e = 0; e <= static_cast<unsigned>(CodecError::kUnknownMemAttr); ++e) {
    const std::string n = codec_error_name(static_cast<CodecError>(e));
    EXPECT_EQ(n.find("unknown codec"), std::string::npos) << e;
    EXPECT_TRUE(names.insert(n).second) << n;
  }
  EXPECT_STREQ(codec_error_name(static_cast<CodecError>(200)), "unknown codec error");
}

static_assert(canonical_s2_attrs(kS2GuestRam) == kS2GuestRam);
static_assert(canonical_s2_attrs(kS2GuestDevice) == kS2GuestDevice);
static_assert(canonical_s2_attrs(S2Attrs{S2MemKind::kDeviceNgnrne, true, false, false, false,
                                         Shareability::kInnerShareable, 3})
                  .shareability == Shareability::kOuterShareable);
static_assert(canonical_s2_attrs(S2Attrs{S2MemKind::kNormalNonCacheable, true, false, false, false,
                                         Shareability::kNonShareable, 3})
                  .shareability == Shareability::kNonShareable);

}  // namespace
}  // namespace lamina::mm
