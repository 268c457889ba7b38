// The stage-2 descriptor codec. Every fact about where a stage-2 field lives
// comes from arch/regs/stage2_desc.hpp; this file decides only *which value*
// an abstract mapping puts there, and back.
//
// Straight-line on purpose: encode and decode run on the stage-2 fault path,
// so there are no loops and no tables beyond four-way switches.
//
// Decisions (each has a test in tests/unit/mm/stage2_desc_test.cpp):
// - Errors are checked in a fixed order, so a request with several problems
//   always gets the same answer: encode_leaf: kBadLevel, kSoftwareBitsTooWide,
//   kBadShareability, kUnknownMemAttr (an S2MemKind value outside the enum),
//   kExecutableDevice, kExecSplitUnsupported, kOutputOutOfRange, kMisaligned.
//   decode_leaf: kBadLevel, kNotALeaf, kUnknownMemAttr, kBadShareability,
//   kExecutableDevice, kMisaligned.
// - decode_leaf() only ever returns attributes that encode_leaf() accepts, so
//   a decoded leaf can always be re-encoded (protect() does exactly that). A
//   descriptor lamina would not write (executable device memory, a MemAttr
//   lamina never uses, the reserved shareability, output bits set below a
//   block's size) is refused, not reinterpreted.
// - Bits lamina never writes and the architecture does not give a meaning in
//   lamina's configuration are ignored by decode: RES0 bit 11, bits [50:48]
//   (no FEAT_LPA2), XN[0] (bit 53) without FEAT_XNX, DBM (bit 51; lamina does
//   not enable hardware dirty-state management), AF (always written as 1)
//   and bits [63:59].
// - The contiguous hint (bit 52) is written exactly when S2LeafOptions asks
//   for it, at any leaf level, and decode reports it; the codec cannot check
//   a run (it sees one entry), so mm/stage2 owns the run rules and the
//   levels that use it (s2_contiguous_level()).
#include "mm/stage2_desc.hpp"

#include <cstdint>
#include <optional>

#include "arch/regs/common.hpp"
#include "arch/regs/stage2_desc.hpp"

