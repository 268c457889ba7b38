#include "hyp/platform/node_index.hpp"

#include <cstring>
#include <libfdt.h>

#include "hyp/platform/device_tree.hpp"

namespace lamina::hyp::dt {

namespace {

using dt::kCellBytes;

uint32_t blob_offset(const void* fdt, const void* p) {
  return static_cast<uint32_t>(static_cast<const char*>(p) - static_cast<const char*>(fdt));
}

bool status_okay(const char* text, size_t size) {
  const size_t len = strnlen(text, size);
  return (len == 4 && strncmp(text, "okay", 4) == 0) || (len == 2 && strncmp(text, "ok", 2) == 0);
}

// What the index keeps of a node's properties. fdt_getprop returns the
// first property of a name, so only first ones count.
struct NodeProperties {
  const void* compatible = nullptr;
  int compatible_len = -1;
  const char* status = nullptr;
  int status_len = 0;
  const void* phandle = nullptr;  // first "phandle"
  int phandle_len = 0;
  const void* linux_phandle = nullptr;  // first "linux,phandle"
  int linux_phandle_len = 0;
  const void* device_type = nullptr;
  int device_type_len = -1;

  void note(const char* name, const void* value, int len) {
    // Dispatch on the first letter: most properties are none of these.
    switch (name[0]) {
      case 'c':
        if (compatible == nullptr && strcmp(name, "compatible") == 0) {
          compatible = value;
          compatible_len = len;
        }
        break;
      case 'd':
        if (device_type == nullptr && strcmp(name, "device_type") == 0) {
          device_type = value;
          device_type_len = len;
        }
        break;
      case 's':
        if (status == nullptr && strcmp(name, "status") == 0) {
          status = static_cast<const char*>(value);
          status_len = len;
        }
        break;
      case 'p':
        if (phandle == nullptr && strcmp(name, "phandle") == 0) {
          phandle = value;
          phandle_len = len;
        }
        break;
      case 'l':
        if (linux_phandle == nullptr && strcmp(name, "linux,phandle") == 0) {
          linux_phandle = value;
          linux_phandle_len = len;
        }
        break;
      default:
        break;
    }
  }
};

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

void NodeIndex::finish_node(size_t i, const void* properties) {
  const auto& props = *static_cast<const NodeProperties*>(properties);
  IndexedNode& n = nodes_[i];
  n.phandle = phandle_of(props);
  n.compatible = props.compatible == nullptr ? 0 : blob_offset(fdt_, props.compatible);
  n.compatible_len = props.compatible == nullptr ? -1 : props.compatible_len;
  n.device_type = props.device_type == nullptr ? 0 : blob_offset(fdt_, props.device_type);
  n.device_type_len = props.device_type == nullptr ? -1 : props.device_type_len;
  n.enabled = props.status == nullptr || status_okay(props.status, static_cast<size_t>(props.status_len));
}

bool NodeIndex::build(const void* fdt) {
  clear();
  fdt_ = fdt;
  // One pass over the structure block's tokens with libfdt's tokenizer
  // (fdt_next_tag checks every token against the block's bounds). A
  // node's properties are the PROP tokens between its BEGIN_NODE and its
  // first child or END_NODE, as libfdt's property iteration sees them.
  int stack[kMaxDepth + 1];  // entry index of the open node at each depth
  int depth = -1;
  size_t count = 0;
  int open = -1;  // entry whose properties are being read, or -1
  NodeProperties props;
  int offset = kRootNode;
  for (;;) {
    int next = 0;
    const uint32_t tag = fdt_next_tag(fdt, offset, &next);
    if (tag == FDT_BEGIN_NODE || tag == FDT_END_NODE) {
      if (open >= 0) finish_node(static_cast<size_t>(open), &props);
      open = -1;
    }
    if (tag == FDT_BEGIN_NODE) {
      if (++depth > kMaxDepth || count == kMaxIndexedNodes || next < 0) return fail();
      // The name follows the tag; fdt_next_tag found its NUL before `next`.
      const auto* name = static_cast<const char*>(fdt_offset_ptr(fdt, offset + FDT_TAGSIZE, 1));
      if (name == nullptr) return fail();
      IndexedNode& n = nodes_[count];
      n.offset = offset;
      // Depth grows by one per BEGIN_NODE: the parent is the node open one
      // level up.
      n.parent = depth == 0 ? -1 : stack[depth - 1];
      n.end = static_cast<int32_t>(count + 1);
      n.name = blob_offset(fdt, name);
      n.name_len = static_cast<uint32_t>(strnlen(name, static_cast<size_t>(next - offset - FDT_TAGSIZE)));
      stack[depth] = static_cast<int>(count);
      open = static_cast<int>(count);
      props = NodeProperties{};
      ++count;
    } else if (tag == FDT_PROP) {
      if (open >= 0) {
        const auto* prop =
            static_cast<const struct fdt_property*>(fdt_offset_ptr(fdt, offset, sizeof(struct fdt_property)));
        if (prop == nullptr) return fail();
        int name_len = 0;
        const char* name = fdt_get_string(fdt, static_cast<int>(fdt32_to_cpu(prop->nameoff)), &name_len);
        if (name == nullptr || name_len < 0) return fail();
        props.note(name, prop->data, static_cast<int>(fdt32_to_cpu(prop->len)));
      }
    } else if (tag == FDT_END_NODE) {
      if (--depth < 0) break;  // the root closed
    } else if (tag != FDT_NOP) {
      return fail();  // FDT_END inside the root, or garbage
    }
    if (next < 0) return fail();
    offset = next;
  }
  if (count == 0) return fail();
  // Descendants follow their ancestors, so one backward pass extends every
  // parent's subtree over its children's.
  for (size_t i = count; i-- > 1;) {
    IndexedNode& up = nodes_[nodes_[i].parent];
    if (nodes_[i].end > up.end) up.end = nodes_[i].end;
  }
  count_ = count;
  return true;
}

bool NodeIndex::fail() {
  clear();
  return false;
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

bool NodeIndex::device_type_is(size_t i, const char* type) const {
  const IndexedNode& n = nodes_[i];
  const size_t len = strlen(type);
  if (n.device_type_len < 0 || static_cast<size_t>(n.device_type_len) != len + 1) return false;
  return memcmp(static_cast<const char*>(fdt_) + n.device_type, type, len + 1) == 0;
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
