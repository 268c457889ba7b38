// discover_platform() and friends on broken input: bad pointers and
// headers, truncated and corrupted blobs, and valid blobs that lack (or
// garble) something lamina needs. Incomplete trees are made by editing a
// valid fixture in memory with libfdt's read-write API. Every negative test
// checks the error code and the node/property it names.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <libfdt.h>
#include <memory>
#include <string>
#include <vector>

#include "hyp/platform/platform.hpp"

namespace lamina::hyp {
namespace {

// A blob in an 8-byte-aligned buffer (the boot protocol's alignment).
class Dtb {
 public:
  explicit Dtb(size_t bytes) : words_((bytes + 7) / 8, 0) {}

  static Dtb load(const std::string& name) {
    const std::string path = std::string(LAMINA_FIXTURES_DIR) + "/dtb/" + name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << path;
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Dtb dtb(bytes.size());
    if (!bytes.empty()) memcpy(dtb.data(), bytes.data(), bytes.size());
    return dtb;
  }

  // A copy with room to grow, for libfdt's read-write API.
  Dtb editable(size_t extra = 16384) const {
    Dtb out(fdt_totalsize(data()) + extra);
    EXPECT_EQ(fdt_open_into(data(), out.data(), static_cast<int>(out.capacity())), 0);
    return out;
  }

  void* data() { return words_.data(); }
  const void* data() const { return words_.data(); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words_.data()); }
  size_t capacity() const { return words_.size() * sizeof(uint64_t); }
  uint32_t total_size() const { return fdt_totalsize(data()); }
  int node(const char* path) const { return fdt_path_offset(data(), path); }

 private:
  std::vector<uint64_t> words_;
};

// Exactly `size` bytes on the heap, so ASan flags any read past the end.
// operator new[] aligns to at least 16 bytes.
class ExactBuffer {
 public:
  ExactBuffer(const void* src, size_t size) : bytes_(new uint8_t[size == 0 ? 1 : size]), size_(size) {
    if (size != 0) memcpy(bytes_.get(), src, size);
  }
  uint8_t* data() { return bytes_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t size_;
};

constexpr const char* kVirtV2 = "qemu-virt-gicv2-a57-smp1-1g.dtb";
constexpr const char* kVirtV3Smp4 = "qemu-virt-gicv3-max-smp4-4g.dtb";
constexpr const char* kRaspi4b = "qemu-raspi4b.dtb";
constexpr const char* kSynthetic = "synthetic.dtb";
constexpr mm::PhysAddr kDtbPa{0x48000000};

std::string describe(const DtError& e) {
  char buf[256];
  describe_dt_error(e, buf, sizeof(buf));
  return buf;
}

DtError discover_error(const void* blob) {
  Platform platform;
  const auto result = discover_platform(blob, kDtbPa, &platform);
  EXPECT_FALSE(result.ok()) << "discovery unexpectedly succeeded";
  return result.ok() ? DtError{} : result.error();
}

void expect_error(const DtError& e, DtErrorCode code, const char* node, const char* property) {
  EXPECT_EQ(static_cast<int>(e.code), static_cast<int>(code))
      << "got " << dt_error_code_name(e.code) << ": " << describe(e);
  EXPECT_STREQ(e.node, node) << describe(e);
  if (property == nullptr) {
    EXPECT_EQ(e.property, nullptr) << describe(e);
  } else {
    EXPECT_STREQ(e.property, property) << describe(e);
  }
  EXPECT_NE(e.detail, nullptr);
}

void expect_discovery_error(const Dtb& dtb, DtErrorCode code, const char* node, const char* property) {
  expect_error(discover_error(dtb.data()), code, node, property);
}

// Pi 4 tree (QEMU-filled memory) with its console moved to the PL011, so
// discovery gets past the console.
Dtb rpi4() {
  Dtb dtb = Dtb::load(kRaspi4b).editable();
  EXPECT_EQ(fdt_setprop_string(dtb.data(), dtb.node("/chosen"), "stdout-path", "serial0"), 0);
  return dtb;
}

void set_cells(Dtb& dtb, const char* path, const char* name, std::initializer_list<uint32_t> cells) {
  std::vector<fdt32_t> raw;
  for (uint32_t c : cells) raw.push_back(cpu_to_fdt32(c));
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node(path), name, raw.data(),
                        static_cast<int>(raw.size() * sizeof(fdt32_t))),
            0)
      << path << " " << name;
}

void set_string(Dtb& dtb, const char* path, const char* name, const char* value) {
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node(path), name, value, static_cast<int>(strlen(value) + 1)), 0)
      << path << " " << name;
}

void del_prop(Dtb& dtb, const char* path, const char* name) {
  ASSERT_EQ(fdt_delprop(dtb.data(), dtb.node(path), name), 0) << path << " " << name;
}

