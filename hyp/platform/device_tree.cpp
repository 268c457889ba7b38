#include "hyp/platform/device_tree.hpp"

#include <climits>
#include <cstring>
#include <libfdt.h>

#include "hyp/platform/node_index.hpp"

namespace lamina::hyp::dt {

namespace {

// What libfdt reads of a blob, remembered by its slot so that opening the
// same unchanged blob again skips fdt_check_full and the index build
// (lamina's boot opens the host DT four times: console, discovery, the VM
// descriptions, the guest's timer). That is the header with the memory
// reservation block (everything before the structure and strings blocks),
// the structure block and the strings block; not the free space a blob may
// carry for in-place edits (QEMU virt's DT as lamina-qemu passes it: 35 KiB
// of which 8 KiB are blocks). A Raspberry Pi 4's blocks are 27 KiB.
constexpr size_t kMaxRememberedBlob = 32 * 1024;

struct BlobBlocks {
  size_t prefix = 0;  // header + memory reservation block: [0, prefix)
  size_t struct_offset = 0;
  size_t struct_size = 0;
  size_t strings_offset = 0;
  size_t strings_size = 0;

  [[nodiscard]] size_t total() const { return prefix + struct_size + strings_size; }
};

// The blocks of a blob that passed check_header, or false if its layout is
// not the usual one (reservations first), which is then not remembered.
bool blob_blocks(const void* fdt, BlobBlocks* out) {
  out->struct_offset = fdt_off_dt_struct(fdt);
  out->struct_size = fdt_size_dt_struct(fdt);
  out->strings_offset = fdt_off_dt_strings(fdt);
  out->strings_size = fdt_size_dt_strings(fdt);
  out->prefix = out->struct_offset < out->strings_offset ? out->struct_offset : out->strings_offset;
  return fdt_off_mem_rsvmap(fdt) < out->prefix && out->total() <= kMaxRememberedBlob;
}

// memcmp(a, b, n) == 0, eight bytes at a time (lamina's own memcmp at EL2
// goes a byte at a time).
bool same_bytes(const uint8_t* a, const uint8_t* b, size_t n) {
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
    uint64_t x;
    uint64_t y;
    memcpy(&x, a + i, sizeof(x));
    memcpy(&y, b + i, sizeof(y));
    diff |= x ^ y;
  }
  return diff == 0 && memcmp(a + i, b + i, n - i) == 0;
}

}  // namespace

// One index and the open() that built it: a DeviceTree uses the index only
// while the slot's generation is the one it was opened with. Every member
// starts as zero, so that the pool stays in .bss rather than the image.
struct DeviceTree::IndexSlot {
  NodeIndex index;
  uint64_t generation;
  const void* blob;     // the blob checked and indexed
  uint64_t total_size;  // its totalsize
  BlobBlocks blocks;    // its blocks, copied into `bytes` one after the other
  bool remembered;      // `bytes` holds them
  uint8_t bytes[kMaxRememberedBlob];

  // The blob at `fdt` is the one this slot checked and indexed, unchanged in
  // everything libfdt reads.
  [[nodiscard]] bool holds(const void* fdt, uint64_t total) const {
    if (!remembered || blob != fdt || total_size != total || index.empty()) return false;
    BlobBlocks now;
    if (!blob_blocks(fdt, &now) || now.prefix != blocks.prefix || now.struct_offset != blocks.struct_offset ||
        now.struct_size != blocks.struct_size || now.strings_offset != blocks.strings_offset ||
        now.strings_size != blocks.strings_size) {
      return false;
    }
    const auto* p = static_cast<const uint8_t*>(fdt);
    return same_bytes(p, bytes, blocks.prefix) &&
           same_bytes(p + blocks.struct_offset, bytes + blocks.prefix, blocks.struct_size) &&
           same_bytes(p + blocks.strings_offset, bytes + blocks.prefix + blocks.struct_size,
                      blocks.strings_size);
  }

  void remember(const void* fdt, uint64_t total) {
    blob = fdt;
    total_size = total;
    remembered = blob_blocks(fdt, &blocks);
    if (!remembered) return;
    const auto* p = static_cast<const uint8_t*>(fdt);
    memcpy(bytes, p, blocks.prefix);
    memcpy(bytes + blocks.prefix, p + blocks.struct_offset, blocks.struct_size);
    memcpy(bytes + blocks.prefix + blocks.struct_size, p + blocks.strings_offset, blocks.strings_size);
  }
};

