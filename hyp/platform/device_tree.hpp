// A thin typed layer over libfdt for platform discovery.
//
// libfdt hands out raw offsets, big-endian cells at 4-byte alignment and
// strings that are not guaranteed to be NUL-terminated inside their property.
// DeviceTree wraps one *validated* blob (header and full structure checked by
// open()) and answers the questions discovery asks in typed form: cell
// counts, `reg` entries, bus-to-CPU address translation through `ranges`,
// interrupt parents, compatible/status checks and node paths for messages.
// Every failure is a DtError naming the node (and property) involved.
//
// open() also indexes the tree (node_index.hpp) into one of a few static
// slots, so that parents, paths, phandles, compatible and device_type
// searches are lookups instead of libfdt walks from the root; the answers
// are the same. Opening the same unchanged blob again reuses its check and
// index. A DeviceTree whose slot was taken over by a later open(), or a
// tree too big to index, falls back to libfdt's walks. The blob must not
// change while a DeviceTree on it is used. Opening and querying are for one
// CPU at a time (at EL2: the boot CPU, before the VMs run).
//
// Architecture-neutral: compiled for the EL2 image and for the host tests.
// No heap, no exceptions; every loop is bounded by the blob (offsets only
// move forward) or by an explicit depth limit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "hyp/platform/platform.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp::dt {

// Deepest parent chain (bus nesting, interrupt-parent hops) followed before
// giving up; real trees nest 3-5 levels.
inline constexpr int kMaxDepth = 32;

// Offset of the root node. libfdt assumes the structure block starts with
// the root's FDT_BEGIN_NODE (fdt_path_offset("/") returns 0 without looking),
// so DeviceTree::open rejects blobs where it does not.
inline constexpr int kRootNode = 0;

// Bytes in one cell (a big-endian 32-bit value, DT spec 2.2.4).
inline constexpr size_t kCellBytes = 4;
// Widest address or size lamina reads: two cells, 64 bits.
inline constexpr uint32_t kMaxCells = 2;

// Reads one big-endian 32-bit cell at any alignment.
[[nodiscard]] uint32_t read_cell(const void* p);
// Reads `cells` (0, 1 or 2) big-endian cells at any alignment as one number
// (most significant cell first). Precondition: cells <= kMaxCells.
[[nodiscard]] uint64_t read_cells(const void* p, uint32_t cells);

// The length of a GIC interrupt specifier <type number flags>: a GIC
// node's #interrupt-cells.
inline constexpr uint32_t kGicInterruptCells = 3;

// Converts a 3-cell GIC interrupt specifier's <type number> to an INTID:
// type 0 = SPI (INTID 32 + number), type 1 = PPI (INTID 16 + number).
// Returns false for other types (the GICv3 extended ranges) and out-of-range
// numbers. (Binding: Documentation/devicetree/bindings/interrupt-controller/
// arm,gic.yaml and arm,gic-v3.yaml; INTID ranges: GIC IHI 0069 2.2
// "INTIDs".)
[[nodiscard]] bool gic_spec_to_intid(uint32_t type, uint32_t number, uint32_t* intid);

// Copies at most src_len bytes of src (stopping at a NUL) into dst, always
// NUL-terminating; truncates to dst_size - 1. dst_size 0 writes nothing.
void copy_string(char* dst, size_t dst_size, const char* src, size_t src_len);

// Fills a DtError in place (node copied and truncated to kMaxDtPath).
[[nodiscard]] DtError make_error(DtErrorCode code, const char* node, const char* property, const char* detail,
                                 int libfdt_error = 0);

// A property's raw value inside the blob.
struct Property {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// #address-cells / #size-cells of a bus node (defaults 2 and 1 when absent,
// as the DT spec 2.3.5 "#address-cells and #size-cells" says).
struct CellCounts {
  uint32_t address = 2;
  uint32_t size = 1;
};

class NodeIndex;
struct IndexedNode;

// One raw `reg` entry, in the parent bus's address space.
struct RegEntry {
  uint64_t address = 0;
  uint64_t size = 0;
};

// A node's `reg`, split into entries with the parent's cell counts.
struct Reg {
  int node = -1;
  const uint8_t* data = nullptr;
  size_t count = 0;
  CellCounts cells;