void del_node(Dtb& dtb, const char* path) { ASSERT_EQ(fdt_del_node(dtb.data(), dtb.node(path)), 0) << path; }

// --- pointer and header -------------------------------------------------

TEST(PlatformHeaderTest, NullPointerIsNoBlob) {
  expect_error(check_dtb_header(nullptr, kMaxDtbSize).error(), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_error(discover_error(nullptr), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_error(find_console_uart(nullptr).error(), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_error(find_psci(nullptr).error(), DtErrorCode::kNoBlob, "blob", nullptr);
}

TEST(PlatformHeaderTest, MisalignedPointerIsNoBlob) {
  const Dtb dtb = Dtb::load(kVirtV2);
  std::vector<uint64_t> shifted(dtb.capacity() / 8 + 1);
  auto* at4 = reinterpret_cast<uint8_t*>(shifted.data()) + 4;
  memcpy(at4, dtb.data(), dtb.total_size());
  expect_error(check_dtb_header(at4, kMaxDtbSize).error(), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_error(discover_error(at4), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_error(find_console_uart(at4).error(), DtErrorCode::kNoBlob, "blob", nullptr);
}

TEST(PlatformHeaderTest, NullOutputIsRejected) {
  const Dtb dtb = Dtb::load(kVirtV2);
  const auto result = discover_platform(dtb.data(), kDtbPa, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, DtErrorCode::kNoBlob);
}

TEST(PlatformHeaderTest, BadMagic) {
  Dtb dtb = Dtb::load(kVirtV2);
  fdt_set_magic(dtb.data(), 0xedfe0dd0);  // byte-swapped
  const DtError e = check_dtb_header(dtb.data(), kMaxDtbSize).error();
  expect_error(e, DtErrorCode::kBadHeader, "header", nullptr);
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADMAGIC);
  EXPECT_EQ(describe(e),
            "device tree: bad header (header): bad magic (expected 0xd00dfeed) "
            "[libfdt: FDT_ERR_BADMAGIC]");
  expect_error(discover_error(dtb.data()), DtErrorCode::kBadHeader, "header", nullptr);
  expect_error(find_psci(dtb.data()).error(), DtErrorCode::kBadHeader, "header", nullptr);
}

TEST(PlatformHeaderTest, BadVersions) {
  struct Case {
    uint32_t version;
    uint32_t last_compatible;
  };
  // Newer than libfdt understands, ancient, and 16 (which libfdt accepts but
  // lamina does not: no size_dt_struct).
  for (const Case c : {Case{18, 18}, Case{1, 1}, Case{16, 16}}) {
    Dtb dtb = Dtb::load(kVirtV2);
    fdt_set_version(dtb.data(), c.version);
    fdt_set_last_comp_version(dtb.data(), c.last_compatible);
    const DtError e = discover_error(dtb.data());
    expect_error(e, DtErrorCode::kBadHeader, "header", nullptr);
    EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADVERSION) << c.version;
  }
}

TEST(PlatformHeaderTest, InconsistentBlockSizes) {
  Dtb dtb = Dtb::load(kVirtV2);
  fdt_set_size_dt_strings(dtb.data(), fdt_size_dt_strings(dtb.data()) + 64);
  const DtError e = discover_error(dtb.data());
  expect_error(e, DtErrorCode::kBadHeader, "header", nullptr);
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_TRUNCATED);
}

// totalsize is trusted only up to what the caller allows: a header claiming
// more than the buffer is rejected before anything past the header is read.
TEST(PlatformHeaderTest, TotalSizeLargerThanBuffer) {
  const Dtb dtb = Dtb::load(kVirtV2);
  ExactBuffer exact(dtb.data(), dtb.total_size());
  fdt_set_totalsize(exact.data(), dtb.total_size() + 4096);
  expect_error(check_dtb_header(exact.data(), exact.size()).error(), DtErrorCode::kTooLarge, "header",
               nullptr);
}

TEST(PlatformHeaderTest, TotalSizeAboveTheBootProtocolLimit) {
  const Dtb dtb = Dtb::load(kVirtV2);
  ExactBuffer exact(dtb.data(), dtb.total_size());
  fdt_set_totalsize(exact.data(), 3u << 20);
  expect_error(discover_error(exact.data()), DtErrorCode::kTooLarge, "header", nullptr);
  expect_error(find_console_uart(exact.data()).error(), DtErrorCode::kTooLarge, "header", nullptr);
  // The exact limit is fine as far as the header goes.
  EXPECT_TRUE(check_dtb_header(dtb.data(), dtb.total_size()).ok());
  EXPECT_FALSE(check_dtb_header(dtb.data(), dtb.total_size() - 1).ok());
}

TEST(PlatformHeaderTest, MaxSizeSmallerThanTheHeader) {
  const Dtb dtb = Dtb::load(kVirtV2);
  ExactBuffer tiny(dtb.data(), 39);
  expect_error(check_dtb_header(tiny.data(), tiny.size()).error(), DtErrorCode::kTooLarge, "header", nullptr);
}

// --- truncated and corrupted blobs ----------------------------------------

// A blob cut to `size` bytes whose header is rewritten to describe only what
// is left (every block clipped to the cut), so the damage reaches libfdt's
// structure walk instead of stopping at the header check.
ExactBuffer cut_consistently(const Dtb& dtb, size_t size) {
  ExactBuffer cut(dtb.data(), size);
  void* fdt = cut.data();
  const auto clip = [size](uint32_t offset) { return offset > size ? static_cast<uint32_t>(size) : offset; };
  const uint32_t struct_off = clip(fdt_off_dt_struct(dtb.data()));
  const uint32_t struct_end = clip(fdt_off_dt_struct(dtb.data()) + fdt_size_dt_struct(dtb.data()));
  const uint32_t strings_off = clip(fdt_off_dt_strings(dtb.data()));
  const uint32_t strings_end = clip(fdt_off_dt_strings(dtb.data()) + fdt_size_dt_strings(dtb.data()));
  fdt_set_totalsize(fdt, static_cast<uint32_t>(size));
  fdt_set_off_dt_struct(fdt, struct_off);
  fdt_set_size_dt_struct(fdt, struct_end - struct_off);
  fdt_set_off_dt_strings(fdt, strings_off);
  fdt_set_size_dt_strings(fdt, strings_end - strings_off);
  return cut;
}

void expect_truncation_rejected(const Dtb& dtb, size_t size) {
  SCOPED_TRACE("cut at " + std::to_string(size));
  // As found: the header still claims the full size.
  ExactBuffer as_found(dtb.data(), size);
  EXPECT_FALSE(check_dtb_header(as_found.data(), as_found.size()).ok());
  if (size < sizeof(fdt_header)) return;

  // With only totalsize patched: the blocks no longer fit.
  ExactBuffer patched(dtb.data(), size);
  fdt_set_totalsize(patched.data(), static_cast<uint32_t>(size));
  EXPECT_FALSE(find_psci(patched.data()).ok());
  EXPECT_EQ(discover_error(patched.data()).code, DtErrorCode::kBadHeader);

  // With a consistent header: the walk itself must notice.
  ExactBuffer consistent = cut_consistently(dtb, size);
  const DtError e = discover_error(consistent.data());
  EXPECT_TRUE(e.code == DtErrorCode::kMalformed || e.code == DtErrorCode::kBadHeader) << describe(e);
  EXPECT_FALSE(find_console_uart(consistent.data()).ok());
  EXPECT_FALSE(find_psci(consistent.data()).ok());
}

TEST(PlatformMalformedTest, TruncationAtEvery64ByteBoundaryIsAnError) {
  for (const char* fixture : {kVirtV2, kVirtV3Smp4, kRaspi4b, kSynthetic}) {
    SCOPED_TRACE(fixture);
    const Dtb dtb = Dtb::load(fixture);
    for (size_t size = 0; size < dtb.total_size(); size += 64) expect_truncation_rejected(dtb, size);
  }
}

// Cuts at the interesting places: inside the header, the memory
// reservation block, the structure block and the strings block.
TEST(PlatformMalformedTest, TruncationInsideEachBlock) {
  const Dtb dtb = Dtb::load(kVirtV2);
  const size_t structure = fdt_off_dt_struct(dtb.data());
  const size_t strings = fdt_off_dt_strings(dtb.data());
  const size_t total = dtb.total_size();
  for (size_t size : {size_t{1}, size_t{4}, size_t{20}, size_t{39}, size_t{40}, size_t{41}, structure - 1,
                      structure, structure + 1, structure + 9, strings - 4, strings - 1, strings, strings + 1,
                      strings + 7, total - 2, total - 1}) {
    expect_truncation_rejected(dtb, size);
  }
  // Inside the structure and strings blocks the walk reports it.
  for (size_t size : {structure + 100, strings - 4, strings + 7, total - 1}) {
    ExactBuffer consistent = cut_consistently(dtb, size);
    EXPECT_EQ(discover_error(consistent.data()).code, DtErrorCode::kMalformed) << size;
  }
}

// Garbage (0xff) from every 64-byte boundary to the end of a full-size
// blob: always reported as a malformed structure, never misparsed.
TEST(PlatformMalformedTest, GarbageTailAtEvery64ByteBoundaryIsMalformed) {
  const Dtb dtb = Dtb::load(kVirtV2);
  const size_t first = (fdt_off_dt_struct(dtb.data()) + 63) / 64 * 64;
  for (size_t from = first; from < dtb.total_size(); from += 64) {
    Dtb broken = dtb;
    memset(broken.bytes() + from, 0xff, dtb.total_size() - from);
    const DtError e = discover_error(broken.data());
    EXPECT_EQ(e.code, DtErrorCode::kMalformed) << from << ": " << describe(e);
    EXPECT_FALSE(find_console_uart(broken.data()).ok()) << from;
  }
}

// Returns the blob offset of `node`'s first property token.
size_t first_property_token(const Dtb& dtb, const char* path) {
  const int property = fdt_first_property_offset(dtb.data(), dtb.node(path));
  EXPECT_GE(property, 0);
  return fdt_off_dt_struct(dtb.data()) + static_cast<size_t>(property);
}

void put_be32(Dtb& dtb, size_t offset, uint32_t value) {
  const fdt32_t raw = cpu_to_fdt32(value);
  memcpy(dtb.bytes() + offset, &raw, sizeof(raw));
}

TEST(PlatformMalformedTest, CorruptTokenNamesTheLastGoodNode) {
  Dtb dtb = Dtb::load(kVirtV2);
  put_be32(dtb, first_property_token(dtb, "/cpus"), 0x7);  // no such token
  const DtError e = discover_error(dtb.data());
  expect_error(e, DtErrorCode::kMalformed, "/cpus", nullptr);
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADSTRUCTURE);
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMalformed, "/cpus", nullptr);
  expect_error(find_psci(dtb.data()).error(), DtErrorCode::kMalformed, "/cpus", nullptr);
}

