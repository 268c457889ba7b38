// The stage-2 descriptor codec: the ONE place where an abstract mapping (what
// kind of memory, which permissions) becomes descriptor bits, and back.
// Everything else in mm/ (the walker, map/unmap/protect) goes through it.
//
// DDI 0487 K.a D8.3 "Translation table descriptor formats", D8.4.2
// "Stage 2 data access permissions", D8.4.3 (stage-2 execute-never),
// D8.5.5 "Stage 2 memory type and Cacheability attributes" (MemAttr without
// FEAT_S2FWB) and D8.5.6 (MemAttr when HCR_EL2.FWB == 1).
#pragma once

#include <cstdint>

#include "arch/regs/common.hpp"
#include "arch/regs/stage2_desc.hpp"
#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"

namespace lamina::mm {

// The memory kinds a VM mapping can have.
enum class S2MemKind : uint8_t {
  kNormalWriteBack,     // RAM (inner and outer write-back)
  kNormalNonCacheable,  // e.g. framebuffers shared with non-coherent devices
  kDeviceNgnre,         // MMIO (passthrough devices)
  kDeviceNgnrne,        // strongly ordered MMIO
};

// An abstract stage-2 mapping: what the codec encodes and decodes.
struct S2Attrs {
  S2MemKind kind = S2MemKind::kNormalWriteBack;
  bool read = false;
  bool write = false;
  bool exec_el1 = false;   // EL1 may execute (guest kernel)
  bool exec_el0 = false;   // EL0 may execute (guest user space)
  arch::Shareability shareability = arch::Shareability::kInnerShareable;
  uint8_t software = 0;    // lamina's own bookkeeping, descriptor bits [58:55] (4 bits)

  friend constexpr bool operator==(const S2Attrs&, const S2Attrs&) = default;
};

// Convenience: guest RAM, readable, writable and executable at EL1 and EL0.
inline constexpr S2Attrs kS2GuestRam{S2MemKind::kNormalWriteBack, true, true, true, true,
                                     arch::Shareability::kInnerShareable, 0};
// Convenience: passthrough MMIO, read-write, never executable.
inline constexpr S2Attrs kS2GuestDevice{S2MemKind::kDeviceNgnre, true, true, false, false,
                                        arch::Shareability::kOuterShareable, 0};

// What the CPU supports, which changes the encoding.
struct S2CodecConfig {
  bool fwb = false;  // FEAT_S2FWB in use (HCR_EL2.FWB = 1): MemAttr encodes differently
  bool xnx = false;  // FEAT_XNX: separate EL1 and EL0 execute permission
};

enum class CodecError : uint8_t {
  kExecutableDevice,     // device memory may never be executable
  kMisaligned,           // output address not aligned to the entry size at this level
  kBadLevel,             // no leaf at this level (level 0 with 4K granule), or level > 3
  kExecSplitUnsupported, // exec_el1 != exec_el0 without FEAT_XNX
  kOutputOutOfRange,     // output address beyond 48 bits
  kSoftwareBitsTooWide,  // software > 0xf
  kBadShareability,      // the reserved encoding 0b01
  kNotALeaf,             // decode: the descriptor is invalid or a table
  kUnknownMemAttr,       // decode: a MemAttr encoding lamina never writes
};

[[nodiscard]] const char* codec_error_name(CodecError e);

// A decoded leaf.
struct S2DecodedLeaf {
  PhysAddr output;  // the block's or page's base output address
  S2Attrs attrs;
  bool contiguous = false;
};

// Per-descriptor encoding choices that are not attributes of the memory.
struct S2LeafOptions {
  // The contiguous hint (bit 52): this entry is one of a run of
  // kS2ContiguousEntries entries that the caller keeps uniform (see
  // s2_contiguous_level()). The codec only sets the bit: the run's shape is
  // the caller's to guarantee (mm/stage2.cpp).
  bool contiguous = false;

