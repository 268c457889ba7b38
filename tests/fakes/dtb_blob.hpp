// Device tree blobs for the host tests of hyp/platform: a blob in an
// 8-byte-aligned buffer (the boot protocol's alignment), loaded from
// tests/fixtures/dtb (see tests/fixtures/dtb/regenerate.sh) or built from an
// empty tree, and edited in place with libfdt's read-write API. Also the
// small checks the platform and device-tree tests share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <initializer_list>
#include <iterator>
#include <libfdt.h>
#include <string>
#include <vector>

#include "hyp/platform/platform.hpp"
#include "mm/addr.hpp"

namespace lamina::test {

class Dtb {
 public:
  // `bytes` zeroed bytes, rounded up to whole 8-byte words.
  explicit Dtb(size_t bytes) : words_((bytes + 7) / 8, 0) {}

  // A fixture from tests/fixtures/dtb, in a buffer of exactly its file size
  // (rounded up to 8). A missing fixture fails the test and gives an empty blob.
  static Dtb load(const std::string& name) {
    const std::string path = std::string(LAMINA_FIXTURES_DIR) + "/dtb/" + name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << path;
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Dtb dtb(bytes.size());
    if (!bytes.empty()) memcpy(dtb.data(), bytes.data(), bytes.size());
    return dtb;
  }

  // An empty tree (root with #address-cells = 2, #size-cells = 2) to build on.
  static Dtb empty(size_t bytes = 65536) {
    Dtb dtb(bytes);
    EXPECT_EQ(fdt_create_empty_tree(dtb.data(), static_cast<int>(bytes)), 0);
    dtb.set(0, "#address-cells", {2});
    dtb.set(0, "#size-cells", {2});
    return dtb;
  }

  // A copy with room to grow, for libfdt's read-write API.
  [[nodiscard]] Dtb editable(size_t extra = 16384) const {
    Dtb out(fdt_totalsize(data()) + extra);
    EXPECT_EQ(fdt_open_into(data(), out.data(), static_cast<int>(out.capacity())), 0);
    return out;
  }

  void* data() { return words_.data(); }
  [[nodiscard]] const void* data() const { return words_.data(); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words_.data()); }
  [[nodiscard]] size_t capacity() const { return words_.size() * sizeof(uint64_t); }
  // The header's totalsize (the blob may be shorter than the buffer).
  [[nodiscard]] uint32_t total_size() const { return fdt_totalsize(data()); }
  // libfdt offset of the node at `path` (negative FDT_ERR_* if absent).
  [[nodiscard]] int node(const char* path) const { return fdt_path_offset(data(), path); }

  // Builders, by node offset. fdt_add_subnode moves later nodes, so offsets
  // taken before an add may be stale: look nodes up again by path.
  int add(int parent, const char* name) {
    const int node = fdt_add_subnode(data(), parent, name);
    EXPECT_GE(node, 0) << name;
    return node;
  }
  void set(int node, const char* name, std::initializer_list<uint32_t> cells) {
    std::vector<fdt32_t> raw;
    for (uint32_t c : cells) raw.push_back(cpu_to_fdt32(c));
    EXPECT_EQ(fdt_setprop(data(), node, name, raw.data(), static_cast<int>(raw.size() * sizeof(fdt32_t))), 0)
        << name;
  }
  void set_empty(int node, const char* name) {
    EXPECT_EQ(fdt_setprop(data(), node, name, nullptr, 0), 0) << name;
  }

 private:
  std::vector<uint64_t> words_;
};

inline mm::PhysRange range(uint64_t base, uint64_t size) { return mm::PhysRange{mm::PhysAddr(base), size}; }

// describe_dt_error's text.
inline std::string describe(const hyp::DtError& e) {
  char buf[256];
  hyp::describe_dt_error(e, buf, sizeof(buf));
  return buf;
}

// `e` has this code and names this node and property (nullptr: none), and
// says why.
inline void expect_dt_error(const hyp::DtError& e, hyp::DtErrorCode code, const char* node,
                            const char* property) {
  EXPECT_EQ(static_cast<int>(e.code), static_cast<int>(code))
      << "got " << hyp::dt_error_code_name(e.code) << ": " << describe(e);
  EXPECT_STREQ(e.node, node) << describe(e);
  if (property == nullptr) {
    EXPECT_EQ(e.property, nullptr) << describe(e);
  } else {
    EXPECT_STREQ(e.property, property) << describe(e);
  }
  EXPECT_NE(e.detail, nullptr);
}

}  // namespace lamina::test