TEST(PlatformMalformedTest, UnbalancedNodes) {
  Dtb dtb = Dtb::load(kVirtV2);
  // The root's FDT_END_NODE is the token before the final FDT_END.
  const size_t end = fdt_off_dt_struct(dtb.data()) + fdt_size_dt_struct(dtb.data());
  put_be32(dtb, end - 8, FDT_NOP);
  EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed);
}

TEST(PlatformMalformedTest, RootNodeNotFirst) {
  Dtb dtb = Dtb::load(kVirtV2);
  // Replace the root's FDT_BEGIN_NODE and its (empty, padded) name with NOPs:
  // everything after it then hangs off no root.
  const size_t structure = fdt_off_dt_struct(dtb.data());
  put_be32(dtb, structure, FDT_NOP);
  put_be32(dtb, structure + 4, FDT_NOP);
  EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed);
}

TEST(PlatformMalformedTest, PropertyNameOutsideStringsBlock) {
  Dtb dtb = Dtb::load(kVirtV2);
  put_be32(dtb, first_property_token(dtb, "/chosen") + 8, 0xfffffff0);  // nameoff
  EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed);
}

TEST(PlatformMalformedTest, PropertyLengthPastTheStructureBlock) {
  for (uint32_t length : {0x7fffffffu, 0xfffffff0u, 0x10000u}) {
    Dtb dtb = Dtb::load(kVirtV2);
    put_be32(dtb, first_property_token(dtb, "/memory@40000000") + 4, length);
    EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed) << length;
  }
}