  friend constexpr bool operator==(const S2LeafOptions&, const S2LeafOptions&) = default;
};

// The contiguous hint, 4K granule (DDI 0487 K.a D8.7.1 "The Contiguous
// bit"): a run is 16 adjacent entries of one table (16 x 4 KiB = 64 KiB at
// level 3, 16 x 2 MiB = 32 MiB at level 2), all valid, with the same
// attributes and permissions, contiguous output addresses, and the run's
// IPA and output aligned to 16 x the entry size. Software that breaks any of
// that must first take the whole run down with break-before-make.
inline constexpr unsigned kS2ContiguousEntries = 16;

// Encodes a block (levels 1, 2) or page (level 3) descriptor mapping
// `output` with `attrs`; AF is set (lamina does not use hardware AF
// management). Device mappings are encoded as such whatever `shareability`
// says (the architecture treats Device memory as outer shareable).
// `options.contiguous` sets the contiguous hint; decode_leaf() reports it
// back in S2DecodedLeaf::contiguous.
[[nodiscard]] Result<arch::S2Leaf, CodecError> encode_leaf(PhysAddr output, unsigned level,
                                                           const S2Attrs& attrs, S2CodecConfig config,
                                                           S2LeafOptions options = {});

// Decodes a leaf descriptor at `level` back to the abstract form.
[[nodiscard]] Result<S2DecodedLeaf, CodecError> decode_leaf(uint64_t raw, unsigned level, S2CodecConfig config);

// A table descriptor pointing at the next-level table at `next` (4K-aligned).
[[nodiscard]] arch::S2Table encode_table(PhysAddr next);

// encode_table() with its precondition checked: kMisaligned when `next` is
// not 4K-aligned, kOutputOutOfRange when it is at or beyond 2^48. (On such
// input encode_table() itself returns an invalid descriptor, never a table
// pointing somewhere else.)
[[nodiscard]] Result<arch::S2Table, CodecError> try_encode_table(PhysAddr next);

// The form in which decode_leaf() gives back what encode_leaf() accepted:
// device kinds read back as outer shareable, because encode_leaf() writes
// them so whatever `shareability` asked for. For every `a` that encode_leaf()
// accepts, decode_leaf(encode_leaf(pa, level, a)).attrs == canonical_s2_attrs(a).
[[nodiscard]] constexpr S2Attrs canonical_s2_attrs(const S2Attrs& a) {
  S2Attrs c = a;
  if (a.kind == S2MemKind::kDeviceNgnre || a.kind == S2MemKind::kDeviceNgnrne)
    c.shareability = arch::Shareability::kOuterShareable;
  return c;
}

// A leaf encoding prepared once for many entries with the same attributes:
// make_leaf_template() makes every check encode_leaf() makes of `attrs` (and
// reports the same error, in the same order), so that an operation writing
// many leaves with one set of attributes (map(), protect()) validates and
// encodes them once and then pays a few instructions per entry. Built only
// by make_leaf_template() and by encode_leaf() itself, which adds the level,
// output and hint through leaf() too, so the two cannot disagree.
class S2LeafTemplate {
 public:
  // The leaf mapping `output` at `level`, with the contiguous hint when
  // `contiguous`: bit for bit what encode_leaf(output, level, attrs, config,
  // {contiguous}) returns. Preconditions, checked by the caller once per
  // operation rather than here per entry: `level` is 1, 2 or 3, and
  // `output` is below 2^48 and aligned to s2_entry_size(level) (what
  // encode_leaf() would otherwise refuse with kBadLevel, kOutputOutOfRange
  // and kMisaligned).
  [[nodiscard]] constexpr uint64_t leaf(PhysAddr output, unsigned level, bool contiguous) const {
    return arch::S2Leaf::from_raw(bits_)
        .with(arch::S2Leaf::is_page_or_table, level == 3)
        .with(arch::S2Leaf::output_address, output.value() >> kPageShift)
        .with(arch::S2Leaf::contiguous, contiguous)
        .raw();
  }

