#include "hyp/platform/node_index.hpp"

#include <cstring>
#include <libfdt.h>

#include "hyp/platform/device_tree.hpp"

namespace lamina::hyp::dt {

namespace {

constexpr size_t kCellBytes = 4;

uint32_t blob_offset(const void* fdt, const void* p) {
  return static_cast<uint32_t>(static_cast<const char*>(p) - static_cast<const char*>(fdt));
}

bool status_okay(const char* text, size_t size) {
  const size_t len = strnlen(text, size);
  return (len == 4 && strncmp(text, "okay", 4) == 0) || (len == 2 && strncmp(text, "ok", 2) == 0);
}

// What the index keeps of a node's properties, read in one pass over them.
// fdt_getprop returns the first property of a name, so only first ones count.
struct NodeProperties {
  const void* compatible = nullptr;
  int compatible_len = -1;
  const char* status = nullptr;
  int status_len = 0;
  const void* phandle = nullptr;  // first "phandle"
  int phandle_len = 0;
  const void* linux_phandle = nullptr;  // first "linux,phandle"
  int linux_phandle_len = 0;
};

bool read_properties(const void* fdt, int node, NodeProperties* out) {
  int prop = 0;
  fdt_for_each_property_offset(prop, fdt, node) {
    const char* name = nullptr;
    int len = 0;
    const void* value = fdt_getprop_by_offset(fdt, prop, &name, &len);
    if (value == nullptr || name == nullptr || len < 0) return false;
    if (out->compatible == nullptr && strcmp(name, "compatible") == 0) {
      out->compatible = value;
      out->compatible_len = len;
    } else if (out->status == nullptr && strcmp(name, "status") == 0) {
      out->status = static_cast<const char*>(value);
      out->status_len = len;
    } else if (out->phandle == nullptr && strcmp(name, "phandle") == 0) {
      out->phandle = value;
      out->phandle_len = len;
    } else if (out->linux_phandle == nullptr && strcmp(name, "linux,phandle") == 0) {
      out->linux_phandle = value;
      out->linux_phandle_len = len;
    }
  }
  // The loop ends on -FDT_ERR_NOTFOUND after the last property; anything
  // else is a structure error.
  return prop == -FDT_ERR_NOTFOUND;
}

// fdt_get_phandle: "phandle" if it is one cell, else "linux,phandle" if it
// is one cell, else 0.
uint32_t phandle_of(const NodeProperties& p) {
  if (p.phandle != nullptr && p.phandle_len == static_cast<int>(kCellBytes)) return read_cell(p.phandle);
  if (p.linux_phandle != nullptr && p.linux_phandle_len == static_cast<int>(kCellBytes)) {
    return read_cell(p.linux_phandle);
  }
  return 0;
}

}  // namespace

void NodeIndex::clear() {
  fdt_ = nullptr;
  count_ = 0;
}

bool NodeIndex::build(const void* fdt) {
  clear();
  int stack[kMaxDepth + 1];  // entry index of the last node seen at each depth
  int depth = 0;
  size_t count = 0;
  int offset = kRootNode;
  for (; offset >= 0 && depth >= 0; offset = fdt_next_node(fdt, offset, &depth)) {
    if (depth > kMaxDepth || count == kMaxIndexedNodes) return false;
    int name_len = 0;
    const char* name = fdt_get_name(fdt, offset, &name_len);
    NodeProperties props;
    if (name == nullptr || name_len < 0 || !read_properties(fdt, offset, &props)) return false;

    IndexedNode& n = nodes_[count];
    n.offset = offset;
    // fdt_check_full guarantees depth grows by at most one per node, so
    // the parent is the last node seen one level up.
    n.parent = depth == 0 ? -1 : stack[depth - 1];
    n.end = static_cast<int32_t>(count + 1);
    n.phandle = phandle_of(props);
    n.name = blob_offset(fdt, name);
    n.name_len = static_cast<uint32_t>(name_len);
    n.compatible = props.compatible == nullptr ? 0 : blob_offset(fdt, props.compatible);
    n.compatible_len = props.compatible == nullptr ? -1 : props.compatible_len;
    n.enabled = props.status == nullptr || status_okay(props.status, static_cast<size_t>(props.status_len));
    stack[depth] = static_cast<int>(count);
    ++count;
  }
  // The walk ends when the root closes (depth -1) or at the end of the
  // structure block (-FDT_ERR_NOTFOUND); other errors mean a corrupt tree.
  if (offset < 0 && offset != -FDT_ERR_NOTFOUND) return false;
  if (count == 0) return false;
  // Descendants follow their ancestors, so one backward pass extends every
  // parent's subtree over its children's.
  for (size_t i = count; i-- > 1;) {
    IndexedNode& up = nodes_[nodes_[i].parent];
    if (nodes_[i].end > up.end) up.end = nodes_[i].end;
  }
  fdt_ = fdt;
  count_ = count;
  return true;
}

int NodeIndex::find(int offset) const {
  size_t low = 0;
  size_t high = count_;
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    if (nodes_[mid].offset < offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low < count_ && nodes_[low].offset == offset ? static_cast<int>(low) : -1;
}

bool NodeIndex::name_matches(size_t i, const char* s, size_t len) const {
  // libfdt's fdt_nodename_eq_: the whole name, or the part before '@' when
  // the component has no unit address of its own.
  const IndexedNode& n = nodes_[i];
  if (n.name_len < len) return false;
  const char* name = static_cast<const char*>(fdt_) + n.name;
  if (memcmp(name, s, len) != 0) return false;
  if (n.name_len == len) return true;
  return name[len] == '@' && memchr(s, '@', len) == nullptr;
}

int NodeIndex::path_offset(const char* path, size_t len) const {
  if (len == 0 || path[0] != '/') return -FDT_ERR_BADPATH;
  const char* p = path;
  const char* end = path + len;
  size_t node = 0;  // the root
  while (p < end) {
    while (*p == '/') {
      ++p;
      if (p == end) return nodes_[node].offset;
    }
    const auto* slash = static_cast<const char*>(memchr(p, '/', static_cast<size_t>(end - p)));
    const char* q = slash == nullptr ? end : slash;
    const size_t component = static_cast<size_t>(q - p);
    size_t child = node + 1;
    const auto stop = static_cast<size_t>(nodes_[node].end);
    while (child < stop && !name_matches(child, p, component)) child = static_cast<size_t>(nodes_[child].end);
    if (child >= stop) return -FDT_ERR_NOTFOUND;
    node = child;
    p = q;
  }
  return nodes_[node].offset;
}

int NodeIndex::phandle_offset(uint32_t phandle) const {
  if (phandle == 0 || phandle == UINT32_MAX) return -FDT_ERR_BADPHANDLE;
  for (size_t i = 0; i < count_; ++i) {
    if (nodes_[i].phandle == phandle) return nodes_[i].offset;
  }
  return -FDT_ERR_NOTFOUND;
}

bool NodeIndex::compatible(size_t i, const char* compat) const {
  const IndexedNode& n = nodes_[i];
  if (n.compatible_len < 0) return false;
  const char* list = static_cast<const char*>(fdt_) + n.compatible;
  return fdt_stringlist_contains(list, n.compatible_len, compat) != 0;
}

bool NodeIndex::path(size_t i, char* buf, size_t size) const {
  // Lengths first (the chain is at most kMaxDepth + 1 long), then the
  // names from the end of the path backwards.
  size_t len = 0;
  for (int e = static_cast<int>(i); nodes_[e].parent >= 0; e = nodes_[e].parent)
    len += 1 + nodes_[e].name_len;
  if (len == 0) len = 1;  // the root is "/"
  if (len + 1 > size) return false;
  buf[len] = '\0';
  buf[0] = '/';
  size_t at = len;
  for (int e = static_cast<int>(i); nodes_[e].parent >= 0; e = nodes_[e].parent) {
    at -= nodes_[e].name_len;
    memcpy(buf + at, static_cast<const char*>(fdt_) + nodes_[e].name, nodes_[e].name_len);
    buf[--at] = '/';
  }
  return true;
}

}  // namespace lamina::hyp::dt