namespace lamina::mm {
namespace {

using arch::S2Access;
using arch::S2ExecuteNever;
using arch::S2Leaf;
using arch::S2Table;
using arch::Shareability;

// Output addresses are 48 bits: lamina uses the 4K granule without FEAT_LPA2
// (VTCR_EL2.DS == 0), so OA[51:48] has no place in the descriptor.
// DDI 0487 K.a D8.3.1 "VMSAv8-64 descriptor formats" (output address fields).
constexpr uint64_t kOutputLimit = uint64_t{1} << arch::kMaxTranslatedAddressBits;
constexpr uint64_t kMaxSoftware = 0xf;  // S2Leaf::software is 4 bits, [58:55]

// Stage-2 MemAttr[3:0] values lamina writes. Stage 2 has no MAIR: the memory
// type is encoded directly in the descriptor.
//
// Without FEAT_S2FWB, or with HCR_EL2.FWB == 0 -- DDI 0487 K.a D8.5.5 "Stage 2
// memory type and Cacheability attributes when FEAT_S2FWB is disabled":
// MemAttr[3:2] == 0b00 is Device with MemAttr[1:0] the device type (0b00
// nGnRnE, 0b01 nGnRE); otherwise MemAttr[3:2] is the Outer and MemAttr[1:0]
// the Inner cacheability (0b01 Non-cacheable, 0b11 Write-Back). The result is
// combined with the guest's stage-1 attributes, the stronger type winning.
constexpr uint64_t kMemAttrNormalWb = 0b1111;  // Outer WB, Inner WB
constexpr uint64_t kMemAttrNormalNc = 0b0101;  // Outer NC, Inner NC
constexpr uint64_t kMemAttrDeviceNgnre = 0b0001;
constexpr uint64_t kMemAttrDeviceNgnrne = 0b0000;
//
// With HCR_EL2.FWB == 1 -- DDI 0487 K.a D8.5.6 "Stage 2 memory type and
// Cacheability attributes when FEAT_S2FWB is enabled": MemAttr[2] == 0 is
// Device with MemAttr[1:0] the device type, as above; MemAttr[2] == 1 with
// MemAttr[1:0] == 0b01 is Normal Non-cacheable, 0b10 is Normal Write-Back
// *forcing* the final attribute to Write-Back whatever stage 1 says (the
// point of FWB: no cache maintenance on behalf of a guest running with its
// caches off), 0b11 would defer to stage 1, which lamina never uses. Linux
// KVM uses the same values (MT_S2_FWB_NORMAL 6, MT_S2_FWB_NORMAL_NC 5,
// MT_S2_FWB_DEVICE_nGnRE 1).
constexpr uint64_t kMemAttrFwbNormalWb = 0b0110;
constexpr uint64_t kMemAttrFwbNormalNc = 0b0101;
constexpr uint64_t kMemAttrFwbDeviceNgnre = 0b0001;
constexpr uint64_t kMemAttrFwbDeviceNgnrne = 0b0000;

[[nodiscard]] constexpr bool is_device(S2MemKind kind) {
  return kind == S2MemKind::kDeviceNgnre || kind == S2MemKind::kDeviceNgnrne;
}

// kind -> MemAttr, or false for a value outside the enum.
[[nodiscard]] constexpr bool mem_attr_for(S2MemKind kind, bool fwb, uint64_t* mem_attr) {
  switch (kind) {
    case S2MemKind::kNormalWriteBack:
      *mem_attr = fwb ? kMemAttrFwbNormalWb : kMemAttrNormalWb;
      return true;
    case S2MemKind::kNormalNonCacheable:
      *mem_attr = fwb ? kMemAttrFwbNormalNc : kMemAttrNormalNc;
      return true;
    case S2MemKind::kDeviceNgnre:
      *mem_attr = fwb ? kMemAttrFwbDeviceNgnre : kMemAttrDeviceNgnre;
      return true;
    case S2MemKind::kDeviceNgnrne:
      *mem_attr = fwb ? kMemAttrFwbDeviceNgnrne : kMemAttrDeviceNgnrne;
      return true;
  }
  return false;
}

// MemAttr -> kind, or false for an encoding lamina never writes in this
// configuration (e.g. 0b0110 without FWB is Outer NC / Inner WT, a valid
// architectural encoding, but not one of ours).
[[nodiscard]] constexpr bool kind_for(uint64_t mem_attr, bool fwb, S2MemKind* kind) {
  if (mem_attr == (fwb ? kMemAttrFwbNormalWb : kMemAttrNormalWb))
    *kind = S2MemKind::kNormalWriteBack;
  else if (mem_attr == (fwb ? kMemAttrFwbNormalNc : kMemAttrNormalNc))
    *kind = S2MemKind::kNormalNonCacheable;
  else if (mem_attr == (fwb ? kMemAttrFwbDeviceNgnre : kMemAttrDeviceNgnre))
    *kind = S2MemKind::kDeviceNgnre;
  else if (mem_attr == (fwb ? kMemAttrFwbDeviceNgnrne : kMemAttrDeviceNgnrne))
    *kind = S2MemKind::kDeviceNgnrne;
  else
    return false;
  return true;
}

// S2AP[1] (bit 7) grants write, S2AP[0] (bit 6) grants read.
// DDI 0487 K.a D8.4.2 "Stage 2 data access permissions".
[[nodiscard]] constexpr S2Access s2ap_for(bool read, bool write) {
  return static_cast<S2Access>((write ? 0b10u : 0u) | (read ? 0b01u : 0u));
}

// XN[1:0] with FEAT_XNX, DDI 0487 K.a D8.4.3 (stage 2 instruction execution
// permissions, "XN[1:0]" table):
//   0b00 EL1 and EL0 may execute     0b01 EL0 only (PXN-like)
//   0b10 neither                     0b11 EL1 only (UXN-like)
// which is XN[1] = !exec_el0 and XN[0] = exec_el1 XOR exec_el0. Without
// FEAT_XNX bit 53 is RES0 and XN[1] alone controls both ELs; the caller has
// already refused exec_el1 != exec_el0 there, so the same formula yields
// 0b00 or 0b10 and never touches bit 53.
[[nodiscard]] constexpr S2ExecuteNever xn_for(bool exec_el1, bool exec_el0) {
  return static_cast<S2ExecuteNever>((exec_el0 ? 0u : 0b10u) | ((exec_el1 != exec_el0) ? 0b01u : 0u));
}

[[nodiscard]] constexpr bool valid_shareability(Shareability sh) {
  return sh == Shareability::kNonShareable || sh == Shareability::kOuterShareable ||
         sh == Shareability::kInnerShareable;
}

}  // namespace

const char* codec_error_name(CodecError e) {
  switch (e) {
    case CodecError::kExecutableDevice:
      return "executable device memory";
    case CodecError::kMisaligned:
      return "output address misaligned for the level";
    case CodecError::kBadLevel:
      return "no leaf at this level";
    case CodecError::kExecSplitUnsupported:
      return "EL1/EL0 execute split needs FEAT_XNX";
    case CodecError::kOutputOutOfRange:
      return "output address beyond 48 bits";
    case CodecError::kSoftwareBitsTooWide:
      return "software bits wider than 4";
    case CodecError::kBadShareability:
      return "reserved shareability";
    case CodecError::kNotALeaf:
      return "not a block or page descriptor";
    case CodecError::kUnknownMemAttr:
      return "memory type lamina does not use";
  }
  return "unknown codec error";
}

namespace {

// What encode_leaf() checks and encodes of `attrs` alone, the same at every
// level and output: the refusal, in encode_leaf()'s order, or in `bits` the
// leaf for output 0 at level 1 (a block), without the hint.
// Inlined into both callers: make_leaf_template() is on the fault-in path.
[[nodiscard, gnu::always_inline]] inline std::optional<CodecError> encode_attributes(const S2Attrs& attrs,
                                                                                     S2CodecConfig config,
                                                                                     uint64_t* bits) {
  if (attrs.software > kMaxSoftware) return CodecError::kSoftwareBitsTooWide;
  if (!valid_shareability(attrs.shareability)) return CodecError::kBadShareability;
  uint64_t mem_attr = 0;
  if (!mem_attr_for(attrs.kind, config.fwb, &mem_attr)) return CodecError::kUnknownMemAttr;
  const bool device = is_device(attrs.kind);
  // Instruction fetch from Device memory is never wanted (speculative fetches
  // could touch side-effecting registers), so lamina refuses to write it.
  if (device && (attrs.exec_el1 || attrs.exec_el0)) return CodecError::kExecutableDevice;
  if (!config.xnx && attrs.exec_el1 != attrs.exec_el0) return CodecError::kExecSplitUnsupported;

  // SH has no effect on Device memory: "All Device and Normal Non-cacheable
  // memory regions are always treated as Outer Shareable, regardless of the
  // translation table shareability attributes" (DDI 0487 K.a D8.5 "Memory
  // region attributes", shareability). For Device kinds lamina writes Outer
  // Shareable, so the descriptor says what happens (Hafnium writes OSH for
  // every stage-2 entry). Normal Non-cacheable keeps the requested value: it
  // is equally without effect there, and keeping it lets it round-trip.
  const Shareability sh = device ? Shareability::kOuterShareable : attrs.shareability;

  *bits = S2Leaf::from_scratch()
              .with(S2Leaf::valid, true)
              .with(S2Leaf::mem_attr, mem_attr)
              .with(S2Leaf::s2ap, s2ap_for(attrs.read, attrs.write))
              .with(S2Leaf::sh, sh)
              // AF = 1: lamina does not use hardware or software access-flag
              // management at stage 2, and an AF == 0 entry would fault on first use.
              .with(S2Leaf::af, true)
              .with(S2Leaf::xn, xn_for(attrs.exec_el1, attrs.exec_el0))
              .with(S2Leaf::software, uint64_t{attrs.software})
              .raw();
  return std::nullopt;
}

}  // namespace

Result<arch::S2Leaf, CodecError> encode_leaf(PhysAddr output, unsigned level, const S2Attrs& attrs,
                                             S2CodecConfig config, S2LeafOptions options) {
  // With the 4K granule, blocks exist at levels 1 and 2 and pages at level 3;
  // a level-0 block needs FEAT_LPA2 with VTCR_EL2.DS == 1, which lamina does
  // not use. DDI 0487 K.a D8.3.1 "VMSAv8-64 descriptor formats".
  if (level < 1 || level > 3) return Err{CodecError::kBadLevel};
  uint64_t bits = 0;
  if (const auto refusal = encode_attributes(attrs, config, &bits)) return Err{*refusal};
  if (output.value() >= kOutputLimit) return Err{CodecError::kOutputOutOfRange};
  if (!output.is_aligned(s2_entry_size(level))) return Err{CodecError::kMisaligned};
  // The level's descriptor type, the output address and the contiguous hint
  // (DDI 0487 K.a D8.7.1; the caller guarantees the run): S2LeafTemplate::leaf(),
  // the one place they are added.
  return S2Leaf::from_raw(S2LeafTemplate(bits).leaf(output, level, options.contiguous));
}

Result<S2LeafTemplate, CodecError> make_leaf_template(const S2Attrs& attrs, S2CodecConfig config) {
  uint64_t bits = 0;
  if (const auto refusal = encode_attributes(attrs, config, &bits)) return Err{*refusal};
  return S2LeafTemplate(bits);
}

Result<S2DecodedLeaf, CodecError> decode_leaf(uint64_t raw, unsigned level, S2CodecConfig config) {
  if (level < 1 || level > 3) return Err{CodecError::kBadLevel};
  const S2DescKind desc_kind = classify(raw, level);
  if (desc_kind != S2DescKind::kBlock && desc_kind != S2DescKind::kPage) return Err{CodecError::kNotALeaf};

  const S2Leaf leaf = S2Leaf::from_raw(raw);
  S2Attrs attrs;
  if (!kind_for(leaf.get(S2Leaf::mem_attr), config.fwb, &attrs.kind)) return Err{CodecError::kUnknownMemAttr};
  attrs.shareability = leaf.get(S2Leaf::sh);
  if (!valid_shareability(attrs.shareability)) return Err{CodecError::kBadShareability};

  const uint64_t s2ap = static_cast<uint64_t>(leaf.get(S2Leaf::s2ap));
  attrs.read = (s2ap & 0b01) != 0;
  attrs.write = (s2ap & 0b10) != 0;

  // The inverse of xn_for(): exec_el0 = !XN[1], exec_el1 = exec_el0 XOR XN[0].
  // Without FEAT_XNX, XN[0] is RES0 and both ELs follow XN[1].
  const uint64_t xn = static_cast<uint64_t>(leaf.get(S2Leaf::xn));
  attrs.exec_el0 = (xn & 0b10) == 0;
  attrs.exec_el1 = config.xnx ? (attrs.exec_el0 != ((xn & 0b01) != 0)) : attrs.exec_el0;
  if (is_device(attrs.kind) && (attrs.exec_el1 || attrs.exec_el0)) return Err{CodecError::kExecutableDevice};

  attrs.software = static_cast<uint8_t>(leaf.get(S2Leaf::software));

  // A block's output address has no bits below the block size: bits set
  // there are RES0, which lamina never writes.
  const uint64_t output = leaf.get(S2Leaf::output_address) << kPageShift;
  if (!is_aligned(output, s2_entry_size(level))) return Err{CodecError::kMisaligned};

  return S2DecodedLeaf{PhysAddr(output), attrs, leaf.get(S2Leaf::contiguous)};
}

Result<arch::S2Table, CodecError> try_encode_table(PhysAddr next) {
  if (next.value() >= kOutputLimit) return Err{CodecError::kOutputOutOfRange};
  if (!next.is_aligned(kPageSize)) return Err{CodecError::kMisaligned};
  // Only valid, the table bit and the address: a stage-2 table descriptor has
  // no hierarchical attributes (stage 1's NSTable/APTable/XNTable/PXNTable in
  // bits [63:59] mean nothing at stage 2, and lamina keeps them zero).
  // DDI 0487 K.a D8.3.1 "VMSAv8-64 descriptor formats", table descriptor.
  return S2Table::from_scratch()
      .with(S2Table::valid, true)
      .with(S2Table::is_table, true)
      .with(S2Table::next_level, next.value() >> kPageShift);
}

S2Table encode_table(PhysAddr next) {
  // Fail closed: a bad table address (a broken allocator invariant) yields an
  // invalid entry, so the guest takes a translation fault instead of walking
  // into whatever a truncated address would point at.
  return try_encode_table(next).value_or(S2Table{});
}

}  // namespace lamina::mm
