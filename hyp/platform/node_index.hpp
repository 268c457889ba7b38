// An index of a validated device tree's nodes, built in one pass.
//
// libfdt answers every structural question (a node's parent, the node at a
// path, the node with a phandle or a compatible string, a node's path) by
// walking the structure block from the root, token by token, reading each
// property name through the strings block. With a few dozen such questions
// per blob, lamina's boot spent about half its own instructions in those
// walks. NodeIndex records, in one walk, what the questions need for every
// node: its offset, its parent, the extent of its subtree, its name, its
// phandle, its `compatible` and `device_type`, and whether its `status` is
// okay. Lookups are
// then a binary search or a scan of this table; the answers are libfdt's
// own (same offsets, same first match, same errors), which the unit tests
// check node by node against libfdt.
//
// The table is a fixed array: no heap. A tree with more nodes than it holds,
// or nested deeper than kMaxDepth, is not indexed (build() returns false)
// and DeviceTree falls back to libfdt's walks.
//
// Architecture-neutral: compiled for the EL2 image and for the host tests.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lamina::hyp::dt {

// Nodes one index holds: QEMU virt's tree has about 60, a Raspberry Pi 4's
// about 250.
inline constexpr size_t kMaxIndexedNodes = 512;

// One node. No default member initializers: build() sets every field, and
// a zero-initialized table stays in .bss instead of the image's .data.
struct IndexedNode {
  int32_t offset;           // the node's structure-block offset (libfdt's node offset)
  int32_t parent;           // index of the parent's entry; -1 for the root
  int32_t end;              // one past the index of the last entry in this node's subtree
  uint32_t phandle;         // fdt_get_phandle's answer: 0 if none
  uint32_t name;            // byte offset of the name (from the blob's start)
  uint32_t name_len;        // without the NUL
  uint32_t compatible;      // byte offset of the first `compatible` value
  int32_t compatible_len;   // its size in bytes; -1 if the node has none
  uint32_t device_type;     // byte offset of the first `device_type` value
  int32_t device_type_len;  // its size in bytes; -1 if the node has none
  bool enabled;             // `status` absent, "okay" or "ok"
};

class NodeIndex {
 public:
  // Indexes the blob, which must have passed fdt_check_full. Returns false
  // (and leaves the index empty) if the tree has more than kMaxIndexedNodes
  // nodes, nests deeper than kMaxDepth or libfdt reports an error.
  [[nodiscard]] bool build(const void* fdt);

  // Forgets the blob: empty() afterwards.
  void clear();

  [[nodiscard]] bool empty() const { return count_ == 0; }
  [[nodiscard]] const void* blob() const { return fdt_; }
  [[nodiscard]] size_t size() const { return count_; }
  [[nodiscard]] const IndexedNode& entry(size_t i) const { return nodes_[i]; }

  // The entry of the node at `offset`, or -1 if no node starts there.
  [[nodiscard]] int find(int offset) const;

  // fdt_path_offset_namelen for an absolute path ("/", "/a/b", repeated
  // slashes skipped): each component matches a child's full name, or its
  // name before '@' when the component has no '@'; the first such child in
  // blob order wins. Returns the node offset or -FDT_ERR_NOTFOUND
  // (-FDT_ERR_BADPATH if the path does not start with '/').
  [[nodiscard]] int path_offset(const char* path, size_t len) const;

  // fdt_node_offset_by_phandle: the first node whose phandle is `phandle`,
  // -FDT_ERR_BADPHANDLE for 0 and 0xffffffff, else -FDT_ERR_NOTFOUND.
  [[nodiscard]] int phandle_offset(uint32_t phandle) const;

  // Whether the node at entry `i` lists `compat` in its `compatible`
  // (fdt_node_check_compatible(...) == 0).
  [[nodiscard]] bool compatible(size_t i, const char* compat) const;

  // Whether the node at entry `i` has a `device_type` of exactly `type`
  // (its bytes and a NUL, as fdt_node_offset_by_prop_value compares).
  [[nodiscard]] bool device_type_is(size_t i, const char* type) const;

  // Writes the node's path like fdt_get_path ("/" for the root). Returns
  // false, with buf unspecified, if the path and its NUL do not fit.
  [[nodiscard]] bool path(size_t i, char* buf, size_t size) const;

 private:
  // Fills entry i's phandle, compatible and status from its properties
  // (a NodeProperties, private to the build).
  void finish_node(size_t i, const void* properties);
  // Empties the index; returns false (build's failure).
  bool fail();

  // True if entry i's name matches path component [s, s + len).
  [[nodiscard]] bool name_matches(size_t i, const char* s, size_t len) const;

  const void* fdt_ = nullptr;
  size_t count_ = 0;
  IndexedNode nodes_[kMaxIndexedNodes];
};

}  // namespace lamina::hyp::dt
