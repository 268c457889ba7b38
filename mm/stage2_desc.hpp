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

// Descriptor classification (valid / table / leaf by level).
enum class S2DescKind : uint8_t { kInvalid, kTable, kBlock, kPage };
[[nodiscard]] S2DescKind classify(uint64_t raw, unsigned level);

[[nodiscard]] PhysAddr table_address(uint64_t raw);

// Whether `raw` is a leaf at `level` with the contiguous hint set (cheaper
// than decode_leaf() for walks that only look for runs).
[[nodiscard]] bool has_contiguous_hint(uint64_t raw, unsigned level);

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