namespace {

using dt::kCellBytes;

// Largest cell count libfdt's own fdt_address_cells accepts (FDT_MAX_NCELLS);
// wider values are garbage, not just "unsupported".
constexpr uint32_t kMaxCellCount = 4;

// Rounds a structure-block offset up to the next token (libfdt's internal
// FDT_TAGALIGN; DT spec 5.4.1 "Lexical structure": tokens are 32-bit aligned).
constexpr size_t tag_align(size_t offset) { return (offset + FDT_TAGSIZE - 1) & ~(FDT_TAGSIZE - 1); }

constexpr int to_int(size_t n) { return n > INT_MAX ? INT_MAX : static_cast<int>(n); }

const char* header_detail(int libfdt_error) {
  switch (-libfdt_error) {
    case FDT_ERR_BADMAGIC:
      return "bad magic (expected 0xd00dfeed)";
    case FDT_ERR_BADVERSION:
      return "unsupported FDT version";
    case FDT_ERR_TRUNCATED:
      return "the header's sizes and offsets do not fit in totalsize";
    default:
      return "fdt_check_header rejected the header";
  }
}

}  // namespace

uint32_t read_cell(const void* p) {
  fdt32_t raw;
  memcpy(&raw, p, sizeof(raw));
  return fdt32_to_cpu(raw);
}

uint64_t read_cells(const void* p, uint32_t cells) {
  const auto* bytes = static_cast<const uint8_t*>(p);
  uint64_t value = 0;
  for (uint32_t i = 0; i < cells && i < kMaxCells; ++i) {
    value = (value << 32) | read_cell(bytes + i * kCellBytes);
  }
  return value;
}

bool gic_spec_to_intid(uint32_t type, uint32_t number, uint32_t* intid) {
  // Binding values: 0 = SPI, 1 = PPI (2/3 are GICv3's extended SPI/PPI
  // ranges, which lamina does not handle). SPIs are INTIDs 32..1019 and PPIs
  // 16..31 (GIC IHI 0069 2.2 "INTIDs").
  constexpr uint32_t kSpiBase = 32;
  constexpr uint32_t kSpiCount = 1020 - kSpiBase;
  constexpr uint32_t kPpiBase = 16;
  constexpr uint32_t kPpiCount = 16;
  if (type == 0 && number < kSpiCount) {
    *intid = kSpiBase + number;
    return true;
  }
  if (type == 1 && number < kPpiCount) {
    *intid = kPpiBase + number;
    return true;
  }
  return false;
}

void copy_string(char* dst, size_t dst_size, const char* src, size_t src_len) {
  if (dst_size == 0) return;
  size_t n = src == nullptr ? 0 : strnlen(src, src_len);
  if (n > dst_size - 1) n = dst_size - 1;
  if (n != 0) memcpy(dst, src, n);
  dst[n] = '\0';
}

DtError make_error(DtErrorCode code, const char* node, const char* property, const char* detail,
                   int libfdt_error) {
  DtError e;
  e.code = code;
  copy_string(e.node, sizeof(e.node), node, sizeof(e.node));
  e.property = property;
  e.libfdt_error = libfdt_error;
  e.detail = detail;
  return e;
}

RegEntry Reg::entry(size_t index) const {
  const size_t stride = (cells.address + cells.size) * kCellBytes;
  const uint8_t* p = data + index * stride;
  RegEntry e;
  e.address = read_cells(p, cells.address);
  e.size = read_cells(p + cells.address * kCellBytes, cells.size);
  return e;
}

Result<uint64_t, DtError> check_header(const void* blob, uint64_t max_size) {
  if (blob == nullptr) {
    return Err{make_error(DtErrorCode::kNoBlob, "blob", nullptr, "the device tree pointer is null")};
  }
  // Documentation/arch/arm64/booting.rst, "Setup the device tree": the blob
  // is 8-byte aligned. libfdt also reads 64-bit memreserve fields in place.
  if (reinterpret_cast<uintptr_t>(blob) % 8 != 0) {
    return Err{
        make_error(DtErrorCode::kNoBlob, "blob", nullptr, "the device tree pointer is not 8-byte aligned")};
  }
  if (max_size < sizeof(fdt_header)) {
    return Err{make_error(DtErrorCode::kTooLarge, "header", nullptr,
                          "fewer bytes allowed than an FDT header needs")};
  }
  const int err = fdt_check_header(blob);
  if (err != 0) {
    return Err{make_error(DtErrorCode::kBadHeader, "header", nullptr, header_detail(err), err)};
  }
  // Version 17 added size_dt_struct, which bounds every structure read;
  // libfdt also mishandles some malformed pre-16 trees. Everything since
  // 2007 (dtc, QEMU, U-Boot, firmware) writes 17.
  if (fdt_version(blob) < 17) {
    return Err{make_error(DtErrorCode::kBadHeader, "header", nullptr, "lamina needs FDT version 17 or later",
                          -FDT_ERR_BADVERSION)};
  }
  const uint64_t total = fdt_totalsize(blob);
  if (total > max_size) {
    return Err{make_error(DtErrorCode::kTooLarge, "header", nullptr,
                          "totalsize is larger than the bytes allowed for the blob")};
  }
  return total;
}