TEST(PlatformMalformedTest, UnterminatedMemoryReservationBlock) {
  // A memory reservation block with no terminating entry before totalsize.
  Dtb dtb = Dtb::load(kVirtV2);
  fdt_set_off_mem_rsvmap(dtb.data(), dtb.total_size() - 8);
  const DtError e = discover_error(dtb.data());
  EXPECT_TRUE(e.code == DtErrorCode::kBadHeader || e.code == DtErrorCode::kMalformed) << describe(e);
}

// Every structure-block word overwritten with each token value and with
// garbage: whatever the outcome, nothing may crash or read out of bounds
// (ASan/UBSan). Garbage where a token belongs must always be caught by the
// structure walk; elsewhere (inside names and values) it may be harmless.
void fuzz_structure_tokens(const char* fixture) {
  SCOPED_TRACE(fixture);
  const Dtb dtb = Dtb::load(fixture);
  const size_t begin = fdt_off_dt_struct(dtb.data());
  const size_t end = begin + fdt_size_dt_struct(dtb.data());
  std::vector<bool> is_token(end, false);
  for (int offset = 0, next = 0; next >= 0; offset = next) {
    if (fdt_next_tag(dtb.data(), offset, &next) == FDT_END) break;
    is_token[begin + static_cast<size_t>(offset)] = true;
  }
  size_t garbage_tokens = 0;
  for (size_t offset = begin; offset < end; offset += 4) {
    for (uint32_t value : {uint32_t{FDT_BEGIN_NODE}, uint32_t{FDT_END_NODE}, uint32_t{FDT_PROP},
                           uint32_t{FDT_NOP}, uint32_t{FDT_END}, 0xffffffffu, 0x00010000u}) {
      Dtb broken = dtb;
      put_be32(broken, offset, value);
      Platform platform;
      const auto result = discover_platform(broken.data(), kDtbPa, &platform);
      if (!result.ok()) {
        EXPECT_NE(result.error().node[0], '\0');
        EXPECT_NE(result.error().detail, nullptr);
      }
      if (is_token[offset] && value > FDT_END) {
        ++garbage_tokens;
        EXPECT_FALSE(result.ok()) << offset;
        if (result.ok()) continue;
        EXPECT_EQ(result.error().code, DtErrorCode::kMalformed) << offset;
      }
    }
  }
  EXPECT_GT(garbage_tokens, 200u);
}