  // Precondition: index < count.
  [[nodiscard]] RegEntry entry(size_t index) const;
};

class DeviceTree {
 public:
  // Validates the blob: pointer, header (totalsize <= max_size, version 17)
  // and the whole structure block, so that nothing later walks into garbage.
  // Errors: kNoBlob, kBadHeader, kTooLarge, kMalformed.
  [[nodiscard]] static Result<DeviceTree, DtError> open(const void* blob, uint64_t max_size);

  [[nodiscard]] const void* blob() const { return fdt_; }
  [[nodiscard]] uint64_t total_size() const { return total_size_; }

  // Whether queries use the node index (false: libfdt walks; see above).
  [[nodiscard]] bool indexed() const { return index() != nullptr; }

  // The node after `node` in blob order (depth first), -1 for the first
  // (the root); -FDT_ERR_NOTFOUND after the last. Like fdt_next_node
  // without the depth.
  [[nodiscard]] int next_node(int node) const;

  // The node at an absolute path (no aliases), or a negative libfdt error.
  [[nodiscard]] int find_path(const char* path) const;

  // Resolves a path that may start with an alias ("serial0", "serial0/x")
  // or be absolute; `len` excludes any ":options". The alias's value must be
  // an absolute path (libfdt would recurse on alias-to-alias chains).
  // Errors: kMissingNode (node = what was looked for), kBadProperty.
  [[nodiscard]] Result<int, DtError> resolve_path(const char* path, size_t len, const char* property) const;

  // The first node after `node` in blob order (-1: from the root) whose
  // device_type is `type` (the string and its NUL, nothing more), or a
  // negative libfdt error (-FDT_ERR_NOTFOUND).
  [[nodiscard]] int next_of_device_type(int node, const char* type) const;

  // The first node compatible with `compat` whose status is okay, or a
  // negative libfdt error (-FDT_ERR_NOTFOUND).
  [[nodiscard]] int first_enabled_compatible(const char* compat) const;

  // True if the property exists; fills *out.
  [[nodiscard]] bool property(int node, const char* name, Property* out) const;
  [[nodiscard]] bool has_property(int node, const char* name) const;

  // The node's name ("" for the root), as fdt_get_name gives it: nullptr
  // (and *len a libfdt error) if `node` is no node. *len excludes the NUL.
  [[nodiscard]] const char* name(int node, int* len) const;

  // A node's properties in blob order, FDT_NOPs skipped, as libfdt's
  // fdt_first_property_offset / fdt_next_property_offset /
  // fdt_getprop_by_offset give them (and libfdt's errors: -FDT_ERR_NOTFOUND
  // after the last), without libfdt's per-token checks on an indexed tree.
  struct NamedProperty {
    const char* name = nullptr;
    Property value;
  };
  [[nodiscard]] int first_property(int node) const;
  [[nodiscard]] int next_property(int offset) const;
  // The property at `offset` (from first/next_property); false (and *error,
  // a libfdt error) if there is none.
  [[nodiscard]] bool property_at(int offset, NamedProperty* out, int* error) const;

  // A NUL-terminated, non-empty string property. When absent: nullptr if
  // !required, else kMissingProperty. Not terminated or empty: kBadProperty.
  [[nodiscard]] Result<const char*, DtError> string(int node, const char* name, bool required) const;
  // A one-cell property; absent -> kMissingProperty, wrong size -> kBadProperty.
  [[nodiscard]] Result<uint32_t, DtError> u32(int node, const char* name) const;
  // Same, but `fallback` when absent.
  [[nodiscard]] Result<uint32_t, DtError> u32_or(int node, const char* name, uint32_t fallback) const;

  // `compatible` lists `compat`.
  [[nodiscard]] bool is_compatible(int node, const char* compat) const;
  // `status` is absent, "okay" or "ok" (DT spec 2.3.4 "status").
  [[nodiscard]] bool is_enabled(int node) const;
  // The string property `name` equals `value` exactly (e.g. device_type).
  [[nodiscard]] bool string_equals(int node, const char* name, const char* value) const;