namespace {

// Writes the path of the last node reachable in a blob whose structure
// failed fdt_check_full, to say where it broke. Returns false if not even
// the root is reachable. fdt_get_path cannot be used here: on an unbalanced
// tree (depth going negative) it indexes before its buffer. This walk keeps
// its own path, refuses impossible depth changes, and is bounded: offsets
// only grow, libfdt stops at the end of the structure block, and depth is
// capped at kMaxDepth.
bool last_reachable_path(const void* blob, char* out, size_t out_size) {
  int depth = 0;
  if (fdt_next_node(blob, -1, &depth) != kRootNode) return false;

  char path[4 * kMaxDtPath];
  size_t end[kMaxDepth + 1] = {};  // length of the current path at each depth
  size_t last_len = 0;
  const char* last_name = "";
  size_t last_name_len = 0;
  int previous = -1;
  depth = 0;
  for (int offset = kRootNode; offset >= 0; offset = fdt_next_node(blob, offset, &depth)) {
    if (depth < 0 || depth > previous + 1 || depth > kMaxDepth) break;
    int name_len = 0;
    const char* name = fdt_get_name(blob, offset, &name_len);
    if (name == nullptr || name_len < 0) break;
    size_t len = 1;  // the root is "/"
    path[0] = '/';
    if (depth > 0) {
      len = end[depth - 1];
      if (depth > 1 && len < sizeof(path)) path[len++] = '/';
      const size_t room = sizeof(path) - len;
      const size_t copy = static_cast<size_t>(name_len) < room ? static_cast<size_t>(name_len) : room;
      memcpy(path + len, name, copy);
      len += copy;
    }
    end[depth] = len;
    last_len = len;
    last_name = name;
    last_name_len = static_cast<size_t>(name_len);
    previous = depth;
  }
  if (previous < 0) return false;
  if (last_len < out_size) {
    copy_string(out, out_size, path, last_len);
  } else {
    copy_string(out, out_size, ".../", 4);
    const size_t used = strlen(out);
    copy_string(out + used, out_size - used, last_name, last_name_len);
  }
  return true;
}

// Index storage: a bounded static pool, as lamina has no heap at EL2. Two
// slots let two trees be open at once (e.g. the host's and a guest's); a
// third open() takes over the least recently built slot.
constexpr size_t kIndexSlots = 2;

}  // namespace

Result<DeviceTree, DtError> DeviceTree::open(const void* blob, uint64_t max_size) {
  static IndexSlot slots[kIndexSlots];
  static uint64_t generation = 0;
  static size_t next_slot = 0;

  const uint64_t total = TRY(check_header(blob, max_size));

  for (IndexSlot& slot : slots) {
    if (slot.holds(blob, total)) {
      DeviceTree tree(blob, total);
      tree.slot_ = &slot;
      tree.generation_ = slot.generation;
      return tree;
    }
  }

  // Walk the whole structure block (tokens, nesting, name and property
  // string bounds) once, so that a corrupted blob is reported here rather
  // than misparsed later.
  int err = fdt_check_full(blob, static_cast<size_t>(total));
  int depth = 0;
  if (err == 0 && fdt_next_node(blob, -1, &depth) != kRootNode) err = -FDT_ERR_BADSTRUCTURE;
  if (err == 0) {
    DeviceTree tree(blob, total);
    IndexSlot& slot = slots[next_slot];
    next_slot = (next_slot + 1) % kIndexSlots;
    slot.generation = ++generation;  // whoever used this slot before falls back to walking
    slot.remembered = false;
    if (slot.index.build(blob)) {
      slot.remember(blob, total);
      tree.slot_ = &slot;
      tree.generation_ = slot.generation;
    }
    return tree;
  }

  DtError e = make_error(DtErrorCode::kMalformed, "structure block", nullptr,
                         "the structure block is corrupt before the root node", err);
  if (last_reachable_path(blob, e.node, sizeof(e.node))) {
    e.detail = "the structure block is corrupt at or after this node";
  }
  return Err{e};
}

const NodeIndex* DeviceTree::index() const {
  return slot_ != nullptr && slot_->generation == generation_ ? &slot_->index : nullptr;
}

int DeviceTree::entry_of(int node) const {
  const NodeIndex* nodes = index();
  return nodes == nullptr ? -1 : nodes->find(node);
}