TEST(PlatformMalformedTest, StructureTokenFuzzNeverCrashes) {
  fuzz_structure_tokens(kVirtV2);
  fuzz_structure_tokens(kSynthetic);
}

// --- memory ---------------------------------------------------------------

TEST(PlatformMemoryTest, MissingMemoryNode) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/memory@40000000");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/memory", nullptr);
}

TEST(PlatformMemoryTest, MemoryWithoutReg) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_prop(dtb, "/memory@40000000", "reg");
  expect_discovery_error(dtb, DtErrorCode::kMissingProperty, "/memory@40000000", "reg");
}

TEST(PlatformMemoryTest, BadRegLength) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/memory@40000000", "reg", {0x0, 0x40000000, 0x0});  // 3 of 4 cells
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/memory@40000000", "reg");
}

TEST(PlatformMemoryTest, TooManyBanks) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  std::vector<fdt32_t> reg;
  for (uint32_t i = 0; i <= kMaxMemoryBanks; ++i) {
    for (uint32_t cell : {0u, 0x40000000u + i * 0x100000u, 0u, 0x1000u}) reg.push_back(cpu_to_fdt32(cell));
  }
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/memory@40000000"), "reg", reg.data(),
                        static_cast<int>(reg.size() * 4)),
            0);
  expect_discovery_error(dtb, DtErrorCode::kTooMany, "/memory@40000000", "reg");
}

TEST(PlatformMemoryTest, BankWrappingPast64Bits) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/memory@40000000", "reg", {0xffffffff, 0xfffff000, 0x0, 0x2000});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/memory@40000000", "reg");
}

// --- reserved memory --------------------------------------------------------

TEST(PlatformReservedTest, ReservedMemoryWithoutRangesIsUntranslatable) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  del_prop(dtb, "/reserved-memory", "ranges");
  expect_discovery_error(dtb, DtErrorCode::kUntranslatable, "/reserved-memory", "ranges");
}

TEST(PlatformReservedTest, BadRegUsesReservedMemorysOwnCells) {
  // /reserved-memory has #size-cells = 1: a root-style 4-cell entry does not
  // fit its 3-cell stride.
  Dtb dtb = Dtb::load(kSynthetic).editable();
  set_cells(dtb, "/reserved-memory/firmware@81000000", "reg", {0x0, 0x81000000, 0x0, 0x100000});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/reserved-memory/firmware@81000000", "reg");
}

TEST(PlatformReservedTest, TooManyReservedRegions) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  const int parent = dtb.node("/reserved-memory");
  for (uint32_t i = 0; i < kMaxReservedRegions; ++i) {
    const std::string name = "extra@" + std::to_string(i);
    const int child = fdt_add_subnode(dtb.data(), parent, name.c_str());
    ASSERT_GE(child, 0);
    const fdt32_t reg[] = {cpu_to_fdt32(0), cpu_to_fdt32(0xb0000000 + i * 0x1000), cpu_to_fdt32(0x1000)};
    ASSERT_EQ(fdt_setprop(dtb.data(), child, "reg", reg, sizeof(reg)), 0);
  }
  const DtError e = discover_error(dtb.data());
  EXPECT_EQ(e.code, DtErrorCode::kTooMany) << describe(e);
  EXPECT_EQ(std::string(e.node).rfind("/reserved-memory/", 0), 0u) << e.node;
  EXPECT_STREQ(e.property, "reg");
}

// --- CPUs -----------------------------------------------------------------

TEST(PlatformCpuTest, MissingCpusNode) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/cpus");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/cpus", nullptr);
}

TEST(PlatformCpuTest, CpusWithoutCpuNodes) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/cpus/cpu@0");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/cpus", nullptr);
}

TEST(PlatformCpuTest, OnlyDisabledCpus) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_string(dtb, "/cpus/cpu@0", "status", "disabled");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/cpus", nullptr);
}

TEST(PlatformCpuTest, UnsupportedAddressCells) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/cpus", "#address-cells", {3});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/cpus", "#address-cells");
}