  // The parent of a non-root node. Errors: kMalformed.
  [[nodiscard]] Result<int, DtError> parent(int node) const;

  // #address-cells / #size-cells that `bus` gives its children, each at
  // most 4 (the libfdt limit). Errors: kBadProperty.
  [[nodiscard]] Result<CellCounts, DtError> child_cells(int bus) const;

  // `node`'s reg, using its parent's cell counts. Absent -> kMissingProperty;
  // empty or not a whole number of entries -> kBadProperty; addresses or
  // sizes wider than 64 bits -> kUnsupported.
  [[nodiscard]] Result<Reg, DtError> reg(int node) const;

  // Translates a `reg` entry of `node` (an address on node's parent bus) to a
  // CPU physical range, through the `ranges` of every ancestor up to the
  // root. Empty `ranges` is the identity; a non-root ancestor without
  // `ranges` cannot be translated (DT spec 2.3.8 "ranges").
  // Errors: kUntranslatable (node = the bus that stops translation),
  // kBadProperty (malformed ranges, or a range that wraps 64 bits).
  [[nodiscard]] Result<mm::PhysRange, DtError> translate(int node, RegEntry entry) const;

  // reg(node).entry(index), translated. index out of range -> kBadProperty.
  [[nodiscard]] Result<mm::PhysRange, DtError> reg_range(int node, size_t index) const;

  // The node whose phandle is `phandle` (an index lookup; libfdt's
  // fdt_node_offset_by_phandle walks the whole blob), or libfdt's negative
  // error (-FDT_ERR_NOTFOUND, -FDT_ERR_BADPHANDLE for 0 and ~0).
  [[nodiscard]] int node_by_phandle(uint32_t phandle) const;

  // The interrupt controller that `node`'s `interrupts` refer to: follows
  // interrupt-parent (by phandle) or else the tree parent until a node with
  // #interrupt-cells (DT spec 2.4.1 "Properties for Interrupt Generating
  // Devices"). Errors: kBadProperty (dangling phandle, endless chain).
  [[nodiscard]] Result<int, DtError> interrupt_parent(int node) const;

  // Writes node's full path (always NUL-terminated; a path too long for the
  // buffer becomes ".../<name>").
  void path(int node, char* buf, size_t size) const;

  // An error about `node` (its path is filled in).
  [[nodiscard]] DtError error(DtErrorCode code, int node, const char* property, const char* detail,
                              int libfdt_error = 0) const;

 private:
  struct IndexSlot;

  DeviceTree(const void* fdt, uint64_t total_size) : fdt_(fdt), total_size_(total_size) {}

  // The index of this blob, or nullptr if it is not (or no longer) indexed.
  [[nodiscard]] const NodeIndex* index() const;
  // The index entry of the node at `node`, or -1 (no index, not a node).
  [[nodiscard]] int entry_of(int node) const;

  // The offset of the first FDT_PROP at or after token `at`, NOPs skipped:
  // -FDT_ERR_NOTFOUND at any other token, -1 (ask libfdt) out of bounds.
  [[nodiscard]] int prop_token_from(size_t at) const;

  enum class IndexedProperty { kFound, kAbsent, kAskLibfdt };
  // property() for an indexed node without libfdt's per-token checks.
  [[nodiscard]] IndexedProperty indexed_property(const IndexedNode& node, const char* name,
                                                 Property* out) const;

  // Translates a bus address one level up, through `bus`'s ranges.
  [[nodiscard]] Result<uint64_t, DtError> translate_one(int bus, int bus_parent, uint64_t address,
                                                        uint64_t size) const;

  const void* fdt_;
  uint64_t total_size_;
  IndexSlot* slot_ = nullptr;  // where open() indexed the blob
  uint64_t generation_ = 0;    // the slot's generation then
};

// Header and pointer checks only (the first half of DeviceTree::open).
[[nodiscard]] Result<uint64_t, DtError> check_header(const void* blob, uint64_t max_size);

}  // namespace lamina::hyp::dt