int DeviceTree::next_node(int node) const {
  if (const NodeIndex* nodes = index()) {
    if (node < 0) return nodes->entry(0).offset;
    const int e = nodes->find(node);
    if (e >= 0) {
      const auto next = static_cast<size_t>(e) + 1;
      return next < nodes->size() ? nodes->entry(next).offset : -FDT_ERR_NOTFOUND;
    }
  }
  return fdt_next_node(fdt_, node, nullptr);
}

int DeviceTree::find_path(const char* path) const {
  // Only absolute paths: libfdt resolves a leading alias recursively.
  if (path == nullptr || path[0] != '/') return -FDT_ERR_BADPATH;
  if (const NodeIndex* nodes = index()) return nodes->path_offset(path, strlen(path));
  return fdt_path_offset(fdt_, path);
}

Result<int, DtError> DeviceTree::resolve_path(const char* path, size_t len, const char* property) const {
  char joined[2 * kMaxDtPath];
  const char* full = path;
  size_t full_len = len;

  if (len == 0) {
    return Err{make_error(DtErrorCode::kBadProperty, "/chosen", property, "the path is empty")};
  }
  if (path[0] != '/') {
    // "alias" or "alias/sub/node": the alias's value replaces the first
    // component (DT spec 3.3 "/aliases node").
    const auto* slash = static_cast<const char*>(memchr(path, '/', len));
    const size_t alias_len = slash == nullptr ? len : static_cast<size_t>(slash - path);
    DtError missing = make_error(DtErrorCode::kMissingNode, "", property,
                                 "the path starts with an alias that /aliases does not define");
    copy_string(missing.node, sizeof(missing.node), path, len);
    const int aliases = find_path("/aliases");
    if (aliases < 0) return Err{missing};
    int value_len = 0;
    const auto* value =
        static_cast<const char*>(fdt_getprop_namelen(fdt_, aliases, path, to_int(alias_len), &value_len));
    if (value == nullptr || value_len < 0) return Err{missing};
    const auto size = static_cast<size_t>(value_len);
    if (size < 2 || strnlen(value, size) != size - 1 || value[0] != '/') {
      return Err{make_error(DtErrorCode::kBadProperty, "/aliases", nullptr,
                            "an alias is not a NUL-terminated absolute path")};
    }
    const size_t rest = len - alias_len;
    if (size - 1 + rest >= sizeof(joined)) {
      return Err{make_error(DtErrorCode::kBadProperty, "/aliases", nullptr,
                            "an alias expands to a path that is too long")};
    }
    memcpy(joined, value, size - 1);
    if (rest != 0) memcpy(joined + size - 1, path + alias_len, rest);
    full = joined;
    full_len = size - 1 + rest;
  }

  const NodeIndex* nodes = index();
  const int node = nodes != nullptr ? nodes->path_offset(full, full_len)
                                    : fdt_path_offset_namelen(fdt_, full, to_int(full_len));
  if (node < 0) {
    DtError e = make_error(DtErrorCode::kMissingNode, "", property, "no node at this path", node);
    copy_string(e.node, sizeof(e.node), full, full_len);
    return Err{e};
  }
  return node;
}

int DeviceTree::next_of_device_type(int node, const char* type) const {
  if (const NodeIndex* nodes = index()) {
    const int e = node < 0 ? -1 : nodes->find(node);
    if (node < 0 || e >= 0) {
      for (auto i = static_cast<size_t>(e + 1); i < nodes->size(); ++i) {
        if (nodes->device_type_is(i, type)) return nodes->entry(i).offset;
      }
      return -FDT_ERR_NOTFOUND;
    }
  }
  return fdt_node_offset_by_prop_value(fdt_, node, "device_type", type, to_int(strlen(type) + 1));
}

int DeviceTree::first_enabled_compatible(const char* compat) const {
  if (const NodeIndex* nodes = index()) {
    for (size_t i = 0; i < nodes->size(); ++i) {
      if (nodes->entry(i).enabled && nodes->compatible(i, compat)) return nodes->entry(i).offset;
    }
    return -FDT_ERR_NOTFOUND;
  }
  for (int node = fdt_node_offset_by_compatible(fdt_, -1, compat); node >= 0;
       node = fdt_node_offset_by_compatible(fdt_, node, compat)) {
    if (is_enabled(node)) return node;
  }
  return -FDT_ERR_NOTFOUND;
}