TEST(PlatformCpuTest, BadRegLength) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/cpus/cpu@0", "reg", {0x0, 0x0});  // two MPIDRs with #address-cells = 1
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/cpus/cpu@0", "reg");

  Dtb odd = Dtb::load(kVirtV2).editable();
  const uint8_t three_bytes[] = {0, 0, 0};
  ASSERT_EQ(fdt_setprop(odd.data(), odd.node("/cpus/cpu@0"), "reg", three_bytes, 3), 0);
  expect_discovery_error(odd, DtErrorCode::kBadProperty, "/cpus/cpu@0", "reg");
}

TEST(PlatformCpuTest, MpidrBitsOutsideAffinity) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/cpus/cpu@0", "reg", {0x01000000});  // bit 24 is MT/U, not affinity
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/cpus/cpu@0", "reg");
}

TEST(PlatformCpuTest, DuplicateMpidr) {
  Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
  set_cells(dtb, "/cpus/cpu@2", "reg", {0x1});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/cpus/cpu@2", "reg");
}

TEST(PlatformCpuTest, TooManyCpus) {
  Dtb dtb = Dtb::load(kVirtV2).editable(65536);
  const int cpus = dtb.node("/cpus");
  for (uint32_t i = 1; i <= kMaxDtCpus; ++i) {
    const std::string name = "cpu@" + std::to_string(i);
    const int cpu = fdt_add_subnode(dtb.data(), cpus, name.c_str());
    ASSERT_GE(cpu, 0);
    ASSERT_EQ(fdt_setprop_string(dtb.data(), cpu, "device_type", "cpu"), 0);
    ASSERT_EQ(fdt_setprop_u32(dtb.data(), cpu, "reg", i), 0);
  }
  expect_discovery_error(dtb, DtErrorCode::kTooMany, "/cpus", nullptr);
}

TEST(PlatformCpuTest, SpinTableWithoutReleaseAddress) {
  Dtb dtb = rpi4();
  del_prop(dtb, "/cpus/cpu@1", "cpu-release-addr");
  expect_discovery_error(dtb, DtErrorCode::kMissingProperty, "/cpus/cpu@1", "cpu-release-addr");
}

TEST(PlatformCpuTest, ReleaseAddressOfThreeCells) {
  Dtb dtb = rpi4();
  set_cells(dtb, "/cpus/cpu@3", "cpu-release-addr", {0x0, 0x0, 0xf0});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/cpus/cpu@3", "cpu-release-addr");
}

TEST(PlatformCpuTest, UnknownEnableMethod) {
  Dtb dtb = rpi4();
  set_string(dtb, "/cpus/cpu@2", "enable-method", "brcm,bcm2836-smp");
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/cpus/cpu@2", "enable-method");
}

TEST(PlatformCpuTest, UnterminatedEnableMethod) {
  Dtb dtb = rpi4();
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/cpus/cpu@2"), "enable-method", "psci", 4), 0);
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/cpus/cpu@2", "enable-method");
}

// --- PSCI -----------------------------------------------------------------

TEST(PlatformPsciTest, PsciCpuWithoutPsciNode) {
  Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
  del_node(dtb, "/psci");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/psci", nullptr);
  // On its own, an absent PSCI node is not an error.
  const auto psci = find_psci(dtb.data());
  ASSERT_TRUE(psci.ok());
  EXPECT_EQ(psci.value().conduit, PsciConduit::kNone);
}

TEST(PlatformPsciTest, MethodFoo) {
  Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
  set_string(dtb, "/psci", "method", "foo");
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/psci", "method");
  expect_error(find_psci(dtb.data()).error(), DtErrorCode::kBadProperty, "/psci", "method");
}

TEST(PlatformPsciTest, MissingMethod) {
  Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
  del_prop(dtb, "/psci", "method");
  expect_error(find_psci(dtb.data()).error(), DtErrorCode::kMissingProperty, "/psci", "method");
}

TEST(PlatformPsciTest, DisabledPsciNodeCountsAsAbsent) {
  Dtb dtb = Dtb::load(kVirtV2).editable();  // its only CPU has no enable-method
  set_string(dtb, "/psci", "status", "disabled");
  Platform platform;
  const auto result = discover_platform(dtb.data(), kDtbPa, &platform);
  ASSERT_TRUE(result.ok()) << describe(result.error());
  EXPECT_EQ(platform.psci.conduit, PsciConduit::kNone);
}

TEST(PlatformPsciTest, Psci01CpuOnRequiredForPsciCpus) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  del_prop(dtb, "/psci", "cpu_on");
  expect_discovery_error(dtb, DtErrorCode::kMissingProperty, "/psci", "cpu_on");
  // find_psci alone still reports the conduit (e.g. for SYSTEM_OFF paths).
  const auto psci = find_psci(dtb.data());
  ASSERT_TRUE(psci.ok());
  EXPECT_EQ(psci.value().conduit, PsciConduit::kHvc);
  EXPECT_EQ(psci.value().cpu_on_function_id, 0u);
}