 private:
  friend Result<S2LeafTemplate, CodecError> make_leaf_template(const S2Attrs& attrs, S2CodecConfig config);
  friend Result<arch::S2Leaf, CodecError> encode_leaf(PhysAddr output, unsigned level, const S2Attrs& attrs,
                                                      S2CodecConfig config, S2LeafOptions options);
  constexpr explicit S2LeafTemplate(uint64_t bits) : bits_(bits) {}

  uint64_t bits_;  // the leaf for output 0 at level 1 (a block), without the hint
};

// Checks and encodes `attrs` once for S2LeafTemplate::leaf(). Errors: those
// encode_leaf() reports for `attrs` and `config` whatever the level and
// output (kSoftwareBitsTooWide, kBadShareability, kUnknownMemAttr,
// kExecutableDevice, kExecSplitUnsupported), in encode_leaf()'s order.
[[nodiscard]] Result<S2LeafTemplate, CodecError> make_leaf_template(const S2Attrs& attrs, S2CodecConfig config);

// Descriptor classification (valid / table / leaf by level).
//
// bits[1:0]: 0bx0 invalid; 0b11 table at levels 0-2 and page at level 3;
// 0b01 block at levels 1-2. At level 3, 0b01 is reserved and the
// architecture treats it as invalid; at level 0 with the 4K granule (no
// FEAT_LPA2) there are no blocks, so 0b01 is invalid too. Levels beyond 3
// do not exist: everything there is invalid. DDI 0487 K.a D8.3.1
// "VMSAv8-64 descriptor formats".
//
// Inline (as are table_address() and has_contiguous_hint()): the walker
// classifies every entry it visits, several times, on the fault-in path.
enum class S2DescKind : uint8_t { kInvalid, kTable, kBlock, kPage };
[[nodiscard]] constexpr S2DescKind classify(uint64_t raw, unsigned level) {
  if (!arch::S2Leaf::from_raw(raw).get(arch::S2Leaf::valid)) return S2DescKind::kInvalid;
  const bool bit1 = arch::S2Leaf::from_raw(raw).get(arch::S2Leaf::is_page_or_table);
  switch (level) {
    case 0:
      return bit1 ? S2DescKind::kTable : S2DescKind::kInvalid;
    case 1:
    case 2:
      return bit1 ? S2DescKind::kTable : S2DescKind::kBlock;
    case 3:
      return bit1 ? S2DescKind::kPage : S2DescKind::kInvalid;
    default:
      return S2DescKind::kInvalid;
  }
}

// The next-level table a table descriptor points at.
[[nodiscard]] constexpr PhysAddr table_address(uint64_t raw) {
  return PhysAddr(arch::S2Table::from_raw(raw).get(arch::S2Table::next_level) << kPageShift);
}

// Whether `raw` is a leaf at `level` with the contiguous hint set (cheaper
// than decode_leaf() for walks that only look for runs).
[[nodiscard]] constexpr bool has_contiguous_hint(uint64_t raw, unsigned level) {
  const S2DescKind kind = classify(raw, level);
  return (kind == S2DescKind::kBlock || kind == S2DescKind::kPage) &&
         arch::S2Leaf::from_raw(raw).get(arch::S2Leaf::contiguous);
}

// Bytes covered by one entry at `level` (4K granule).
[[nodiscard]] constexpr uint64_t s2_entry_size(unsigned level) {
  return uint64_t{1} << (kPageShift + 9 * (3 - level));
}

// The levels at which lamina uses the contiguous hint: 2 (32 MiB runs of
// 2 MiB blocks) and 3 (64 KiB runs of pages). Level 1 (16 GiB runs of 1 GiB
// blocks) is left out: such runs hardly ever occur in a VM's IPA space.
[[nodiscard]] constexpr bool s2_contiguous_level(unsigned level) { return level == 2 || level == 3; }

// Bytes covered by one contiguous run at `level`.
[[nodiscard]] constexpr uint64_t s2_contiguous_size(unsigned level) {
  return uint64_t{kS2ContiguousEntries} * s2_entry_size(level);
}

}  // namespace lamina::mm