// fdt_getprop's answer for an indexed node, read straight from the
// structure block: the node's properties are the FDT_PROP tokens (FDT_NOPs
// skipped) after its FDT_BEGIN_NODE tag and name, up to the first other
// token (DT spec 5.4 "Structure Block"). fdt_check_full at open() checked
// every token, length and name offset already; libfdt checks them again on
// each of the dozen lookups a passthrough device takes (~4,000 instructions
// each on QEMU virt, against ~300 here). Anything out of bounds is left to
// libfdt (kAskLibfdt), so a blob that changed under the index errs as before.
DeviceTree::IndexedProperty DeviceTree::indexed_property(const IndexedNode& n, const char* name,
                                                         Property* out) const {
  const auto* base = static_cast<const uint8_t*>(fdt_);
  const size_t struct_size = fdt_size_dt_struct(fdt_);
  const uint8_t* block = base + fdt_off_dt_struct(fdt_);
  const char* strings = static_cast<const char*>(fdt_) + fdt_off_dt_strings(fdt_);
  const size_t strings_size = fdt_size_dt_strings(fdt_);
  const size_t name_len = strlen(name);
  size_t at = tag_align(static_cast<size_t>(n.offset) + FDT_TAGSIZE + n.name_len + 1);
  for (;;) {
    if (at + FDT_TAGSIZE > struct_size) return IndexedProperty::kAskLibfdt;
    const uint32_t tag = read_cell(block + at);
    if (tag == FDT_NOP) {
      at += FDT_TAGSIZE;
      continue;
    }
    if (tag != FDT_PROP) return IndexedProperty::kAbsent;
    if (at + sizeof(struct fdt_property) > struct_size) return IndexedProperty::kAskLibfdt;
    const uint32_t len = read_cell(block + at + offsetof(struct fdt_property, len));
    const uint32_t nameoff = read_cell(block + at + offsetof(struct fdt_property, nameoff));
    const size_t data_at = at + sizeof(struct fdt_property);
    if (len > struct_size - data_at || nameoff >= strings_size || name_len >= strings_size - nameoff) {
      return IndexedProperty::kAskLibfdt;
    }
    // libfdt's fdt_string_eq_: the whole name, NUL included.
    if (memcmp(strings + nameoff, name, name_len + 1) == 0) {
      out->data = block + data_at;
      out->size = len;
      return IndexedProperty::kFound;
    }
    at = tag_align(data_at + len);
  }
}

bool DeviceTree::property(int node, const char* name, Property* out) const {
  if (const NodeIndex* nodes = index()) {
    const int e = nodes->find(node);
    if (e >= 0) {
      const IndexedProperty found = indexed_property(nodes->entry(static_cast<size_t>(e)), name, out);
      if (found != IndexedProperty::kAskLibfdt) return found == IndexedProperty::kFound;
    }
  }
  int len = 0;
  const void* data = fdt_getprop(fdt_, node, name, &len);
  if (data == nullptr || len < 0) return false;
  out->data = static_cast<const uint8_t*>(data);
  out->size = static_cast<size_t>(len);
  return true;
}

const char* DeviceTree::name(int node, int* len) const {
  const int e = entry_of(node);
  if (e >= 0) {
    const IndexedNode& n = index()->entry(static_cast<size_t>(e));
    *len = static_cast<int>(n.name_len);
    return static_cast<const char*>(fdt_) + n.name;
  }
  return fdt_get_name(fdt_, node, len);
}

int DeviceTree::prop_token_from(size_t at) const {
  const size_t struct_size = fdt_size_dt_struct(fdt_);
  const uint8_t* block = static_cast<const uint8_t*>(fdt_) + fdt_off_dt_struct(fdt_);
  for (;;) {
    if (at + FDT_TAGSIZE > struct_size || at > INT_MAX) return -1;
    const uint32_t tag = read_cell(block + at);
    if (tag == FDT_PROP) return static_cast<int>(at);
    if (tag != FDT_NOP) return -FDT_ERR_NOTFOUND;
    at += FDT_TAGSIZE;
  }
}

int DeviceTree::first_property(int node) const {
  if (const NodeIndex* nodes = index()) {
    const int e = nodes->find(node);
    if (e >= 0) {
      const IndexedNode& n = nodes->entry(static_cast<size_t>(e));
      const int at = prop_token_from(tag_align(static_cast<size_t>(n.offset) + FDT_TAGSIZE + n.name_len + 1));
      if (at != -1) return at;
    }
  }
  return fdt_first_property_offset(fdt_, node);
}