TEST(PlatformPsciTest, Psci01CpuOnBadLength) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  set_cells(dtb, "/psci", "cpu_on", {0x0, 0x95c10001});
  expect_error(find_psci(dtb.data()).error(), DtErrorCode::kBadProperty, "/psci", "cpu_on");
}

// --- GIC ------------------------------------------------------------------

TEST(PlatformGicTest, MissingGic) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/intc@8000000");
  const DtError e = discover_error(dtb.data());
  expect_error(e, DtErrorCode::kMissingNode, "interrupt-controller", nullptr);
  const std::string detail = e.detail;
  for (const char* compatible :
       {"arm,gic-v3", "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a7-gic", "arm,cortex-a9-gic"}) {
    EXPECT_NE(detail.find(compatible), std::string::npos) << compatible;
  }
}

TEST(PlatformGicTest, DisabledGicIsMissing) {
  Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
  set_string(dtb, "/intc@8000000", "status", "disabled");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "interrupt-controller", nullptr);
}

TEST(PlatformGicTest, BadRegLength) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/intc@8000000", "reg", {0x0, 0x08000000, 0x0});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/intc@8000000", "reg");
}

TEST(PlatformGicTest, GicV2WithoutCpuInterface) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/intc@8000000", "reg", {0x0, 0x08000000, 0x0, 0x10000});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/intc@8000000", "reg");
}

TEST(PlatformGicTest, RedistributorRegionCounts) {
  {
    Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
    set_cells(dtb, "/intc@8000000", "#redistributor-regions", {9});
    expect_discovery_error(dtb, DtErrorCode::kTooMany, "/intc@8000000", "#redistributor-regions");
  }
  {
    Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
    set_cells(dtb, "/intc@8000000", "#redistributor-regions", {0});
    expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/intc@8000000", "#redistributor-regions");
  }
  {
    Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
    set_cells(dtb, "/intc@8000000", "#redistributor-regions", {2});  // reg has only one GICR
    expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/intc@8000000", "reg");
  }
}

TEST(PlatformGicTest, TwoCellSpecifiersUnsupported) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/intc@8000000", "#interrupt-cells", {2});
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/intc@8000000", "#interrupt-cells");
}

TEST(PlatformGicTest, BadMaintenanceInterrupt) {
  for (auto cells : {std::initializer_list<uint32_t>{2, 9, 4},   // extended SPI: unsupported
                     std::initializer_list<uint32_t>{1, 16, 4},  // PPI 16 does not exist
                     std::initializer_list<uint32_t>{1, 9}}) {   // not a whole specifier
    Dtb dtb = Dtb::load(kVirtV2).editable();
    set_cells(dtb, "/intc@8000000", "interrupts", cells);
    expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/intc@8000000", "interrupts");
  }
}

// --- timer ----------------------------------------------------------------

TEST(PlatformTimerTest, MissingTimer) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/timer");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "timer", nullptr);
}

TEST(PlatformTimerTest, MissingInterrupts) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_prop(dtb, "/timer", "interrupts");
  expect_discovery_error(dtb, DtErrorCode::kMissingProperty, "/timer", "interrupts");
}

TEST(PlatformTimerTest, ThreeInterruptsAreNotEnough) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/timer", "interrupts", {1, 13, 4, 1, 14, 4, 1, 11, 4});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/timer", "interrupts");
}

TEST(PlatformTimerTest, OutOfRangeInterrupt) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/timer", "interrupts", {1, 13, 4, 1, 14, 4, 0, 1000, 4, 1, 10, 4});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/timer", "interrupts");
}

TEST(PlatformTimerTest, DanglingInterruptParent) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_cells(dtb, "/timer", "interrupt-parent", {0x1234});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/timer", "interrupt-parent");
}

TEST(PlatformTimerTest, NoInterruptParentAnywhere) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_prop(dtb, "/", "interrupt-parent");
  expect_discovery_error(dtb, DtErrorCode::kMissingProperty, "/timer", "interrupt-parent");
}

// Give synthetic.dts's two-cell controller a phandle and route the timer to it.
Dtb synthetic_timer_on_legacy_intc(uint32_t legacy_cells) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  const char* legacy = "/soc/interrupt-controller@e000000";
  EXPECT_EQ(fdt_setprop_u32(dtb.data(), dtb.node(legacy), "phandle", 0x77), 0);
  EXPECT_EQ(fdt_setprop_u32(dtb.data(), dtb.node(legacy), "#interrupt-cells", legacy_cells), 0);
  EXPECT_EQ(fdt_setprop_u32(dtb.data(), dtb.node("/soc/timer"), "interrupt-parent", 0x77), 0);
  return dtb;
}