int DeviceTree::next_property(int offset) const {
  if (index() != nullptr && offset >= 0) {
    const size_t struct_size = fdt_size_dt_struct(fdt_);
    const uint8_t* block = static_cast<const uint8_t*>(fdt_) + fdt_off_dt_struct(fdt_);
    const auto at = static_cast<size_t>(offset);
    if (at + sizeof(struct fdt_property) <= struct_size && read_cell(block + at) == FDT_PROP) {
      const uint32_t len = read_cell(block + at + offsetof(struct fdt_property, len));
      const size_t data_at = at + sizeof(struct fdt_property);
      if (len <= struct_size - data_at) {
        const int next = prop_token_from(tag_align(data_at + len));
        if (next != -1) return next;
      }
    }
  }
  return fdt_next_property_offset(fdt_, offset);
}

bool DeviceTree::property_at(int offset, NamedProperty* out, int* error) const {
  if (index() != nullptr && offset >= 0) {
    const size_t struct_size = fdt_size_dt_struct(fdt_);
    const uint8_t* block = static_cast<const uint8_t*>(fdt_) + fdt_off_dt_struct(fdt_);
    const char* strings = static_cast<const char*>(fdt_) + fdt_off_dt_strings(fdt_);
    const size_t strings_size = fdt_size_dt_strings(fdt_);
    const auto at = static_cast<size_t>(offset);
    if (at + sizeof(struct fdt_property) <= struct_size && read_cell(block + at) == FDT_PROP) {
      const uint32_t len = read_cell(block + at + offsetof(struct fdt_property, len));
      const uint32_t nameoff = read_cell(block + at + offsetof(struct fdt_property, nameoff));
      const size_t data_at = at + sizeof(struct fdt_property);
      if (len <= struct_size - data_at && nameoff < strings_size &&
          memchr(strings + nameoff, '\0', strings_size - nameoff) != nullptr) {
        out->name = strings + nameoff;
        out->value = Property{block + data_at, len};
        return true;
      }
    }
  }
  int len = 0;
  const char* name = nullptr;
  const void* data = fdt_getprop_by_offset(fdt_, offset, &name, &len);
  if (data == nullptr || name == nullptr || len < 0) {
    *error = data == nullptr ? len : -FDT_ERR_BADSTRUCTURE;
    return false;
  }
  out->name = name;
  out->value = Property{static_cast<const uint8_t*>(data), static_cast<size_t>(len)};
  return true;
}

bool DeviceTree::has_property(int node, const char* name) const {
  Property unused;
  return property(node, name, &unused);
}

Result<const char*, DtError> DeviceTree::string(int node, const char* name, bool required) const {
  Property p;
  if (!property(node, name, &p)) {
    if (!required) return static_cast<const char*>(nullptr);
    return Err{error(DtErrorCode::kMissingProperty, node, name, "the property is required")};
  }
  const auto* text = reinterpret_cast<const char*>(p.data);
  if (p.size < 2 || text[0] == '\0' || strnlen(text, p.size) == p.size) {
    return Err{error(DtErrorCode::kBadProperty, node, name, "expected a non-empty NUL-terminated string")};
  }
  return text;
}

Result<uint32_t, DtError> DeviceTree::u32(int node, const char* name) const {
  Property p;
  if (!property(node, name, &p)) {
    return Err{error(DtErrorCode::kMissingProperty, node, name, "the property is required")};
  }
  if (p.size != kCellBytes) {
    return Err{error(DtErrorCode::kBadProperty, node, name, "expected exactly one cell")};
  }
  return read_cell(p.data);
}

Result<uint32_t, DtError> DeviceTree::u32_or(int node, const char* name, uint32_t fallback) const {
  if (!has_property(node, name)) return fallback;
  return u32(node, name);
}

bool DeviceTree::is_compatible(int node, const char* compat) const {
  const int e = entry_of(node);
  if (e >= 0) return index()->compatible(static_cast<size_t>(e), compat);
  return fdt_node_check_compatible(fdt_, node, compat) == 0;
}

bool DeviceTree::is_enabled(int node) const {
  const int e = entry_of(node);
  if (e >= 0) return index()->entry(static_cast<size_t>(e)).enabled;
  Property p;
  if (!property(node, "status", &p)) return true;
  const auto* text = reinterpret_cast<const char*>(p.data);
  const size_t len = strnlen(text, p.size);
  return (len == 4 && strncmp(text, "okay", 4) == 0) || (len == 2 && strncmp(text, "ok", 2) == 0);
}

bool DeviceTree::string_equals(int node, const char* name, const char* value) const {
  Property p;
  if (!property(node, name, &p)) return false;
  const size_t len = strlen(value);
  return p.size == len + 1 && memcmp(p.data, value, len) == 0 && p.data[len] == '\0';
}

Result<int, DtError> DeviceTree::parent(int node) const {
  if (const NodeIndex* nodes = index()) {
    const int e = nodes->find(node);
    const int up = e < 0 ? -1 : nodes->entry(static_cast<size_t>(e)).parent;
    if (up < 0) {
      return Err{error(DtErrorCode::kMalformed, node, nullptr, "the node has no parent", -FDT_ERR_NOTFOUND)};
    }
    return nodes->entry(static_cast<size_t>(up)).offset;
  }
  // Without an index: one walk from the root that remembers the last node
  // seen at each depth (fdt_parent_offset walks the blob twice: once for
  // the node's depth, once for the ancestor at depth - 1). open() checked
  // the structure, so depth grows by one at most per step: a node's parent
  // is the last node seen one level up, already recorded when the node is
  // reached.
  int ancestors[kMaxDepth + 1];
  int depth = 0;
  int up = -FDT_ERR_NOTFOUND;
  for (int offset = kRootNode; offset >= 0 && depth >= 0; offset = fdt_next_node(fdt_, offset, &depth)) {
    if (depth > kMaxDepth) {  // deeper than this walk keeps: libfdt's own
      up = fdt_parent_offset(fdt_, node);
      break;
    }
    if (offset == node) {
      if (depth > 0) up = ancestors[depth - 1];
      break;
    }
    ancestors[depth] = offset;
    if (offset > node) break;  // `node` is not a node's offset
  }
  if (up < 0) {
    return Err{error(DtErrorCode::kMalformed, node, nullptr, "the node has no parent", up)};
  }
  return up;
}

Result<CellCounts, DtError> DeviceTree::child_cells(int bus) const {
  CellCounts cells;
  Property p;
  if (property(bus, "#address-cells", &p)) {
    if (p.size != kCellBytes || read_cell(p.data) > kMaxCellCount) {
      return Err{error(DtErrorCode::kBadProperty, bus, "#address-cells",
                       "expected one cell with a value of at most 4")};
    }
    cells.address = read_cell(p.data);
  }
  if (property(bus, "#size-cells", &p)) {
    if (p.size != kCellBytes || read_cell(p.data) > kMaxCellCount) {
      return Err{error(DtErrorCode::kBadProperty, bus, "#size-cells",
                       "expected one cell with a value of at most 4")};
    }
    cells.size = read_cell(p.data);
  }
  return cells;
}

Result<Reg, DtError> DeviceTree::reg(int node) const {
  Property p;
  if (!property(node, "reg", &p)) {
    return Err{error(DtErrorCode::kMissingProperty, node, "reg", "the node has no reg")};
  }
  const int bus = TRY(parent(node));
  const CellCounts cells = TRY(child_cells(bus));
  if (cells.address == 0 || cells.address > kMaxCells || cells.size > kMaxCells) {
    return Err{error(DtErrorCode::kUnsupported, node, "reg",
                     "the parent's #address-cells/#size-cells give addresses or sizes lamina "
                     "cannot read (1-2 address cells, 0-2 size cells)")};
  }
  const size_t stride = (cells.address + cells.size) * kCellBytes;
  if (p.size == 0 || p.size % stride != 0) {
    return Err{
        error(DtErrorCode::kBadProperty, node, "reg", "reg is not a whole number of <address size> entries")};
  }
  Reg reg;
  reg.node = node;
  reg.data = p.data;
  reg.count = p.size / stride;
  reg.cells = cells;
  return reg;
}

Result<uint64_t, DtError> DeviceTree::translate_one(int bus, int bus_parent, uint64_t address,
                                                    uint64_t size) const {
  Property ranges;
  if (!property(bus, "ranges", &ranges)) {
    return Err{error(DtErrorCode::kUntranslatable, bus, "ranges",
                     "this bus has no ranges, so its children's addresses are not CPU "
                     "addresses")};
  }
  if (ranges.size == 0) return address;  // `ranges;`: identity mapping

  const CellCounts child = TRY(child_cells(bus));
  const CellCounts up = TRY(child_cells(bus_parent));
  if (child.address == 0 || child.address > kMaxCells || up.address == 0 || up.address > kMaxCells ||
      child.size == 0 || child.size > kMaxCells) {
    return Err{error(DtErrorCode::kUntranslatable, bus, "ranges",
                     "ranges with addresses or sizes wider than 64 bits")};
  }
  const size_t stride = (child.address + up.address + child.size) * kCellBytes;
  if (ranges.size % stride != 0) {
    return Err{error(DtErrorCode::kBadProperty, bus, "ranges",
                     "ranges is not a whole number of <child parent size> entries")};
  }
  for (size_t i = 0; i < ranges.size / stride; ++i) {
    const uint8_t* p = ranges.data + i * stride;
    const uint64_t child_base = read_cells(p, child.address);
    const uint64_t parent_base = read_cells(p + child.address * kCellBytes, up.address);
    const uint64_t window = read_cells(p + (child.address + up.address) * kCellBytes, child.size);
    if (address < child_base || address - child_base >= window) continue;
    const uint64_t offset = address - child_base;
    if (size > window - offset) {
      return Err{error(DtErrorCode::kUntranslatable, bus, "ranges",
                       "the region runs past the end of this bus's ranges window")};
    }
    uint64_t translated = 0;
    if (!mm::checked_add(parent_base, offset, &translated)) {
      return Err{error(DtErrorCode::kBadProperty, bus, "ranges",
                       "a ranges window wraps past the 64-bit address space")};
    }
    return translated;
  }
  return Err{error(DtErrorCode::kUntranslatable, bus, "ranges",
                   "the address lies outside every window of this bus's ranges")};
}