TEST(PlatformTimerTest, InterruptParentWithTwoCellsIsUnsupported) {
  const Dtb dtb = synthetic_timer_on_legacy_intc(2);
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/soc/timer", "interrupts");
}

TEST(PlatformTimerTest, InterruptParentOtherThanTheGicIsUnsupported) {
  const Dtb dtb = synthetic_timer_on_legacy_intc(3);
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/soc/timer", "interrupt-parent");
}

// The parent is inherited: set on /soc, it applies to /soc/timer.
TEST(PlatformTimerTest, InterruptParentInheritedFromBus) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  const char* legacy = "/soc/interrupt-controller@e000000";
  ASSERT_EQ(fdt_setprop_u32(dtb.data(), dtb.node(legacy), "phandle", 0x77), 0);
  ASSERT_EQ(fdt_setprop_u32(dtb.data(), dtb.node("/soc"), "interrupt-parent", 0x77), 0);
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/soc/timer", "interrupts");
}

// --- console --------------------------------------------------------------

// The point of find_console_uart: a tree that fails discovery still has a
// console to complain on.
TEST(PlatformConsoleTest, ConsoleFoundEvenWhenDiscoveryFails) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/cpus");
  del_node(dtb, "/memory@40000000");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/memory", nullptr);
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_EQ(uart.value().regs.base, mm::PhysAddr(0x09000000));
  EXPECT_STREQ(uart.value().path, "/pl011@9000000");
}

TEST(PlatformConsoleTest, NoStdoutPathAndNoPl011) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_prop(dtb, "/chosen", "stdout-path");
  del_node(dtb, "/pl011@9000000");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMissingNode, "/chosen", "stdout-path");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/chosen", "stdout-path");
}

TEST(PlatformConsoleTest, NoChosenFallsBackToPl011) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/chosen");
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_STREQ(uart.value().path, "/pl011@9000000");
}

TEST(PlatformConsoleTest, StdoutPathToMissingNode) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_string(dtb, "/chosen", "stdout-path", "/serial@1234:115200n8");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMissingNode, "/serial@1234",
               "stdout-path");
}

TEST(PlatformConsoleTest, StdoutPathWithUnknownAlias) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_string(dtb, "/chosen", "stdout-path", "serial7:115200n8");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMissingNode, "serial7", "stdout-path");
  del_node(dtb, "/aliases");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMissingNode, "serial7", "stdout-path");
}

// libfdt would recurse forever on an alias whose value is itself an alias.
TEST(PlatformConsoleTest, SelfReferentialAliasIsRejected) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_string(dtb, "/aliases", "serial0", "serial0");
  set_string(dtb, "/chosen", "stdout-path", "serial0");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kBadProperty, "/aliases", nullptr);
}

TEST(PlatformConsoleTest, UnterminatedOrEmptyStdoutPath) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node("/chosen"), "stdout-path", "/pl011@9000000", 14), 0);
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kBadProperty, "/chosen", "stdout-path");
  set_string(dtb, "/chosen", "stdout-path", "");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kBadProperty, "/chosen", "stdout-path");
  set_string(dtb, "/chosen", "stdout-path", ":115200");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kBadProperty, "/chosen", "stdout-path");
}

TEST(PlatformConsoleTest, StdoutPathToNonPl011) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_string(dtb, "/chosen", "stdout-path", "/intc@8000000");
  const DtError e = find_console_uart(dtb.data()).error();
  expect_error(e, DtErrorCode::kUnsupported, "/intc@8000000", "compatible");
  EXPECT_NE(std::string(e.detail).find("arm,pl011"), std::string::npos);
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/intc@8000000", "compatible");
}

TEST(PlatformConsoleTest, Pl011WithoutReg) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_prop(dtb, "/pl011@9000000", "reg");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMissingProperty, "/pl011@9000000", "reg");
}

TEST(PlatformConsoleTest, BusWithoutRangesIsUntranslatable) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  set_string(dtb, "/chosen", "stdout-path", "/isolated-bus/serial@3000");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kUntranslatable, "/isolated-bus",
               "ranges");
}

TEST(PlatformConsoleTest, AddressOutsideTheBusWindowIsUntranslatable) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  set_string(dtb, "/soc/bridge@1000000/unmapped@200000", "compatible", "arm,pl011");
  set_string(dtb, "/chosen", "stdout-path", "bus/unmapped@200000");
  expect_error(find_console_uart(dtb.data()).error(), DtErrorCode::kUntranslatable, "/soc/bridge@1000000",
               "ranges");
}

TEST(PlatformConsoleTest, MalformedRanges) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  set_cells(dtb, "/soc", "ranges", {0x0, 0x0, 0x20000000, 0x10000000, 0x0});
  expect_discovery_error(dtb, DtErrorCode::kBadProperty, "/soc", "ranges");
}

}  // namespace
}  // namespace lamina::hyp