Result<mm::PhysRange, DtError> DeviceTree::translate(int node, RegEntry entry) const {
  uint64_t address = entry.address;
  int bus = TRY(parent(node));
  for (int depth = 0; bus != kRootNode; ++depth) {
    if (depth >= kMaxDepth) {
      return Err{error(DtErrorCode::kUnsupported, node, "reg", "the node is nested too deeply")};
    }
    const int up = TRY(parent(bus));
    address = TRY(translate_one(bus, up, address, entry.size));
    bus = up;
  }
  if (entry.size != 0 && address > UINT64_MAX - (entry.size - 1)) {
    return Err{
        error(DtErrorCode::kBadProperty, node, "reg", "the region wraps past the 64-bit address space")};
  }
  mm::PhysRange range;
  range.base = mm::PhysAddr(address);
  range.size = entry.size;
  return range;
}

Result<mm::PhysRange, DtError> DeviceTree::reg_range(int node, size_t index) const {
  const Reg r = TRY(reg(node));
  if (index >= r.count) {
    return Err{error(DtErrorCode::kBadProperty, node, "reg", "reg has too few entries")};
  }
  return translate(node, r.entry(index));
}

int DeviceTree::node_by_phandle(uint32_t phandle) const {
  const NodeIndex* nodes = index();
  return nodes != nullptr ? nodes->phandle_offset(phandle) : fdt_node_offset_by_phandle(fdt_, phandle);
}

Result<int, DtError> DeviceTree::interrupt_parent(int node) const {
  int current = node;
  for (int hop = 0; hop < kMaxDepth; ++hop) {
    int next = -1;
    Property link;
    if (property(current, "interrupt-parent", &link)) {
      if (link.size != kCellBytes) {
        return Err{
            error(DtErrorCode::kBadProperty, current, "interrupt-parent", "expected one phandle cell")};
      }
      next = node_by_phandle(read_cell(link.data));
      if (next < 0) {
        return Err{error(DtErrorCode::kBadProperty, current, "interrupt-parent",
                         "the phandle matches no node", next)};
      }
    } else {
      if (current == kRootNode) {
        return Err{error(DtErrorCode::kMissingProperty, node, "interrupt-parent",
                         "neither the node nor any ancestor names an interrupt parent")};
      }
      next = TRY(parent(current));
    }
    if (has_property(next, "#interrupt-cells")) return next;
    current = next;
  }
  return Err{error(DtErrorCode::kBadProperty, node, "interrupt-parent",
                   "the interrupt-parent chain never reaches an interrupt controller")};
}

void DeviceTree::path(int node, char* buf, size_t size) const {
  if (size == 0) return;
  const int e = entry_of(node);
  if (e >= 0) {
    if (index()->path(static_cast<size_t>(e), buf, size)) return;
  } else if (fdt_get_path(fdt_, node, buf, to_int(size)) == 0) {
    // Safe because open() validated the structure: fdt_get_path indexes
    // before its buffer on unbalanced trees (see last_reachable_path).
    return;
  }
  // Too long (or unreachable): keep the leaf name, which is what a reader
  // needs to find the node.
  int name_len = 0;
  const char* name = fdt_get_name(fdt_, node, &name_len);
  if (name == nullptr || name_len < 0) {
    copy_string(buf, size, "(unknown node)", sizeof("(unknown node)"));
    return;
  }
  copy_string(buf, size, ".../", 4);
  const size_t used = strlen(buf);
  copy_string(buf + used, size - used, name, static_cast<size_t>(name_len));
}

DtError DeviceTree::error(DtErrorCode code, int node, const char* property, const char* detail,
                          int libfdt_error) const {
  DtError e = make_error(code, "", property, detail, libfdt_error);
  path(node, e.node, sizeof(e.node));
  return e;
}

}  // namespace lamina::hyp::dt
